"""An answer model made of its record's fields (``ledger.api.fields.fields_of``)."""

from dataclasses import dataclass

import pytest
from pydantic import BaseModel, ValidationError

from ledger.api.fields import fields_of


@dataclass(frozen=True)
class Counted:
    proposed: int
    withdrawn: int
    note: str | None
    ids: tuple[int, ...] = ()


@fields_of(Counted, leaving_out={"ids"})
class CountedOut(BaseModel):
    pass


def test_the_answer_has_the_records_fields_in_order_less_those_left_out() -> None:
    assert list(CountedOut.model_fields) == ["proposed", "withdrawn", "note"]
    assert CountedOut.__name__ == "CountedOut"
    assert CountedOut.model_json_schema()["title"] == "CountedOut"


def test_every_field_of_the_answer_is_required() -> None:
    assert CountedOut.model_json_schema()["required"] == ["proposed", "withdrawn", "note"]
    with pytest.raises(ValidationError):
        CountedOut(proposed=1, withdrawn=0)  # type: ignore[call-arg]
    assert CountedOut(proposed=1, withdrawn=0, note=None).model_dump() == {  # type: ignore[call-arg]
        "proposed": 1,
        "withdrawn": 0,
        "note": None,
    }
