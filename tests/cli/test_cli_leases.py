"""Worked examples of ``cunshe leases …``: a 花花桥社区 contract from registration to renewal, every step
from the command line, checked in the books (112 应收款, 102 银行存款, 21101 押金, 50102, 214).

Runs on a real SQLite file and a real PostgreSQL database.
"""

from __future__ import annotations

import re
from typing import Any

from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import Row, func, select
from typer.testing import CliRunner

from ledger.books.trial_balance import trial_balance
from ledger.cli.main import app as cli_app
from ledger.community import assets
from ledger.community.models import CommunityAsset, LeaseCharge, LeaseContract
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import Account, AuditLog, JournalEntry, JournalLine
from tests.factories.county import County

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
account_t = Account.__table__
charge_t = LeaseCharge.__table__
contract_t = LeaseContract.__table__
asset_t = CommunityAsset.__table__

ORG = "huahuaqiao"


def leases_cli(county: County, *args: str) -> Result:
    db = county.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli_app, ["leases", *args, "--db", db])


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def closing(county: County, through: str = "2027-12") -> dict[str, int]:
    """Closing balance (debit positive) of every account of 花花桥社区 at the end of ``through``."""
    with read_tx(county.engine) as conn:
        return {r.code: r.closing_fen for r in trial_balance(conn, county.ids[ORG], "2026-01", through)}


def entries(county: County) -> int:
    with read_tx(county.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(entry_t)).scalar_one())


def receivable_of(county: County, contract_id: int) -> int:
    """The 112 balance carried on the contract's dimension (negative: a credit, 预收)."""
    with read_tx(county.engine) as conn:
        return int(
            conn.execute(
                select(func.coalesce(func.sum(line_t.c.debit_fen - line_t.c.credit_fen), 0))
                .join(account_t, account_t.c.id == line_t.c.account_id)
                .where(account_t.c.code == "112", line_t.c.contract_id == contract_id)
            ).scalar_one()
        )


def charged(county: County, contract_id: int) -> dict[str, int]:
    with read_tx(county.engine) as conn:
        return dict(
            conn.execute(
                select(charge_t.c.period, charge_t.c.amount_fen)
                .where(charge_t.c.contract_id == contract_id, charge_t.c.reversed_by_entry_id.is_(None))
                .order_by(charge_t.c.period)
            ).all()
        )


def contract_row(county: County, contract_id: int) -> Row[Any]:
    with read_tx(county.engine) as conn:
        return conn.execute(select(contract_t).where(contract_t.c.id == contract_id)).one()


def new_asset(county: County) -> int:
    with write_tx(county.engine) as conn:
        return assets.create_asset(
            conn, county.ids[ORG], assets.NewAsset(kind="门面", name="花花桥路12号门面")
        )


def asset_status(county: County, asset_id: int) -> str:
    with read_tx(county.engine) as conn:
        return str(conn.execute(select(asset_t.c.status).where(asset_t.c.id == asset_id)).scalar_one())


def add_contract(county: County, *extra: str, code: str = "ZL-2026-01") -> int:
    out = ok(
        leases_cli(
            county,
            "add",
            "--org",
            ORG,
            "--code",
            code,
            "--mode",
            "lease",
            "--lessee",
            "王五",
            "--start",
            "2026-01-01",
            "--end",
            "2026-12-31",
            "--rent",
            "1600.00",
            *extra,
        )
    )
    found = re.fullmatch(rf"contract (\d+) {code}\n", out)
    assert found, out
    return int(found.group(1))


