"""Answers read off the books' rows: a response model's fields taken from a row by name.

The books keep amounts in fen under ``*_fen`` names; the API shows them as decimal strings (``MoneyOut``)
under the name without ``_fen``. ``from_row`` follows that convention, so a route names only the fields
whose source is not the row's field of the same name.
"""

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)
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


def _read(row: Any, name: str) -> Any:
    if isinstance(row, Mapping):
        return row.get(name, _MISSING)
    return getattr(row, name, _MISSING)
