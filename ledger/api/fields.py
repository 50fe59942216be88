"""Between the API's models and the books' rows and records, field by field.

The books keep amounts in fen under ``*_fen`` names; the API takes and shows them as decimal strings
(``Amount``, ``MoneyOut``) under the name without ``_fen``. ``from_row`` (an answer read off a row) and
``record_from`` (a service's record taken from a request body) follow that convention, so a route names
only the fields whose source is not the field of the same name. ``fields_of`` makes an answer model that is
a record as it is out of the record's own fields.
"""

from collections.abc import Callable, Collection, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

from pydantic import BaseModel, create_model

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


def fields_of(
    record: type[Record], *, leaving_out: Collection[str] = ()
) -> Callable[[type[Model]], type[Model]]:
    """A class decorator for an answer that is the dataclass ``record`` as it is: the model (named as the
    class) gets the record's fields in their order, each required, less those ``leaving_out``."""
    hints = get_type_hints(record)

    def build(model: type[Model]) -> type[Model]:
        shown: dict[str, Any] = {
            f.name: (hints[f.name], ...) for f in fields(record) if f.name not in leaving_out
        }
        return create_model(model.__name__, __base__=model, __module__=model.__module__, **shown)

    return build


def _read(row: Any, name: str) -> Any:
    if isinstance(row, Mapping):
        return row.get(name, _MISSING)
    return getattr(row, name, _MISSING)