def test_a_lease_from_registration_to_renewal_on_the_command_line(county: County) -> None:
    shop = new_asset(county)
    cid = add_contract(county, "--asset", str(shop), "--deposit", "3200.00")
    row = contract_row(county, cid)
    assert (row.rent_per_cycle_fen, row.cycle, row.timing, row.vat_rate_bp, row.deposit_fen) == (
        160_000,
        "monthly",
        "advance",
        500,
        320_000,
    )
    assert asset_status(county, shop) == "leased"

    listed = ok(leases_cli(county, "list", "--org", ORG)).splitlines()
    assert listed[1:] == [f"{cid}\thuahuaqiao\tZL-2026-01\t王五\t2026-01-01\t2026-12-31\t1600.00\tmonthly\t"]
    assert f"{cid}\thuahuaqiao\tZL-2026-01" in ok(leases_cli(county, "list", "--street", "heping"))

    shown = ok(leases_cli(county, "show", "--org", ORG, "--contract", str(cid))).splitlines()
    schedule = shown[shown.index("period\tdue\tamount") + 1 :]
    assert len(schedule) == 12
    assert schedule[0] == "2026-01\t2026-01-01\t1600.00"
    assert schedule[-1] == "2026-12\t2026-12-01\t1600.00"
    assert "deposit: 3200.00 agreed, 0.00 held" in shown

    # Two months accrued: Dr 112 3200.00 / Cr 50102 net of VAT, Cr 214 the 5 % VAT in the rent.
    ok(leases_cli(county, "accrue", "--through", "2026-02", "--org", ORG))
    books = closing(county)
    assert (books["112"], books["50102"], books["214"]) == (320_000, -2 * 152_381, -2 * 7_619)

    # 5000.00 received: pays January and February (3200.00), 1800.00 waits on the contract as a credit.
    receipt = ["receipt", "--org", ORG, "--lessee", "王五", "--amount", "5000.00", "--date", "2026-02-10"]
    out = ok(leases_cli(county, *receipt, "--key", "rent-2026-02-10"))
    assert re.fullmatch(r"记-2026-02-\d{4}: applied 3200\.00, credit 1800\.00\n", out), out
    books = closing(county)
    assert (books["102"], books["112"]) == (500_000, -180_000)
    assert receivable_of(county, cid) == -180_000

    # The same key again: the original receipt comes back and nothing more is posted.
    before = entries(county)
    again = ok(leases_cli(county, *receipt, "--key", "rent-2026-02-10"))
    assert again == out.rstrip("\n") + " (already recorded under this key)\n"
    assert entries(county) == before
    assert closing(county)["102"] == 500_000

    # The deposit: received (a retry with its key posts nothing more), then 1000.00 refunded.
    deposit = ["deposit", "--org", ORG, "--contract", str(cid), "--amount", "3200.00", "--date", "2026-02-10"]
    assert ok(leases_cli(county, *deposit, "--key", "dep-1")).endswith(", 3200.00 held\n")
    before = entries(county)
    assert "(already recorded under this key)" in ok(leases_cli(county, *deposit, "--key", "dep-1"))
    assert entries(county) == before
    refund = ["refund-deposit", "--org", ORG, "--contract", str(cid), "--amount", "1000.00"]
    assert ok(leases_cli(county, *refund, "--date", "2026-03-01")).endswith(", 2200.00 held\n")
    books = closing(county)
    assert (books["102"], books["21101"]) == (500_000 + 320_000 - 100_000, -220_000)

    # Through May: 8000.00 charged, 5000.00 paid. Terminated after 15 June: the deposit pays the arrears.
    ok(leases_cli(county, "accrue", "--through", "2026-05", "--org", ORG))
    assert receivable_of(county, cid) == 300_000
    out = ok(
        leases_cli(county, "terminate", "--org", ORG, "--contract", str(cid), "--last-day", "2026-06-15")
    )
    assert out == (
        f"contract {cid} ZL-2026-01 terminated, last day 2026-06-15: "
        "deposit applied 2200.00, refunded 0.00, left 0.00\n"
    )
    assert asset_status(county, shop) == "idle"
    ok(leases_cli(county, "accrue", "--through", "2026-12", "--org", ORG))
    months = charged(county, cid)
    assert list(months) == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert months["2026-06"] == 80_000  # 15 of June's 30 days
    books = closing(county)
    assert (books["112"], books["21101"], books["102"]) == (160_000, 0, 720_000)
    assert receivable_of(county, cid) == 800_000 + 80_000 - 500_000 - 220_000
    assert ok(leases_cli(county, "list", "--org", ORG)).splitlines()[1].endswith("\t2026-06-15")

    # Renewed for 2027 at 1700.00: a new contract, same lessee and shop, linked to the old one.
    out = ok(
        leases_cli(
            county,
            "renew",
            "--org",
            ORG,
            "--contract",
            str(cid),
            "--code",
            "ZL-2027-01",
            "--start",
            "2027-01-01",
            "--end",
            "2027-12-31",
            "--rent",
            "1700.00",
        )
    )
    found = re.fullmatch(rf"contract (\d+) ZL-2027-01: renewal of contract {cid}\n", out)
    assert found, out
    renewed = contract_row(county, int(found.group(1)))
    assert (renewed.previous_id, renewed.relation, renewed.lessee_id) == (cid, "renewal", row.lessee_id)
    assert (renewed.rent_per_cycle_fen, renewed.deposit_fen) == (170_000, 320_000)
    assert asset_status(county, shop) == "leased"
    shown = ok(leases_cli(county, "show", "--org", ORG, "--contract", str(renewed.id)))
    assert f"previous: {cid} (renewal)" in shown
    ok(leases_cli(county, "accrue", "--through", "2027-01", "--org", ORG))
    assert charged(county, renewed.id) == {"2027-01": 170_000}


