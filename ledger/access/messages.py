"""The shape of what every door takes in and gives back: money as decimal strings (never floats), quantities,
ids, periods and dates in the books' years. The API, the pages' JSON and the workflows' own messages share
these types, so a rule about input is written once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Self, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    Strict,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core import ValidationError as ModelInvalid

from ledger.books.errors import InvalidAmount, InvalidQuantity, ValidationError
from ledger.books.money import format_amount, format_quantity, parse_amount, parse_quantity
from ledger.books.periods import check_day

AMOUNT_PATTERN = r"^-?[0-9]{1,15}(\.[0-9]{1,2})?$"


def _amount(allow_negative: bool) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        try:
            return parse_amount(value, allow_negative=allow_negative)
        except InvalidAmount as exc:
            raise PydanticCustomError("invalid_amount", exc.message) from None

    return parse


def _quantity(value: Any) -> int:
    try:
        return parse_quantity(value)
    except InvalidQuantity as exc:
        raise PydanticCustomError("invalid_quantity", exc.message) from None


#: A non-negative amount in fen, written in JSON as a decimal string ("12.30").
Amount = Annotated[
    int,
    BeforeValidator(_amount(False)),
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,15}(\.[0-9]{1,2})?$", "examples": ["12.30"]}),
]
#: A signed amount in fen ("-12.30" allowed).
SignedAmount = Annotated[
    int,
    BeforeValidator(_amount(True)),
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["-12.30"]}),
]
#: A quantity in thousandths, written as a decimal string with up to three places ("1.235").
Quantity = Annotated[
    int,
    BeforeValidator(_quantity),
    PlainSerializer(format_quantity, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,9}(\.[0-9]{1,3})?$", "examples": ["1.235"]}),
]
#: An amount in fen in a RESPONSE (built from ints we hold), serialised as a decimal string ("-12.30").
#: Request models use ``Amount`` / ``SignedAmount``, which refuse anything but strings.
MoneyOut = Annotated[
    int,
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["-12.30"]}),
]
#: A quantity in thousandths in a RESPONSE, serialised as "1.235".
QuantityOut = Annotated[
    int,
    PlainSerializer(format_quantity, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]{1,9}(\.[0-9]{1,3})?$", "examples": ["1.235"]}),
]
#: An id in a request body: a JSON integer, never a string ("1") or a float (1.0) coerced into one.
Id = Annotated[int, Strict()]
Period = Annotated[str, WithJsonSchema({"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"})]


def _storable_day(value: date) -> date:
    try:
        check_day(value.date() if isinstance(value, datetime) else value, "date")
    except ValidationError as exc:
        raise PydanticCustomError("date_out_of_range", exc.message) from None
    return value


#: A date a request may name (a query's ``as_of``, ``from``, ``to``): in the books' years.
Day = Annotated[
    date,
    AfterValidator(_storable_day),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2025-03-31"]}),
]


class RequestModel(BaseModel):
    """The base of every request body: unknown fields are refused, and every date (and date-time), at
    any depth, lies in the books' years (``periods.FIRST_YEAR`` .. ``LAST_YEAR``), checked here once so a
    date of 0134 or 9999 is a 422 naming its field rather than a record no monthly job can handle."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _dates_in_range(self) -> Self:
        # Only the fields whose type can hold a date are looked at: a validator on every field ("*") was
        # a call into Python for each field of each model, ~17 for a sale (bench/README.md, the POS).
        for name, loc in _date_fields(type(self)):
            value = getattr(self, name)
            try:
                _check_dates(value)
            except PydanticCustomError as exc:
                details = InitErrorDetails(type=exc, loc=(loc,), input=value)
                raise ModelInvalid.from_exception_data(type(self).__name__, [details]) from None
        return self


@cache
def _date_fields(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(attribute, name in the request) of each field of ``model`` whose type can hold a date."""
    fields = model.model_fields.items()
    return tuple((name, field.alias or name) for name, field in fields if _holds_dates(field.annotation))


def _holds_dates(annotation: Any) -> bool:
    """Whether a field of this type can hold a date or date-time: itself, or any of its arguments (an
    optional date, a list of them, an annotated one)."""
    if isinstance(annotation, type) and issubclass(annotation, date):
        return True
    return any(_holds_dates(arg) for arg in get_args(annotation))


def _check_dates(value: Any) -> None:
    if isinstance(value, date):
        _storable_day(value)
    elif isinstance(value, list | tuple | set):
        for item in value:
            _check_dates(item)


def field_path(loc: tuple) -> str | None:
    """``('body', 'lines', 2, 'credit')`` → ``lines[2].credit``."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p in ("function-after", "function-before", "function-plain") or str(p).startswith("function-"):
            continue
        else:
            out += ("." if out else "") + str(p)
    return out or None
