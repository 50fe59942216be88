"""``cunshe community …`` worked examples: each command posts what its API route posts, to the fen.

Runs on a real SQLite file and a real PostgreSQL database (the ``county`` fixture), invoking the CLI with
``--db``. Each example asserts the books (balances and dimensions), that a retry with the same ``--key``
posts nothing more, and that bad input exits 2 naming the field and writes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from ledger.cli.main import app
from ledger.community import welfare
from ledger.community.models import CommunityAsset, WelfarePost
from ledger.db.engine import read_tx
from ledger.db.models import Account, AuditLog, Counterparty, JournalEntry, JournalLine
from tests.factories.county import County

runner = CliRunner()
entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
account_t = Account.__table__
cp_t = Counterparty.__table__
asset_t = CommunityAsset.__table__
post_t = WelfarePost.__table__


def cli(county: County, *args: str) -> Result:
    db = county.engine.url.render_as_string(hide_password=False)
    return runner.invoke(app, ["community", *args, "--db", db])


def ok(county: County, *args: str) -> str:
    result = cli(county, *args)
    assert result.exit_code == 0, result.output
    return result.output


def refused(county: County, field: str, *args: str) -> str:
    """The command exits 2 naming ``field`` and writes no journal entry."""
    before = entries(county)
    result = cli(county, *args)
    assert result.exit_code == 2, result.output
    assert f" {field}: " in result.output, result.output
    assert entries(county) == before
    return result.output


def entries(county: County) -> int:
    with read_tx(county.engine) as conn:
        return conn.execute(select(func.count()).select_from(entry_t)).scalar_one()


def balances(county: County, org_id: int) -> dict[str, int]:
    """Debit minus credit per account code, of every account the org has posted to."""
    with read_tx(county.engine) as conn:
        rows = conn.execute(
            select(account_t.c.code, func.sum(line_t.c.debit_fen - line_t.c.credit_fen))
            .join(account_t, account_t.c.id == line_t.c.account_id)
            .where(line_t.c.org_id == org_id)
            .group_by(account_t.c.code)
        ).all()
    return {code: int(total) for code, total in rows}


def lines(county: County, org_id: int) -> list[tuple[Any, ...]]:
    """(account, debit, credit, counterparty name, welfare_post, memo) of every line, in posting order."""
    with read_tx(county.engine) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(
                    account_t.c.code,
                    line_t.c.debit_fen,
                    line_t.c.credit_fen,
                    cp_t.c.name,
                    line_t.c.welfare_post_id,
                    line_t.c.memo,
                )
                .join(account_t, account_t.c.id == line_t.c.account_id)
                .outerjoin(cp_t, cp_t.c.id == line_t.c.counterparty_id)
                .where(line_t.c.org_id == org_id)
                .order_by(line_t.c.entry_id, line_t.c.line_no)
            )
        ]


def first_field(output: str, line_no: int = 0) -> int:
    return int(output.splitlines()[line_no].split("\t")[0].split(" ")[-1])


# -- assets -------------------------------------------------------------------------------------------------


def test_asset_register_add_list_and_status(county: County) -> None:
    out = ok(
        county,
        "asset",
        "add",
        "--org",
        "dingzikou",
        "--kind",
        "门面",
        "--name",
        "临街门面1号",
        "--location",
        "和平街道滨江路12号",
        "--area",
        "120.5",
        "--ownership",
        "state_entrusted",
        "--entrusting-body",
        "沿河县机关事务服务中心",
        "--book-value",
        "350000.00",
        "--certificate-no",
        "黔(2024)沿河县不动产权第0001号",
    )
    asset_id = first_field(out)
    assert out.strip().split("\t")[1:] == [
        "dingzikou",
        "门面",
        "临街门面1号",
        "和平街道滨江路12号",
        "120.5",
        "state_entrusted",
        "350000.00",
        "idle",
        "黔(2024)沿河县不动产权第0001号",
    ]
    with read_tx(county.engine) as conn:
        row = conn.execute(select(asset_t).where(asset_t.c.id == asset_id)).one()
    assert (row.area_milli_m2, row.book_value_fen, row.org_id) == (
        120_500,
        35_000_000,
        county.ids["dingzikou"],
    )
    ok(
        county,
        "asset",
        "add",
        "--org",
        "village1",
        "--kind",
        "土地",
        "--name",
        "河滩地",
        "--status",
        "own_use",
    )

    street = ok(county, "asset", "list", "--street", "heping").splitlines()
    assert [ln.split("\t")[1:3] for ln in street[1:]] == [["dingzikou", "门面"], ["village1", "土地"]]
    idle = ok(county, "asset", "list", "--street", "heping", "--status", "idle").splitlines()[1:]
    assert [ln.split("\t")[0] for ln in idle] == [str(asset_id)]

    leased = ok(
        county, "asset", "status", "--org", "dingzikou", "--asset", str(asset_id), "--status", "leased"
    )
    assert leased.strip().split("\t")[8] == "leased"
    assert ok(county, "asset", "list", "--org", "dingzikou", "--status", "idle").splitlines()[1:] == []
    assert entries(county) == 0  # the register posts nothing


@pytest.mark.parametrize(
    ("field", "extra"),
    [
        ("area", ["--area", "120.5005"]),
        ("area", ["--area", "0"]),
        ("book_value", ["--book-value", "1.001"]),
        ("status", ["--status", "sold"]),
        ("ownership", ["--ownership", "private"]),
        ("entrusting_body", ["--ownership", "state_entrusted"]),
        ("kind", ["--kind", "房" * 33]),
    ],
)
def test_bad_asset_input_exits_2_naming_the_field_and_adds_nothing(
    county: County, field: str, extra: list[str]
) -> None:
    args = ["asset", "add", "--org", "dingzikou", "--kind", "房屋", "--name", "旧村委楼", *extra]
    refused(county, field, *args)
    with read_tx(county.engine) as conn:
        assert conn.execute(select(func.count()).select_from(asset_t)).scalar_one() == 0


def test_asset_commands_refuse_an_org_without_collective_books(county: County) -> None:
    refused(county, "org", "asset", "add", "--org", "heping-co", "--kind", "房屋", "--name", "仓库")
    refused(county, "org", "asset", "add", "--org", "nowhere", "--kind", "房屋", "--name", "仓库")
    refused(county, "asset_id", "asset", "status", "--org", "dingzikou", "--asset", "99", "--status", "idle")


# -- welfare posts and facilities ---------------------------------------------------------------------------


def test_welfare_post_stipends_payment_and_facility_spending(county: County) -> None:
    org = county.ids["dingzikou"]
    out = ok(
        county,
        "post",
        "add",
        "--org",
        "dingzikou",
        "--post",
        "保洁员",
        "--holder",
        "王五",
        "--stipend",
        "1800.00",
        "--start",
        "2025-01-16",
    )
    post = first_field(out)
    assert out.strip().split("\t")[1:] == ["保洁员", "王五", "1800.00", "2025-01-16", "", "0.00"]
    jan = round(180_000 * 16 / 31)  # 16 of January's 31 days: 929.03
    assert ok(
        county, "post", "stipend", "--org", "dingzikou", "--post-id", str(post), "--period", "2025-01"
    ) == ("posted 1 stipend-months for 2025-01: 929.03\n")
    again = ok(county, "post", "stipend", "--org", "dingzikou", "--post-id", str(post), "--period", "2025-01")
    assert again.startswith("posted 0 stipend-months")
    ok(county, "stipends", "--through", "2025-02", "--org", "dingzikou")
    with read_tx(county.engine) as conn:
        logged = conn.execute(
            select(AuditLog.org_id, AuditLog.detail).where(AuditLog.action == "welfare.stipends")
        ).all()
    assert [tuple(r) for r in logged] == [(org, "through 2025-02: 1 (cli)")]  # the API's audit, as the CLI
    listed = ok(county, "post", "list", "--org", "dingzikou").splitlines()
    assert listed[1].split("\t")[-1] == "2729.03"

    pay = ["post", "pay", "--org", "dingzikou", "--post-id", str(post), "--amount", "1000.00"]
    pay += ["--date", "2025-03-05", "--key", "pay-2025-03"]
    first = ok(county, *pay)
    assert "owed now 1729.03" in first and "already posted" not in first
    n = entries(county)
    retry = ok(county, *pay)
    assert "already posted" in retry and first_field(retry) == first_field(first)
    assert entries(county) == n

    spend = ["facility", "--org", "dingzikou", "--amount", "350.00", "--date", "2025-03-06"]
    spend += ["--memo", "修缮社区健身器材", "--key", "fac-1"]
    ok(county, *spend)
    assert "already posted" in ok(county, *spend)
    assert entries(county) == n + 1

    assert balances(county, org) == {
        "51401": jan + 180_000,
        "212": -(jan + 180_000 - 100_000),
        "102": -(100_000 + 35_000),
        "51402": 35_000,
    }
    assert [(a, d, c, wp) for a, d, c, _, wp, _ in lines(county, org)] == [
        ("51401", jan, 0, post),
        ("212", 0, jan, post),
        ("51401", 180_000, 0, post),
        ("212", 0, 180_000, post),
        ("212", 100_000, 0, post),
        ("102", 0, 100_000, None),
        ("51402", 35_000, 0, None),
        ("102", 0, 35_000, None),
    ]

    ended = ok(
        county, "post", "end", "--org", "dingzikou", "--post-id", str(post), "--last-day", "2025-02-28"
    )
    assert ended.strip().split("\t")[5] == "2025-02-28"
    refused(
        county,
        "period",
        "post",
        "stipend",
        "--org",
        "dingzikou",
        "--post-id",
        str(post),
        "--period",
        "2025-03",
    )
    rest = ok(county, "post", "pay", "--org", "dingzikou", "--post-id", str(post), "--date", "2025-03-31")
    assert "owed now 0.00" in rest
    # an ended post with nothing owed takes no payment
    refused(
        county, "amount", "post", "pay", "--org", "dingzikou", "--post-id", str(post), "--date", "2025-04-01"
    )
    assert balances(county, org)["212"] == 0 and balances(county, org)["102"] == -(jan + 180_000 + 35_000)


def test_bad_welfare_input_exits_2_naming_the_field_and_writes_nothing(county: County) -> None:
    add = ["post", "add", "--org", "dingzikou", "--post", "护路员", "--holder", "孙七"]
    refused(county, "monthly_stipend", *add, "--stipend", "1500.001", "--start", "2025-01-01")
    refused(county, "start", *add, "--stipend", "1500.00", "--start", "2025-02-30")
    refused(county, "end", *add, "--stipend", "1500.00", "--start", "2025-03-01", "--end", "2025-02-28")
    with read_tx(county.engine) as conn:
        assert conn.execute(select(func.count()).select_from(post_t)).scalar_one() == 0
    post = first_field(ok(county, *add, "--stipend", "1500.00", "--start", "2025-03-01"))
    refused(
        county, "end", "post", "end", "--org", "dingzikou", "--post-id", str(post), "--last-day", "2025-02-01"
    )
    with read_tx(county.engine) as conn:
        assert welfare.get_post(conn, county.ids["dingzikou"], post).end_date is None
    refused(
        county,
        "period",
        "post",
        "stipend",
        "--org",
        "dingzikou",
        "--post-id",
        str(post),
        "--period",
        "2025-13",
    )
    refused(
        county,
        "period",
        "post",
        "stipend",
        "--org",
        "dingzikou",
        "--post-id",
        str(post),
        "--period",
        "2025-02",
    )
    refused(
        county, "amount", "post", "pay", "--org", "dingzikou", "--post-id", str(post), "--date", "2025-03-05"
    )  # nothing owed yet
    ok(county, "stipends", "--through", "2025-03", "--org", "dingzikou")
    pay = ["post", "pay", "--org", "dingzikou", "--post-id", str(post), "--date", "2025-04-01"]
    refused(county, "amount", *pay, "--amount", "1500.01")
    refused(county, "amount", *pay, "--amount", "0.001")
    refused(county, "cash_account", *pay, "--cash-account", "112")
    refused(county, "key", *pay, "--key", "k" * 129)
    refused(
        county, "post_id", "post", "pay", "--org", "dingzikou", "--post-id", "999", "--date", "2025-04-01"
    )
    fac = ["facility", "--org", "dingzikou", "--date", "2025-03-06"]
    refused(county, "amount", *fac, "--amount", "12.345", "--memo", "路灯")
    refused(county, "amount", *fac, "--amount", "0.00", "--memo", "路灯")
    refused(county, "memo", *fac, "--amount", "12.00", "--memo", " ")
    refused(county, "date", *fac, "--amount", "12.00", "--memo", "路灯", "--date", "6 March")
    assert balances(county, county.ids["dingzikou"]) == {"51401": 150_000, "212": -150_000}


# -- brokerage ----------------------------------------------------------------------------------------------


def test_brokerage_fee_on_credit_then_collected_and_a_fixed_fee_paid_at_once(county: County) -> None:
    org = county.ids["dingzikou"]
    deal = ["deal", "add", "--org", "dingzikou", "--client", "某房产中介", "--other-party", "李四"]
    deal += ["--kind", "house_lease", "--value", "36000.00", "--rate-bp", "250", "--date", "2025-04-02"]
    deal += ["--key", "deal-1"]
    out = ok(county, *deal)
    deal_id = first_field(out)
    # 2.5 % of 36000.00 = 900.00, tax-inclusive at 1 %: net 891.09, VAT 8.91
    assert out.strip().split("\t")[1:] == ["commission 900.00", "net 891.09", "tax 8.91", "on credit"]
    n = entries(county)
    retry = ok(county, *deal)
    assert "already posted" in retry and first_field(retry) == deal_id and entries(county) == n

    outstanding = ok(county, "deal", "outstanding", "--street", "heping").splitlines()
    assert outstanding[1:] == [
        f"{deal_id}\tdingzikou\t某房产中介\thouse_lease\t2025-04-02\t900.00\t0.00\t900.00"
    ]

    receipt = ["deal", "receipt", "--org", "dingzikou", "--deal", str(deal_id), "--amount", "400.00"]
    receipt += ["--date", "2025-05-01", "--key", "fee-1"]
    ok(county, *receipt)
    assert "already posted" in ok(county, *receipt)
    assert entries(county) == n + 1
    assert ok(county, "deal", "outstanding", "--org", "dingzikou").splitlines()[1].endswith("400.00\t500.00")
    assert balances(county, org) == {"112": 90_000 - 40_000, "50103": -89_109, "214": -891, "102": 40_000}
    assert [ln[:4] for ln in lines(county, org)] == [
        ("112", 90_000, 0, "某房产中介"),
        ("50103", 0, 89_109, "某房产中介"),
        ("214", 0, 891, None),
        ("102", 40_000, 0, None),
        ("112", 0, 40_000, "某房产中介"),
    ]
    refused(county, "amount", *receipt[:-2], "--amount", "500.01", "--key", "fee-2")

    other = county.ids["huahuaqiao"]
    cash = ["deal", "add", "--org", "huahuaqiao", "--client", "务工人员", "--kind", "labour"]
    cash += ["--fixed", "200.00", "--paid-to", "102", "--date", "2025-04-02"]
    assert "paid into 102" in ok(county, *cash)
    assert balances(county, other) == {"102": 20_000, "50103": -19_802, "214": -198}
    assert ok(county, "deal", "outstanding", "--org", "huahuaqiao").splitlines()[1:] == []


def test_retrying_a_fee_receipt_that_paid_in_full_answers_with_the_original_entry(county: County) -> None:
    deal = ["deal", "add", "--org", "dingzikou", "--client", "某房产中介", "--kind", "other"]
    deal_id = first_field(ok(county, *deal, "--fixed", "300.00", "--date", "2025-04-02"))
    receipt = ["deal", "receipt", "--org", "dingzikou", "--deal", str(deal_id), "--amount", "300.00"]
    receipt += ["--date", "2025-05-01", "--key", "fee-full"]
    first = ok(county, *receipt)
    n = entries(county)
    retry = cli(county, *receipt)
    assert entries(county) == n
    assert retry.exit_code == 0 and first_field(retry.output) == first_field(first), retry.output


@pytest.mark.parametrize(
    ("field", "extra"),
    [
        ("kind", ["--kind", "rent", "--fixed", "100.00"]),
        ("commission", ["--kind", "labour", "--fixed", "100.005"]),
        ("deal_value", ["--kind", "produce", "--value", "1.234", "--rate-bp", "100"]),
        ("commission_rate_bp", ["--kind", "labour", "--fixed", "100.00", "--rate-bp", "100"]),
        ("commission_rate_bp", ["--kind", "labour"]),
        ("commission_rate_bp", ["--kind", "labour", "--value", "100.00", "--rate-bp", "10001"]),
        ("vat_rate_bp", ["--kind", "labour", "--fixed", "100.00", "--vat-rate-bp", "-1"]),
        ("cash_account", ["--kind", "labour", "--fixed", "100.00", "--paid-to", "112"]),
        ("earned_on", ["--kind", "labour", "--fixed", "100.00", "--date", "2025-04-31"]),
        ("client", ["--kind", "labour", "--fixed", "100.00", "--client", " "]),
    ],
)
def test_bad_deal_input_exits_2_naming_the_field_and_posts_nothing(
    county: County, field: str, extra: list[str]
) -> None:
    args = ["deal", "add", "--org", "dingzikou", "--client", "某农户", "--date", "2025-04-02", *extra]
    refused(county, field, *args)
    assert balances(county, county.ids["dingzikou"]) == {}


# -- subsidies ----------------------------------------------------------------------------------------------


def test_work_fund_subsidy_credits_subsidy_income_once_per_key(county: County) -> None:
    org = county.ids["hongxingqiao"]
    add = ["subsidy", "add", "--org", "hongxingqiao", "--source", "工作经费", "--grantor", "沿河县财政局"]
    add += ["--amount", "100000.00", "--date", "2025-02-01", "--key", "work-fund-2025"]
    first = ok(county, *add)
    assert first.strip() == f"subsidy {first_field(first)}\t工作经费\t100000.00"
    retry = ok(county, *add)
    assert "already posted" in retry and first_field(retry) == first_field(first)
    ok(
        county,
        "subsidy",
        "add",
        "--org",
        "hongxingqiao",
        "--source",
        "党建经费",
        "--amount",
        "2000.50",
        "--date",
        "2025-03-01",
    )
    ok(county, "subsidy", "add", "--org", "hongxingqiao", "--amount", "1.00", "--date", "2024-12-31")
    assert entries(county) == 3
    assert balances(county, org) == {"102": 10_200_050 + 100, "503": -(10_200_050 + 100)}
    assert [(a, c, memo) for a, _, c, _, _, memo in lines(county, org) if a == "503"] == [
        ("503", 10_000_000, "工作经费"),
        ("503", 200_050, "党建经费"),
        ("503", 100, "工作经费"),
    ]
    totals = ok(county, "subsidy", "totals", "--street", "tuanjie", "--year", "2025").splitlines()
    assert totals[1:] == ["hongxingqiao\t党建经费\t2000.50", "hongxingqiao\t工作经费\t100000.00"]
    assert ok(county, "subsidy", "totals", "--street", "heping", "--year", "2025").splitlines()[1:] == []


def test_bad_subsidy_input_exits_2_naming_the_field_and_posts_nothing(county: County) -> None:
    add = ["subsidy", "add", "--org", "hongxingqiao", "--date", "2025-02-01"]
    refused(county, "amount", *add, "--amount", "100000.001")
    refused(county, "amount", *add, "--amount", "-5.00")
    refused(county, "amount", *add, "--amount", "0.00")
    refused(county, "source", *add, "--amount", "5.00", "--source", " ")
    refused(county, "cash_account", *add, "--amount", "5.00", "--cash-account", "503")
    refused(county, "org", *add, "--amount", "5.00", "--org", "tuanjie")
    refused(county, "year", "subsidy", "totals", "--org", "hongxingqiao", "--year", "1989")
    refused(
        county, "org", "subsidy", "totals", "--org", "hongxingqiao", "--street", "tuanjie", "--year", "2025"
    )


# -- stakes -------------------------------------------------------------------------------------------------


def test_stake_in_the_joint_company_debits_long_term_investment(county: County) -> None:
    org = county.ids["dingzikou"]
    stake = ["stake", "add", "--org", "dingzikou", "--company", "heping-co", "--paid-in", "200000.00"]
    stake += ["--share-bp", "2000", "--date", "2025-01-10"]
    out = ok(county, *stake)
    assert out.strip().split("\t")[1:] == ["heping-co", "200000.00", "2000 bp"]
    assert lines(county, org) == [
        ("141", 20_000_000, 0, "和平街道村社合股联营集体经济公司", None, ""),
        ("102", 0, 20_000_000, None, None, ""),
    ]
    with read_tx(county.engine) as conn:
        ref = conn.execute(select(cp_t.c.ref_org_id).where(cp_t.c.org_id == org)).scalar_one()
    assert ref == county.ids["company"]
    listed = ok(county, "stake", "list", "--org", "dingzikou").splitlines()
    assert listed[1].split("\t")[1:] == [
        "和平街道村社合股联营集体经济公司",
        "200000.00",
        "2000",
        "2025-01-10",
    ]
    # a second stake in the same company is refused: running the command twice books it once
    refused(county, "company_org_id", *stake)
    assert balances(county, org) == {"141": 20_000_000, "102": -20_000_000}
    # with a key, a retry is answered with the stake it booked; another request under the key is refused
    keyed = ["stake", "add", "--org", "huahuaqiao", "--company", "heping-co", "--paid-in", "50000.00"]
    keyed += ["--share-bp", "500", "--date", "2025-02-01", "--key", "stake-hhq"]
    first = ok(county, *keyed)
    again = ok(county, *keyed)
    assert again.startswith(first.strip()) and "already posted" in again
    assert balances(county, county.ids["huahuaqiao"]) == {"141": 5_000_000, "102": -5_000_000}
    refused(county, "key", *keyed[:-5], "600", *keyed[-4:])
    assert date.fromisoformat(listed[1].split("\t")[-1]) == date(2025, 1, 10)


@pytest.mark.parametrize(
    ("field", "extra"),
    [
        ("paid_in", ["--company", "tuanjie-co", "--paid-in", "1.001", "--share-bp", "100"]),
        ("paid_in", ["--company", "tuanjie-co", "--paid-in", "0.00", "--share-bp", "100"]),
        ("share_bp", ["--company", "tuanjie-co", "--paid-in", "1.00", "--share-bp", "0"]),
        ("share_bp", ["--company", "tuanjie-co", "--paid-in", "1.00", "--share-bp", "10001"]),
        ("company", ["--company", "no-such-co", "--paid-in", "1.00", "--share-bp", "100"]),
        ("company_org_id", ["--company", "huahuaqiao", "--paid-in", "1.00", "--share-bp", "100"]),
        (
            "funded_from",
            ["--company", "tuanjie-co", "--paid-in", "1.00", "--share-bp", "1", "--funded-from", "141"],
        ),
    ],
)
def test_bad_stake_input_exits_2_naming_the_field_and_posts_nothing(
    county: County, field: str, extra: list[str]
) -> None:
    refused(county, field, "stake", "add", "--org", "dingzikou", "--date", "2025-01-10", *extra)
    assert ok(county, "stake", "list", "--org", "dingzikou").splitlines()[1:] == []


# -- one key, whichever door ------------------------------------------------------------------------------


def audited(county: County, action: str) -> int:
    with read_tx(county.engine) as conn:
        return conn.execute(select(func.count()).where(AuditLog.action == action)).scalar_one()


def test_a_subsidy_received_at_the_api_under_a_key_is_answered_once_at_the_cli(
    county: County, client: TestClient
) -> None:
    """The API and the CLI carry out the same subsidy service with the same request: the CLI's rerun under
    the API's key answers the API's subsidy and posts nothing; another amount under that key is refused."""
    org = county.ids["hongxingqiao"]
    body = {"source": "工作经费", "amount": "100000.00", "date": "2025-02-01"}
    headers = {**county.auth("officer_tuanjie"), "Idempotency-Key": "work-fund-2025"}
    first = client.post(f"/api/v1/orgs/{org}/subsidies", json=body, headers=headers)
    assert first.status_code == 201, first.text
    add = ["subsidy", "add", "--org", "hongxingqiao", "--source", "工作经费", "--date", "2025-02-01"]
    add += ["--key", "work-fund-2025"]

    again = ok(county, *add, "--amount", "100000.00")
    other = cli(county, *add, "--amount", "100001.00")

    assert (
        again.strip()
        == f"subsidy {first.json()['subsidy_id']}\t工作经费\t100000.00 (already posted: nothing more)"
    )
    assert other.exit_code == 2 and "key" in other.output and "work-fund-2025" in other.output
    assert entries(county) == 1 and audited(county, "subsidy.receive") == 1
    assert balances(county, org) == {"102": 10_000_000, "503": -10_000_000}


def test_an_asset_added_at_the_cli_under_a_key_is_answered_once_at_the_api(
    county: County, client: TestClient
) -> None:
    """The other way round: the API's retry under the CLI's key answers 200 with the asset the CLI added (in
    the API's JSON), and adds no second one."""
    add = ["asset", "add", "--org", "dingzikou", "--kind", "门面", "--name", "临街门面1号"]
    out = ok(county, *add, "--book-value", "350000.00", "--key", "shop-1")
    org = county.ids["dingzikou"]
    headers = {**county.auth("officer"), "Idempotency-Key": "shop-1"}
    body = {"kind": "门面", "name": "临街门面1号", "book_value": "350000.00"}

    again = client.post(f"/api/v1/orgs/{org}/assets", json=body, headers=headers)
    other = client.post(f"/api/v1/orgs/{org}/assets", json={**body, "name": "临街门面2号"}, headers=headers)

    assert again.status_code == 200, again.text
    asset = again.json()
    assert (asset["id"], asset["book_value"], asset["status"]) == (first_field(out), "350000.00", "idle")
    assert other.status_code == 409
    with read_tx(county.engine) as conn:
        assert conn.execute(select(func.count()).select_from(asset_t)).scalar_one() == 1
    assert audited(county, "asset.create") == 1