def test_an_amendment_ends_the_old_contract_the_day_before(county: County) -> None:
    cid = add_contract(county)
    ok(leases_cli(county, "accrue", "--through", "2026-03", "--org", ORG))
    with read_tx(county.engine) as conn:
        logged = conn.execute(
            select(AuditLog.org_id, AuditLog.detail).where(AuditLog.action == "lease.accrue")
        ).all()
    assert [tuple(r) for r in logged] == [(county.ids[ORG], "through 2026-03: 3 months (cli)")]
    out = ok(
        leases_cli(
            county,
            *("amend", "--org", ORG, "--contract", str(cid), "--code", "ZL-2026-01-B"),
            *("--start", "2026-04-01", "--end", "2026-12-31", "--rent", "1800.00", "--deposit", "500.00"),
        )
    )
    found = re.fullmatch(rf"contract (\d+) ZL-2026-01-B: amendment of contract {cid}\n", out)
    assert found, out
    new = contract_row(county, int(found.group(1)))
    assert (new.previous_id, new.relation, new.deposit_fen) == (cid, "amendment", 50_000)
    assert str(contract_row(county, cid).terminated_on) == "2026-03-31"
    ok(leases_cli(county, "accrue", "--through", "2026-04", "--org", ORG))
    assert list(charged(county, cid)) == ["2026-01", "2026-02", "2026-03"]
    assert charged(county, new.id) == {"2026-04": 180_000}
    assert closing(county)["112"] == 3 * 160_000 + 180_000


