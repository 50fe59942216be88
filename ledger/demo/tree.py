"""The demo county's organisations, stores and users, from ``ledger/data/demo_county.toml``."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files

from sqlalchemy import Connection, insert, select

from ledger.access.auth import Principal, create_user, hash_token, principal_for_user
from ledger.books.orgs import create_org, create_store, now
from ledger.db.models import ApiToken, UserAccount

CN_NUMBERS = "零一二三四五六七八九十"
DEMO_PASSWORD = "cunshe-demo"


@dataclass
class DemoTree:
    county: int = 0
    streets: dict[str, int] = field(default_factory=dict)  # street code → org id
    communities: dict[str, list[int]] = field(default_factory=dict)  # street code → community org ids
    villages: dict[str, list[int]] = field(default_factory=dict)
    companies: dict[str, int] = field(default_factory=dict)  # street code → company org id
    stores: dict[str, list[int]] = field(default_factory=dict)  # street code → store ids
    store_codes: dict[int, str] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, username, what it sees)
    tokens: dict[str, str] = field(default_factory=dict)  # username → bearer token

    @property
    def all_communities(self) -> list[int]:
        return [c for ids in self.communities.values() for c in ids]


def load_spec() -> dict:
    return tomllib.loads((files("ledger") / "data" / "demo_county.toml").read_text(encoding="utf-8"))


def demo_token(seed: int, username: str) -> str:
    """A fixed token per demo user and seed, so the README's curl lines work as written."""
    return "cs_demo_" + hashlib.sha256(f"cunshe-demo:{seed}:{username}".encode()).hexdigest()[:32]


def demo_user(conn: Connection, username: str) -> Principal:
    """A demo user, as the door would resolve its login."""
    user_id = conn.execute(
        select(UserAccount.__table__.c.id).where(UserAccount.__table__.c.username == username)
    ).scalar_one()
    return principal_for_user(conn, user_id)


def officer_of(conn: Connection, street: str) -> Principal:
    """The street's officer (``officer-<street>``): who keeps the books of its communities, villages and
    company, and closes their months."""
    return demo_user(conn, f"officer-{street}")


def _user(
    conn: Connection,
    tree: DemoTree,
    seed: int,
    username: str,
    role: str,
    sees: str,
    *,
    scope_org_id: int | None = None,
    scope_store_id: int | None = None,
) -> None:
    user_id = create_user(
        conn,
        username=username,
        role=role,
        password=DEMO_PASSWORD,
        scope_org_id=scope_org_id,
        scope_store_id=scope_store_id,
    )
    token = demo_token(seed, username)
    conn.execute(
        insert(ApiToken.__table__).values(
            user_id=user_id, token_hash=hash_token(token), label="demo", created_at=now()
        )
    )
    tree.tokens[username] = token
    tree.logins.append((role, username, sees))


def build_tree(conn: Connection, seed: int) -> DemoTree:
    spec = load_spec()
    tree = DemoTree()
    tree.county = create_org(conn, code=spec["county"]["code"], name=spec["county"]["name"], kind="county")
    store_no = 0
    for street in spec["street"]:
        code = street["code"]
        sid = create_org(conn, code=code, name=street["name"], kind="street", parent_id=tree.county)
        tree.streets[code] = sid
        named = [(c["code"], c["name"]) for c in street["communities"]]
        first_generic = len(named) + 1
        generic = [
            (f"{code}-c{n}", f"{street['name']}第{n}社区")
            for n in range(first_generic, first_generic + street["generic_communities"])
        ]
        tree.communities[code] = [
            create_org(conn, code=c, name=n, kind="community", parent_id=sid) for c, n in named + generic
        ]
        tree.villages[code] = [
            create_org(conn, code=f"{code}-v{i + 1}", name=name, kind="village", parent_id=sid)
            for i, name in enumerate(street["villages"])
        ]
        tree.companies[code] = create_org(
            conn,
            code=f"{code}-co",
            name=f"{street['name']}村社合股联营集体经济公司",
            kind="company",
            parent_id=sid,
            registered_capital_fen=200_000_000,
        )
        tree.stores[code] = []
        for name in street["stores"]:
            store_no += 1
            store_code = f"store{store_no}"
            store_id = create_store(conn, company_id=tree.companies[code], code=store_code, name=name)
            tree.stores[code].append(store_id)
            tree.store_codes[store_id] = store_code
    _user(conn, tree, seed, "admin", "admin", "everything")
    for code, sid in tree.streets.items():
        _user(
            conn,
            tree,
            seed,
            f"officer-{code}",
            "officer",
            f"{code} street and every org below it",
            scope_org_id=sid,
        )
    _user(
        conn,
        tree,
        seed,
        "community-dingzikou",
        "community",
        "丁字口社区, read-only",
        scope_org_id=tree.communities["heping"][0],
    )
    for store_id, store_code in tree.store_codes.items():
        _user(
            conn,
            tree,
            seed,
            f"cashier-{store_code}",
            "cashier",
            f"{store_code}'s till",
            scope_store_id=store_id,
        )
    return tree
