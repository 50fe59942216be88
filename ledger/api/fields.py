"""Between the API's models and the books' rows and records, field by field.

The books keep amounts in fen under ``*_fen`` names; the API takes and shows them as decimal strings
(``Amount``, ``MoneyOut``) under the name without ``_fen``. ``from_row`` (an answer read off a row) and
``record_from`` (a service's record taken from a request body) follow that convention, so a route names
only the fields whose source is not the field of the same name.
"""

from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Model = TypeVar("Model", bound=BaseModel)
Record = TypeVar("Record", bound="DataclassInstance")
_MISSING = object()


def from_row(model: type[Model], row: Any, **given: Any) -> Model:
    """``model`` with each field read off ``row`` (a mapping's key, else an attribute): by its name, or by
    its name + ``_fen`` for an amount; ``given`` fields as they are. A field the row lacks keeps the model's
    default (and is refused if it has none)."""
    values = dict(given)
    for name in model.model_fields:
        if name not in values:
            value = _read(row, name)
            if value is _MISSING:
                value = _read(row, f"{name}_fen")
            if value is not _MISSING:
                values[name] = value
    return model(**values)


def record_from(record: type[Record], body: BaseModel, **given: Any) -> Record:
    """The dataclass ``record`` with each field taken from the request ``body``'s field of that name, an
    amount's ``x_fen`` from the body's ``x``; ``given`` fields as they are. A field the body lacks keeps the
    record's default (and is refused if it has none)."""
    values = dict(given)
    for field in fields(record):
        name = field.name
        if field.init and name not in values:
            value = _read(body, name)
            if value is _MISSING and name.endswith("_fen"):
                value = _read(body, name.removesuffix("_fen"))
            if value is not _MISSING:
                values[name] = value
    return record(**values)


def _read(row: Any, name: str) -> Any:
    if isinstance(row, Mapping):
        return row.get(name, _MISSING)
    return getattr(row, name, _MISSING)