def test_a_renewal_keeps_the_old_contracts_billing_unless_told_otherwise(county: County) -> None:
    """A quarterly contract billed in arrears at 3 % VAT with a 5 %-every-2-years step, renewed with only
    the dates and the rent: the renewal bills the same way; its rent-free month is not carried over."""
    terms = ("--cycle", "quarterly", "--timing", "arrears", "--vat-rate-bp", "300", "--free-months", "1")
    cid = add_contract(county, *terms, "--escalation-bp", "500", "--escalation-every-years", "2")
    renew = ("renew", "--org", ORG, "--contract", str(cid), "--start", "2027-01-01", "--rent", "4950.00")
    out = ok(leases_cli(county, *renew, "--code", "ZL-2027-Q", "--end", "2027-12-31"))
    same = contract_row(county, int(out.split()[1]))
    assert (same.cycle, same.timing, same.vat_rate_bp) == ("quarterly", "arrears", 300)
    assert (same.escalation_bp, same.escalation_every_years, same.free_months) == (500, 2, 0)
    assert same.rent_per_cycle_fen == 495_000
    ok(leases_cli(county, "accrue", "--through", "2027-01", "--org", ORG))
    assert charged(county, same.id) == {"2027-01": 165_000}  # a third of the quarter, no free month
    changed = ok(
        leases_cli(
            county,
            *("renew", "--org", ORG, "--contract", str(same.id), "--code", "ZL-2028-M"),
            *("--start", "2028-01-01", "--end", "2028-12-31", "--rent", "1700.00", "--cycle", "monthly"),
        )
    )
    monthly = contract_row(county, int(changed.split()[1]))
    assert (monthly.cycle, monthly.timing, monthly.vat_rate_bp) == ("monthly", "arrears", 300)
    bad = leases_cli(county, *renew, "--code", "ZL-2027-X", "--end", "2027-12-31", "--timing", "later")
    assert bad.exit_code == 2 and "timing" in bad.output


