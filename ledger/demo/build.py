"""Build the demo county, step by step; each workflow adds its step when it exists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select

from ledger.access.signing_key import key_for_close
from ledger.books.verify import verify_all
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import Org
from ledger.demo.communities import close_communities, close_months, close_villages, run_communities
from ledger.demo.figures import figure_rows, figures_table
from ledger.demo.officer_month import run_officer_month
from ledger.demo.supermarkets import Companies
from ledger.demo.tree import DEMO_PASSWORD, DemoTree, build_tree, demo_token


@dataclass
class DemoResult:
    tree: DemoTree
    seed: int
    year: int
    notes: list[str] = field(default_factory=list)


def is_empty(engine: Engine) -> bool:
    with read_tx(engine) as conn:
        return conn.execute(select(func.count()).select_from(Org.__table__)).scalar_one() == 0


def build_demo(
    engine: Engine,
    *,
    year: int = 2025,
    seed: int = 2025,
    scale: float = 1.0,
    statements_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    say = progress or (lambda _msg: None)
    # The demo closes its months as an officer would, each with its signed checkpoint: without the key
    # (``cunshe init`` writes it) say so now, not after the year is built.
    key_for_close(engine.url.render_as_string(hide_password=False))
    say("org tree and users")
    with write_tx(engine) as conn:
        tree = build_tree(conn, seed)
    result = DemoResult(tree, seed, year)
    # Two years: the stores' first, lighter year (so that the published year's 上年数 and 年初数 are real),
    # then the published year, whose figures the books reach. Each year is closed and distributed, and its
    # months closed, before the next begins.
    companies = Companies(engine, tree, seed, scale, say)
    first = year - 1
    companies.setup(first, published=year)
    for current in (first, year):
        published = current == year
        companies.trade_year(current, published=published)
        companies.close_year(current, published=published)
        result.notes += run_communities(
            engine, tree, current, seed, say, published=published, first=current == first
        ).notes
        say(f"communities' year-end close and distribution, {current}")
        close_communities(engine, tree, current)
        say(f"villages' year-end close and distribution, {current}")
        close_villages(engine, tree, current, first=current == first)
        say(f"closing the months of {current} (signed checkpoints)")
        close_months(engine, tree, current)
    result.notes += companies.notes
    if statements_dir is not None:
        say("the officer's open month and its statement files")
        month = run_officer_month(engine, tree, year + 1, seed, statements_dir)
        result.notes.append(
            f"{month.period} is open at org {month.company_id}: import {month.wechat_file} into statement "
            f"account {month.wechat_account_id}, {month.bank_file} into {month.bank_account_id}"
        )
    if scale >= 1:
        say("the published figures, from the reports")
        result.notes += figures_table(figure_rows(engine, tree, year))
    with read_tx(engine) as conn:
        problems = verify_all(conn)
    if problems:
        raise RuntimeError("the demo books do not verify: " + "; ".join(map(str, problems[:5])))
    return result


def logins_text(seed: int, host: str = "http://127.0.0.1:8000") -> str:
    """What ``make run`` prints: where to look and how to log in."""
    from ledger.demo.tree import load_spec

    spec = load_spec()
    stores = [s for street in spec["street"] for s in street["stores"]]
    lines = [
        f"API docs:        {host}/docs",
        f"Officer's pages: {host}/",
        f"Cashier's till:  {host}/till/",
        f"Demo logins (password for all: {DEMO_PASSWORD}):",
        "  admin                 admin, sees everything",
        "  officer-heping        officer of 和平街道 (also officer-tuanjie, officer-shazi, officer-youxi)",
        "  community-dingzikou   丁字口社区, read-only",
        f"  cashier-store1 … cashier-store{len(stores)}   one store's till each",
        f"Cashier token (store1): {demo_token(seed, 'cashier-store1')}",
        f"Officer token (heping): {demo_token(seed, 'officer-heping')}",
        f"Community token:        {demo_token(seed, 'community-dingzikou')}",
    ]
    return "\n".join(lines)
