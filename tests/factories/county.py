"""The test county (``build_county``): two streets, their communities, a village, two joint companies with
three stores, and a user of each role with a bearer token; and the demo county's handle (``DemoCounty``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from ledger.access.auth import create_user, issue_token
from ledger.books.orgs import create_org, create_store
from ledger.db.engine import write_tx


@dataclass
class County:
    """A small county: two streets, communities, a village, a company with two stores, and users."""

    engine: Engine
    ids: dict[str, int] = field(default_factory=dict)
    stores: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def build_county(engine: Engine, *, users: bool = True) -> County:
    c = County(engine)
    with write_tx(engine) as conn:
        c.ids["county"] = create_org(conn, code="yanhe", name="沿河县", kind="county")
        c.ids["heping"] = create_org(
            conn, code="heping", name="和平街道", kind="street", parent_id=c.ids["county"]
        )
        c.ids["tuanjie"] = create_org(
            conn, code="tuanjie", name="团结街道", kind="street", parent_id=c.ids["county"]
        )
        c.ids["dingzikou"] = create_org(
            conn, code="dingzikou", name="丁字口社区", kind="community", parent_id=c.ids["heping"]
        )
        c.ids["huahuaqiao"] = create_org(
            conn, code="huahuaqiao", name="花花桥社区", kind="community", parent_id=c.ids["heping"]
        )
        c.ids["hongxingqiao"] = create_org(
            conn, code="hongxingqiao", name="红星桥社区", kind="community", parent_id=c.ids["tuanjie"]
        )
        c.ids["village1"] = create_org(
            conn, code="village1", name="示范村一", kind="village", parent_id=c.ids["heping"]
        )
        c.ids["company"] = create_org(
            conn,
            code="heping-co",
            name="和平街道村社合股联营集体经济公司",
            kind="company",
            parent_id=c.ids["heping"],
            registered_capital_fen=100_000_000,
        )
        c.ids["company2"] = create_org(
            conn,
            code="tuanjie-co",
            name="团结街道村社合股联营集体经济公司",
            kind="company",
            parent_id=c.ids["tuanjie"],
        )
        c.stores["store1"] = create_store(
            conn, company_id=c.ids["company"], code="store1", name="村社联动超市一号店"
        )
        c.stores["store2"] = create_store(
            conn, company_id=c.ids["company"], code="store2", name="村社联动超市二号店"
        )
        c.stores["store3"] = create_store(
            conn, company_id=c.ids["company2"], code="store3", name="村社联动超市三号店"
        )
        user_specs = {
            "admin": dict(role="admin"),
            "officer": dict(role="officer", scope_org_id=c.ids["heping"]),
            "officer_tuanjie": dict(role="officer", scope_org_id=c.ids["tuanjie"]),
            "community": dict(role="community", scope_org_id=c.ids["dingzikou"]),
            "cashier": dict(role="cashier", scope_store_id=c.stores["store1"]),
            "cashier2": dict(role="cashier", scope_store_id=c.stores["store2"]),
        }
        for name, kw in user_specs.items() if users else ():
            c.user_ids[name] = create_user(conn, username=name, password="correct horse battery", **kw)
            c.tokens[name] = issue_token(conn, c.user_ids[name], "test")
    return c


@dataclass
class DemoCounty:
    """The demo county, built once per test session at full scale on SQLite (``cunshe demo`` as ``make run``
    runs it), with the officer's statement files in ``home/demo-statements``."""

    engine: Engine
    url: str
    home: Path
    notes: list[str]