def test_bad_input_exits_2_naming_the_option_and_writes_nothing(county: County) -> None:
    cid = add_contract(county)
    ok(leases_cli(county, "accrue", "--through", "2026-01", "--org", ORG))
    before = entries(county)
    books = closing(county)
    terms = ["--org", ORG, "--lessee", "赵六", "--start", "2026-01-01", "--end", "2026-12-31"]

    cases = [
        (["add", "--code", "X-1", *terms, "--rent", "1600.005"], "error [invalid_amount] rent:"),
        (["add", "--code", "X-2", *terms, "--rent", "1600.00", "--deposit", "1e3"], "deposit:"),
        (
            ["add", "--code", "X-3", *terms[:-2], "--end", "2025-12-31", "--rent", "1600.00"],
            "error [invalid] end: the lease ends (2025-12-31) before it starts (2026-01-01)",
        ),
        (["add", "--code", "X-4", *terms, "--rent", "1600.00", "--cycle", "weekly"], "cycle:"),
        (["add", "--code", "X-5", *terms[:-1], "2026-02-30", "--rent", "1.00"], "end:"),
        (
            [
                *("receipt", "--org", ORG, "--lessee", "无名氏", "--amount", "2000.00"),
                *("--date", "2026-01-05"),
            ],
            "error [invalid] lessee:",
        ),
        (
            [
                *("receipt", "--org", ORG, "--lessee", "王五", "--amount", "2000.001"),
                *("--date", "2026-01-05"),
            ],
            "error [invalid_amount] amount: '2000.001' has 3 decimal places",
        ),
        (
            [*("receipt", "--org", ORG, "--lessee", "王五", "--amount", "20.00", "--date", "2026-1-5")],
            "date:",
        ),
        (
            [*("deposit", "--org", ORG, "--contract", str(cid), "--amount", "-5.00", "--date", "2026-01-05")],
            "error [invalid_amount] amount:",
        ),
        (
            [*("refund-deposit", "--org", ORG, "--contract", str(cid), "--date", "2026-01-05")],
            "error [invalid] amount:",  # nothing is held
        ),
        (
            [*("terminate", "--org", ORG, "--contract", str(cid + 999), "--last-day", "2026-06-30")],
            "error [not_found] contract:",
        ),
        (["add", "--code", "X-6", *terms[:1], "heping", *terms[2:], "--rent", "1.00"], "org:"),
        (
            [
                *("receipt", "--org", ORG, "--lessee", "王五", "--amount", "20.00"),
                *("--date", "2026-01-05", "--key", "k" * 129),
            ],
            "error [invalid] key: an idempotency key has 1 to 128 characters",
        ),
    ]
    for args, expected in cases:
        result = leases_cli(county, *args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output, (args, result.output)
    assert entries(county) == before
    assert closing(county) == books
    with read_tx(county.engine) as conn:
        assert list(conn.execute(select(contract_t.c.code)).scalars()) == ["ZL-2026-01"]


def test_rent_received_at_the_api_under_a_key_is_answered_once_at_the_cli(
    county: County, client: TestClient
) -> None:
    """The API and the CLI carry out the same receipt service: the CLI's retry under the API's key answers
    what the API posted and posts nothing; another amount under that key is refused."""
    cid = add_contract(county)
    ok(leases_cli(county, "accrue", "--through", "2026-02", "--org", ORG))
    org_id = county.ids[ORG]
    body = {"amount": "2000.00", "date": "2026-02-10", "lessee": "王五"}
    headers = {**county.auth("officer"), "Idempotency-Key": "rent-feb"}
    first = client.post(f"/api/v1/orgs/{org_id}/lease-receipts", json=body, headers=headers)
    assert first.status_code == 201, first.text
    before = entries(county)

    receipt = ["receipt", "--org", ORG, "--lessee", "王五", "--date", "2026-02-10", "--key", "rent-feb"]
    again = ok(leases_cli(county, *receipt, "--amount", "2000.00"))
    other = leases_cli(county, *receipt, "--amount", "2100.00")

    assert again.startswith(first.json()["voucher_no"]) and "already recorded under this key" in again
    assert other.exit_code == 2 and "rent-feb" in other.output
    assert entries(county) == before and receivable_of(county, cid) == 320_000 - 200_000


def test_a_deposit_at_the_api_and_a_termination_at_the_cli_are_each_done_once_under_their_keys(
    county: County, client: TestClient
) -> None:
    """A deposit received at the API is answered once at the CLI under its key; a termination done at the
    CLI is answered once at the API (200, the CLI's answer in the API's JSON). Each posts and audits once."""
    cid = add_contract(county, "--deposit", "3200.00")
    org_id = county.ids[ORG]
    headers = {**county.auth("officer"), "Idempotency-Key": "dep-1"}
    body = {"amount": "3200.00", "date": "2026-01-05"}
    first = client.post(f"/api/v1/orgs/{org_id}/leases/{cid}/deposit", json=body, headers=headers)
    assert first.status_code == 201, first.text
    deposit = ["deposit", "--org", ORG, "--contract", str(cid), "--date", "2026-01-05", "--key", "dep-1"]
    again = ok(leases_cli(county, *deposit, "--amount", "3200.00"))
    other = leases_cli(county, *deposit, "--amount", "3000.00")
    assert again.endswith(", 3200.00 held (already recorded under this key)\n"), again
    assert other.exit_code == 2 and "dep-1" in other.output
    assert entries(county) == 1 and closing(county)["21101"] == -320_000

    end = ["terminate", "--org", ORG, "--contract", str(cid), "--last-day", "2026-06-30", "--keep-deposit"]
    done = ok(leases_cli(county, *end, "--key", "end-1"))
    assert done.startswith(f"contract {cid} ZL-2026-01 terminated, last day 2026-06-30"), done
    headers["Idempotency-Key"] = "end-1"
    asked = {"last_day": "2026-06-30", "apply_deposit": False}
    replay = client.post(f"/api/v1/orgs/{org_id}/leases/{cid}/terminate", json=asked, headers=headers)
    changed = client.post(
        f"/api/v1/orgs/{org_id}/leases/{cid}/terminate",
        json={**asked, "last_day": "2026-05-31"},
        headers=headers,
    )
    assert replay.status_code == 200, replay.text
    assert replay.json()["contract"]["terminated_on"] == "2026-06-30"
    assert replay.json()["deposit_left"] == "3200.00"
    assert changed.status_code == 409
    with read_tx(county.engine) as conn:
        actions = [a for (a,) in conn.execute(select(AuditLog.action).order_by(AuditLog.id))]
    assert actions.count("lease.deposit") == 1 and actions.count("lease.terminate") == 1
