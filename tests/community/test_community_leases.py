"""Leases as a village bookkeeper checks them: contracts, the monthly accrual, receipts, deposits, aging.

Every test runs on a real SQLite file and a real PostgreSQL database.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import Engine, func, select

from ledger.access.auth import system_actor
from ledger.access.idempotency import request_hash
from ledger.books.errors import Conflict, PeriodClosed, ValidationError
from ledger.books.periods import close_period
from ledger.books.trial_balance import trial_balance
from ledger.books.verify import verify_all
from ledger.community.checks import lease_tie_differences
from ledger.community.leases import contracts as leases
from ledger.community.leases import receipts
from ledger.community.leases.schedule import BillingCycle, BillingTiming, LeaseTerms
from ledger.community.models import LeaseCharge
from ledger.community.services import add_contract
from ledger.community.services.leases import SpeltTerms
from ledger.db.engine import read_tx, run_write, write_tx
from ledger.db.models import JournalEntry, JournalLine
from tests.factories.county import County

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
charge_t = LeaseCharge.__table__


def contract(
    engine: Engine,
    org_id: int,
    code: str = "HT-2025-001",
    lessee: str = "张三",
    **terms: object,
) -> int:
    base: dict[str, object] = dict(start=date(2025, 1, 1), end=date(2025, 12, 31), rent_per_cycle_fen=100_000)
    base.update(terms)
    with write_tx(engine) as conn:
        return leases.create_contract(
            conn, org_id, leases.NewContract(code=code, mode="lease", lessee=lessee, terms=LeaseTerms(**base))
        )


def accrue(engine: Engine, org_id: int, through: str) -> leases.AccrualResult:
    return run_write(engine, lambda conn: leases.accrue_leases(conn, [org_id], through))


def balances(engine: Engine, org_id: int, period: str) -> dict[str, int]:
    with read_tx(engine) as conn:
        return {r.code: r.closing_fen for r in trial_balance(conn, org_id, period)}


def lines_of(engine: Engine, org_id: int, source_ref_like: str | None = None) -> list:  # type: ignore[type-arg]
    from ledger.db.models import Account

    account_t = Account.__table__
    with read_tx(engine) as conn:
        stmt = (
            select(
                entry_t.c.entry_date,
                account_t.c.code,
                line_t.c.debit_fen,
                line_t.c.credit_fen,
                line_t.c.counterparty_id,
                line_t.c.contract_id,
            )
            .join(entry_t, entry_t.c.id == line_t.c.entry_id)
            .join(account_t, account_t.c.id == line_t.c.account_id)
            .where(line_t.c.org_id == org_id)
            .order_by(entry_t.c.id, line_t.c.line_no)
        )
        if source_ref_like:
            stmt = stmt.where(entry_t.c.source_ref.like(source_ref_like))
        return conn.execute(stmt).all()


def assert_tied(engine: Engine, org_id: int) -> None:
    with read_tx(engine) as conn:
        assert lease_tie_differences(conn, org_id) == {}
        assert [str(p) for p in verify_all(conn)] == []


def test_monthly_accrual_posts_rent_net_of_vat_to_the_lessee_and_contract(county: County) -> None:
    org = county.ids["dingzikou"]
    cid = contract(county.engine, org, rent_per_cycle_fen=105_000)
    result = accrue(county.engine, org, "2025-03")
    assert (result.posted, result.amount_fen) == (3, 315_000)
    rows = lines_of(county.engine, org)
    assert len(rows) == 9
    assert rows[0].entry_date == date(2025, 1, 31)
    assert (rows[0].code, rows[0].debit_fen, rows[0].contract_id) == ("112", 105_000, cid)
    assert (rows[1].code, rows[1].credit_fen) == ("50102", 100_000)
    assert (rows[2].code, rows[2].credit_fen) == ("214", 5_000)
    assert rows[0].counterparty_id is not None and rows[1].counterparty_id is None  # income: one line a month
    tb = balances(county.engine, org, "2025-03")
    assert tb["112"] == 315_000 and tb["50102"] == -300_000 and tb["214"] == -15_000
    assert_tied(county.engine, org)


def test_accrual_is_idempotent_when_rerun(county: County) -> None:
    org = county.ids["dingzikou"]
    contract(county.engine, org)
    assert accrue(county.engine, org, "2025-06").posted == 6
    assert accrue(county.engine, org, "2025-06").posted == 0
    assert accrue(county.engine, org, "2025-07").posted == 1
    with read_tx(county.engine) as conn:
        assert conn.execute(select(func.count()).select_from(charge_t)).scalar_one() == 7
        assert conn.execute(select(func.count()).select_from(entry_t)).scalar_one() == 7


def test_concurrent_accrual_runs_post_each_month_once(county: County) -> None:
    org = county.ids["dingzikou"]
    for n in range(5):
        contract(county.engine, org, code=f"HT-{n}", lessee=f"承租人{n}")
    results: list[object] = []

    def run() -> None:
        try:
            results.append(accrue(county.engine, org, "2025-12"))
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, leases.AccrualResult) for r in results), results
    assert sum(r.posted for r in results) == 60  # type: ignore[attr-defined]
    with read_tx(county.engine) as conn:
        assert conn.execute(select(func.count()).select_from(entry_t)).scalar_one() == 12  # one a month
        assert conn.execute(select(func.count()).select_from(charge_t)).scalar_one() == 60
    assert_tied(county.engine, org)


def test_rent_paid_a_year_ahead_is_recognised_monthly(county: County) -> None:
    org = county.ids["dingzikou"]
    cid = contract(
        county.engine, org, rent_per_cycle_fen=1_200_000, cycle=BillingCycle.YEARLY, start=date(2025, 1, 1)
    )
    with write_tx(county.engine) as conn:
        r = receipts.receive_rent(
            conn, org, lessee="张三", amount_fen=1_200_000, received_on=date(2024, 12, 20)
        )
    assert (r.applied_fen, r.credit_fen) == (0, 1_200_000)
    tb = balances(county.engine, org, "2024-12")
    assert tb["112"] == -1_200_000 and tb.get("50102", 0) == 0  # a credit balance: rent received in advance
    accrue(county.engine, org, "2025-03")
    tb = balances(county.engine, org, "2025-03")
    assert tb["112"] == -900_000  # three months recognised, nine still prepaid
    assert tb["50102"] == -round(300_000 / 1.05)
    march = balances(county.engine, org, "2025-03")
    assert march["50102"] - balances(county.engine, org, "2025-02")["50102"] == -95_238  # one month net
    with read_tx(county.engine) as conn:
        assert receipts.open_charges(conn, org, contract_ids=[cid]) == []
    accrue(county.engine, org, "2025-12")
    assert balances(county.engine, org, "2025-12")["112"] == 0
    assert_tied(county.engine, org)


def test_receipt_pays_oldest_charges_first_and_keeps_the_rest_as_credit(county: County) -> None:
    org = county.ids["dingzikou"]
    cid = contract(county.engine, org)
    accrue(county.engine, org, "2025-03")
    with write_tx(county.engine) as conn:
        r = receipts.receive_rent(conn, org, lessee="张三", amount_fen=150_000, received_on=date(2025, 3, 10))
        open_ = receipts.open_charges(conn, org, contract_ids=[cid])
    assert (r.applied_fen, r.credit_fen) == (150_000, 0)
    assert [(c.period, c.open_fen) for c in open_] == [("2025-02", 50_000), ("2025-03", 100_000)]
    with write_tx(county.engine) as conn:
        r = receipts.receive_rent(conn, org, lessee="张三", amount_fen=200_000, received_on=date(2025, 3, 20))
    assert (r.applied_fen, r.credit_fen) == (150_000, 50_000)
    assert balances(county.engine, org, "2025-03")["112"] == -50_000
    accrue(county.engine, org, "2025-04")  # the credit pays half of April
    with read_tx(county.engine) as conn:
        assert [(c.period, c.open_fen) for c in receipts.open_charges(conn, org)] == [("2025-04", 50_000)]
    assert_tied(county.engine, org)


def test_explicit_allocation_pays_the_charge_named(county: County) -> None:
    org = county.ids["dingzikou"]
    cid = contract(county.engine, org)
    accrue(county.engine, org, "2025-03")
    with write_tx(county.engine) as conn:
        march = next(c for c in receipts.open_charges(conn, org, contract_ids=[cid]) if c.period == "2025-03")
        receipts.receive_rent(
            conn,
            org,
            lessee="张三",
            amount_fen=100_000,
            received_on=date(2025, 3, 31),
            allocations=[(march.id, 100_000)],
        )
        assert [c.period for c in receipts.open_charges(conn, org)] == ["2025-01", "2025-02"]
    assert_tied(county.engine, org)


def test_receipt_for_a_lessee_with_no_contract_is_refused_and_writes_nothing(county: County) -> None:
    org = county.ids["dingzikou"]
    with pytest.raises(ValidationError) as exc, write_tx(county.engine) as conn:
        receipts.receive_rent(conn, org, lessee="李四", amount_fen=1_000, received_on=date(2025, 3, 1))
    assert exc.value.field == "lessee"
    with read_tx(county.engine) as conn:
        assert conn.execute(select(func.count()).select_from(entry_t)).scalar_one() == 0


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        (dict(end=date(2024, 12, 31)), "end"),
        (dict(rent_per_cycle_fen=-1), "rent_per_cycle"),
        (dict(escalation_bp=10_001, escalation_every_years=1), "escalation_bp"),
    ],
)
def test_bad_contract_terms_name_the_field(county: County, terms: dict, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as exc:
        contract(county.engine, county.ids["dingzikou"], **terms)
    assert exc.value.field == field


def test_early_termination_applies_deposit_to_arrears(county: County) -> None:
    org = county.ids["dingzikou"]
    cid = contract(county.engine, org, end=date(2027, 12, 31))
    with write_tx(county.engine) as conn:
        receipts.receive_deposit(conn, org, cid, amount_fen=300_000, on=date(2025, 1, 2))
    accrue(county.engine, org, "2025-06")
    with write_tx(county.engine) as conn:
        receipts.receive_rent(conn, org, lessee="张三", amount_fen=400_000, received_on=date(2025, 4, 1))
        settled = receipts.terminate_and_settle(
            conn, org, cid, last_day=date(2025, 6, 30), on=date(2025, 7, 5), refund_rest=True
        )
    assert settled == {"applied": 200_000, "refunded": 100_000, "deposit_left": 0}
    tb = balances(county.engine, org, "2025-07")
    assert tb["112"] == 0 and tb["21101"] == 0
    assert tb["102"] == 300_000 + 400_000 - 100_000
    assert accrue(county.engine, org, "2025-12").posted == 0  # no future charges
    assert_tied(county.engine, org)


def test_termination_never_changes_a_posted_month(county: County) -> None:
    org = county.ids["dingzikou"]
    cid = contract(county.engine, org)
    accrue(county.engine, org, "2025-06")
    with pytest.raises(Conflict) as exc, write_tx(county.engine) as conn:
        leases.terminate_contract(conn, org, cid, last_day=date(2025, 6, 15))
    assert exc.value.field == "last_day"
    with write_tx(county.engine) as conn:
        leases.terminate_contract(conn, org, cid, last_day=date(2025, 7, 15))
    accrue(county.engine, org, "2025-12")
    with read_tx(county.engine) as conn:
        july = conn.execute(select(charge_t.c.amount_fen).where(charge_t.c.period == "2025-07")).scalar_one()
        count = conn.execute(select(func.count()).select_from(charge_t)).scalar_one()
    assert (july, count) == (round(100_000 * 15 / 31), 7)


def test_a_month_cannot_close_before_its_rent_is_accrued(county: County) -> None:
    org = county.ids["dingzikou"]
    contract(county.engine, org)
    with pytest.raises(Conflict, match="lease accruals of 2025-01"), write_tx(county.engine) as conn:
        close_period(conn, org, "2025-01")
    accrue(county.engine, org, "2025-01")
    with write_tx(county.engine) as conn:
        close_period(conn, org, "2025-01")


def test_rent_of_a_closed_month_is_caught_up_in_the_first_open_month(county: County) -> None:
    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        close_period(conn, org, "2025-02")
    contract(county.engine, org)
    accrue(county.engine, org, "2025-03")
    with read_tx(county.engine) as conn:
        vouchers = conn.execute(select(entry_t.c.entry_date, entry_t.c.memo).order_by(entry_t.c.id)).all()
    assert [tuple(v) for v in vouchers] == [
        (date(2025, 3, 31), "计提2025-01租金(补提)"),
        (date(2025, 3, 31), "计提2025-02租金(补提)"),
        (date(2025, 3, 31), "计提2025-03租金"),
    ]
    with pytest.raises(PeriodClosed), write_tx(county.engine) as conn:
        receipts.receive_rent(conn, org, lessee="张三", amount_fen=1, received_on=date(2025, 2, 1))


def test_renewal_creates_a_new_contract_linked_to_the_old(county: County) -> None:
    org = county.ids["dingzikou"]
    cid = contract(county.engine, org, timing=BillingTiming.ARREARS)
    with write_tx(county.engine) as conn:
        new = leases.supersede_contract(
            conn,
            org,
            cid,
            relation="renewal",
            code="HT-2026-001",
            terms=LeaseTerms(date(2026, 1, 1), date(2026, 12, 31), 110_000),
        )
        row = leases.get_contract(conn, org, new)
    assert (row.previous_id, row.relation, row.lessee_id) == (cid, "renewal", row.lessee_id)
    assert accrue(county.engine, org, "2026-12").posted == 24
    assert_tied(county.engine, org)


def test_prepaid_rent_follows_an_amended_contract(county: County) -> None:
    org = county.ids["dingzikou"]
    old = contract(county.engine, org, end=date(2026, 12, 31))
    with write_tx(county.engine) as conn:
        receipts.receive_rent(conn, org, lessee="张三", amount_fen=2_400_000, received_on=date(2024, 12, 28))
    accrue(county.engine, org, "2025-03")
    with write_tx(county.engine) as conn:  # from July the rent drops to 800.00; April–June still at 1000.00
        new = leases.supersede_contract(
            conn,
            org,
            old,
            relation="amendment",
            code="HT-2025-001-补1",
            terms=LeaseTerms(date(2025, 7, 1), date(2026, 12, 31), 80_000),
        )
    accrue(county.engine, org, "2026-12")
    with read_tx(county.engine) as conn:
        assert receipts.open_charges(conn, org) == []
        billed = leases.contract_balances(conn, [old, new])
    assert billed[old] == (600_000, 600_000)  # six months at 1000.00, paid from the prepayment
    assert billed[new][0] == 18 * 80_000 and billed[new][1] == 2_400_000 - 600_000
    assert balances(county.engine, org, "2026-12")["112"] == -(2_400_000 - 600_000 - 18 * 80_000)
    assert_tied(county.engine, org)


def test_a_terminated_contract_gives_its_asset_back_to_the_idle_list(county: County) -> None:
    from ledger.community import assets

    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        shop = assets.create_asset(
            conn, org, assets.NewAsset(kind="门面", name="临街门面2号", area_milli_m2=42_500)
        )
        cid = leases.create_contract(
            conn,
            org,
            leases.NewContract(
                code="HT-9",
                mode="lease",
                lessee="李四",
                asset_ids=[shop],
                terms=LeaseTerms(date(2025, 1, 1), date(2025, 12, 31), 50_000),
            ),
        )
        assert assets.list_assets(conn, [org], status="idle") == []
        leases.terminate_contract(conn, org, cid, last_day=date(2025, 5, 31))
        assert [a["id"] for a in assets.list_assets(conn, [org], status="idle")] == [shop]


def test_cli_runs_the_stipends_and_lists_idle_assets(county: County) -> None:
    from typer.testing import CliRunner

    from ledger.cli.main import app
    from ledger.community import assets, welfare

    org = county.ids["hongxingqiao"]
    with write_tx(county.engine) as conn:
        welfare.create_post(
            conn,
            org,
            welfare.NewPost(
                post="社区服务专干", holder="周八", monthly_stipend_fen=250_000, start=date(2025, 1, 1)
            ),
        )
        assets.create_asset(
            conn, org, assets.NewAsset(kind="土地", name="河滩地", certificate_no="沿集用(2023)第12号")
        )
    db = county.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    run = runner.invoke(
        app, ["community", "stipends", "--through", "2025-02", "--street", "tuanjie", "--db", db]
    )
    assert run.exit_code == 0 and "posted 2 stipend-months through 2025-02: 5000.00" in run.output
    idle = runner.invoke(app, ["community", "idle-assets", "--street", "tuanjie", "--db", db])
    assert idle.exit_code == 0 and "河滩地" in idle.output and "沿集用(2023)第12号" in idle.output
    wrong = runner.invoke(app, ["community", "idle-assets", "--street", "hongxingqiao", "--db", db])
    assert wrong.exit_code == 2 and "not a street" in wrong.output


def test_concurrent_receipts_never_pay_one_charge_twice(county: County) -> None:
    org = county.ids["dingzikou"]
    contract(county.engine, org)
    accrue(county.engine, org, "2025-06")
    errors: list[Exception] = []

    def pay() -> None:
        try:
            run_write(
                county.engine,
                lambda conn: receipts.receive_rent(
                    conn, org, lessee="张三", amount_fen=150_000, received_on=date(2025, 6, 10)
                ),
            )
        except Exception as exc:  # pragma: no cover - shown by the assertion
            errors.append(exc)

    threads = [threading.Thread(target=pay) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with read_tx(county.engine) as conn:
        assert receipts.open_charges(conn, org) == []  # 4 × 1500.00 pay the six months exactly
    assert_tied(county.engine, org)


# -- the summary voucher (计提{month}租金) and its reversal (红字冲销) --------------------------------------


def vouchers(engine: Engine, org_id: int) -> list:  # type: ignore[type-arg]
    with read_tx(engine) as conn:
        return conn.execute(
            select(
                entry_t.c.id,
                entry_t.c.entry_date,
                entry_t.c.memo,
                entry_t.c.line_count,
                entry_t.c.source,
                entry_t.c.reverses_id,
            )
            .where(entry_t.c.org_id == org_id)
            .order_by(entry_t.c.id)
        ).all()


def voucher_lines(engine: Engine, entry_id: int) -> list[tuple]:  # type: ignore[type-arg]
    from ledger.db.models import Account

    account_t = Account.__table__
    with read_tx(engine) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(
                    account_t.c.code,
                    line_t.c.debit_fen,
                    line_t.c.credit_fen,
                    line_t.c.counterparty_id,
                    line_t.c.contract_id,
                    line_t.c.memo,
                )
                .join(account_t, account_t.c.id == line_t.c.account_id)
                .where(line_t.c.entry_id == entry_id)
                .order_by(line_t.c.line_no)
            )
        ]


def month_charges(engine: Engine, period: str) -> list[tuple]:  # type: ignore[type-arg]
    with read_tx(engine) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(
                    charge_t.c.contract_id,
                    charge_t.c.amount_fen,
                    charge_t.c.tax_fen,
                    charge_t.c.entry_id,
                    charge_t.c.reversed_by_entry_id,
                )
                .where(charge_t.c.period == period)
                .order_by(charge_t.c.id)
            )
        ]


def test_one_summary_voucher_per_org_and_month_each_contract_on_a_receivable_line(county: County) -> None:
    org = county.ids["dingzikou"]
    a = contract(county.engine, org, code="HT-1", lessee="张三", rent_per_cycle_fen=105_000)
    b = contract(county.engine, org, code="HT-2", lessee="李四", rent_per_cycle_fen=210_000)
    other = county.ids["huahuaqiao"]
    c = contract(county.engine, other, code="HT-1", lessee="王五", rent_per_cycle_fen=52_500)
    result = run_write(county.engine, lambda conn: leases.accrue_leases(conn, [org, other], "2025-02"))
    assert (result.posted, result.amount_fen) == (6, 2 * (105_000 + 210_000 + 52_500))
    jan, feb = vouchers(county.engine, org)
    assert (jan.memo, jan.entry_date, jan.line_count) == ("计提2025-01租金", date(2025, 1, 31), 4)
    assert (feb.memo, feb.entry_date) == ("计提2025-02租金", date(2025, 2, 28))
    with read_tx(county.engine) as conn:
        lessee = {
            cid: leases.get_contract(conn, o, cid).lessee_id for o, cid in ((org, a), (org, b), (other, c))
        }
    assert voucher_lines(county.engine, jan.id) == [
        ("112", 105_000, 0, lessee[a], a, "计提2025-01租金 HT-1"),
        ("112", 210_000, 0, lessee[b], b, "计提2025-01租金 HT-2"),
        ("50102", 0, 300_000, None, None, "计提2025-01租金 2份合同"),
        ("214", 0, 15_000, None, None, "计提2025-01租金 增值税"),
    ]
    # each contract's tax is kept on its charge; the charges of the month point at the org's voucher
    assert [ch[:4] for ch in month_charges(county.engine, "2025-01") if ch[0] != c] == [
        (a, 105_000, 5_000, jan.id),
        (b, 210_000, 10_000, jan.id),
    ]
    assert [v.memo for v in vouchers(county.engine, other)] == ["计提2025-01租金", "计提2025-02租金"]
    assert_tied(county.engine, org)


def test_a_contract_added_later_is_charged_on_a_voucher_of_its_own(county: County) -> None:
    org = county.ids["dingzikou"]
    contract(county.engine, org, code="HT-1")
    assert accrue(county.engine, org, "2025-03").posted == 3
    late = contract(county.engine, org, code="HT-2", lessee="李四")
    assert accrue(county.engine, org, "2025-03").posted == 3
    assert accrue(county.engine, org, "2025-03").posted == 0
    later = vouchers(county.engine, org)[3:]
    assert [v.memo for v in later] == ["计提2025-01租金", "计提2025-02租金", "计提2025-03租金"]
    assert {ln[4] for v in later for ln in voucher_lines(county.engine, v.id) if ln[0] == "112"} == {late}
    assert len(vouchers(county.engine, org)) == 6
    assert_tied(county.engine, org)


def test_an_org_with_more_contracts_than_a_voucher_takes_gets_numbered_vouchers(county: County) -> None:
    from ledger.books.posting import MAX_LINES

    org = county.ids["dingzikou"]
    many = leases.CONTRACTS_PER_VOUCHER + 1
    with write_tx(county.engine) as conn:
        for n in range(many):
            leases.create_contract(
                conn,
                org,
                leases.NewContract(
                    code=f"HT-{n:04d}",
                    mode="lease",
                    lessee=f"承租人{n}",
                    terms=LeaseTerms(date(2025, 1, 1), date(2025, 12, 31), 10_500),
                ),
            )
    assert accrue(county.engine, org, "2025-01").posted == many
    first, second = vouchers(county.engine, org)
    assert (first.memo, second.memo) == ("计提2025-01租金(1/2)", "计提2025-01租金(2/2)")
    assert first.line_count == (many - 1) + 2 == MAX_LINES and second.line_count == 3
    assert balances(county.engine, org, "2025-01")["214"] == -500 * many
    assert_tied(county.engine, org)


def verify_cli(engine: Engine) -> tuple[int, str]:
    from typer.testing import CliRunner

    from ledger.cli.main import app

    run = CliRunner().invoke(app, ["verify", "--db", engine.url.render_as_string(hide_password=False)])
    return run.exit_code, run.output


def test_reversing_an_accrual_voucher_through_the_api_releases_its_charges_and_the_month_is_charged_again(
    county: County, client: object
) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    org = county.ids["dingzikou"]
    a = contract(county.engine, org, code="HT-1", lessee="张三")  # 1000.00 a month
    b = contract(county.engine, org, code="HT-2", lessee="李四", rent_per_cycle_fen=200_000)
    accrue(county.engine, org, "2025-03")
    with write_tx(county.engine) as conn:  # pays HT-1's January, February and half of March
        receipts.receive_rent(conn, org, lessee="张三", amount_fen=250_000, received_on=date(2025, 3, 10))
    march = next(v for v in vouchers(county.engine, org) if v.memo == "计提2025-03租金")
    r = client.post(
        f"/api/v1/orgs/{org}/entries/{march.id}/reverse",
        json={"date": "2025-03-31"},
        headers=county.auth("officer"),
    )
    assert r.status_code == 201, r.text
    [reversal] = r.json()
    # the charges stay, marked reversed; the books and the sub-ledger agree, and verify says so
    assert month_charges(county.engine, "2025-03") == [
        (a, 100_000, 4_762, march.id, reversal["id"]),
        (b, 200_000, 9_524, march.id, reversal["id"]),
    ]
    assert_tied(county.engine, org)
    assert verify_cli(county.engine)[0] == 0
    assert balances(county.engine, org, "2025-03")["112"] == 2 * 300_000 - 250_000
    with read_tx(county.engine) as conn:  # March is no longer owed; the 500.00 paid on it is credit again
        assert [c.period for c in receipts.open_charges(conn, org)] == ["2025-01", "2025-02"]
        assert receipts.credit_pools(conn, [org], [a])[(org, a)][0][1] == 50_000
    with write_tx(county.engine) as conn:
        close_period(conn, org, "2025-01")
        close_period(conn, org, "2025-02")
    with pytest.raises(Conflict, match="lease accruals of 2025-03"), write_tx(county.engine) as conn:
        close_period(conn, org, "2025-03")
    # the next run charges March once more, on a new voucher, and the credit pays half of it again
    again = accrue(county.engine, org, "2025-03")
    assert (again.posted, again.amount_fen) == (2, 300_000)
    assert accrue(county.engine, org, "2025-03").posted == 0
    recharged = vouchers(county.engine, org)[-1]
    assert (recharged.memo, recharged.source, recharged.reverses_id) == ("计提2025-03租金", "lease", None)
    live = [ch for ch in month_charges(county.engine, "2025-03") if ch[4] is None]
    assert live == [(a, 100_000, 4_762, recharged.id, None), (b, 200_000, 9_524, recharged.id, None)]
    with read_tx(county.engine) as conn:
        assert [(c.contract_id, c.period, c.open_fen) for c in receipts.open_charges(conn, org)] == [
            (b, "2025-01", 200_000),
            (b, "2025-02", 200_000),
            (a, "2025-03", 50_000),
            (b, "2025-03", 200_000),
        ]
    assert balances(county.engine, org, "2025-03")["112"] == 3 * 300_000 - 250_000
    assert_tied(county.engine, org)
    with write_tx(county.engine) as conn:
        close_period(conn, org, "2025-03")


def test_a_retried_reversal_of_an_accrual_voucher_changes_the_charges_once(county: County) -> None:
    from ledger.books.posting import reverse_entry

    org = county.ids["dingzikou"]
    contract(county.engine, org)
    accrue(county.engine, org, "2025-01")
    [jan] = vouchers(county.engine, org)

    def reverse(conn):  # type: ignore[no-untyped-def]
        return reverse_entry(conn, jan.id, entry_date=date(2025, 1, 31), idempotency_key="fix-jan")

    first = run_write(county.engine, reverse)
    retry = run_write(county.engine, reverse)
    assert retry[0].id == first[0].id and not retry[0].created
    assert [ch[4] for ch in month_charges(county.engine, "2025-01")] == [first[0].id]
    assert accrue(county.engine, org, "2025-01").posted == 1
    assert len(month_charges(county.engine, "2025-01")) == 2
    assert_tied(county.engine, org)


def test_the_charge_reversal_migration_keeps_the_charges_and_allocations_of_existing_books(
    county: County,
) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from ledger.community.models import LeaseAllocation
    from ledger.db.migrate import alembic_config

    org = county.ids["dingzikou"]
    contract(county.engine, org)
    accrue(county.engine, org, "2025-03")
    with write_tx(county.engine) as conn:
        receipts.receive_rent(conn, org, lessee="张三", amount_fen=150_000, received_on=date(2025, 3, 10))

    def migrate(step, revision: str) -> None:  # type: ignore[no-untyped-def]
        cfg = alembic_config(county.engine)
        with county.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, revision)

    def snapshot() -> tuple[list, list]:  # type: ignore[type-arg]
        with read_tx(county.engine) as conn:
            alloc_t = LeaseAllocation.__table__
            return (
                conn.execute(
                    select(charge_t.c.id, charge_t.c.period, charge_t.c.entry_id).order_by(charge_t.c.id)
                ).all(),
                conn.execute(select(alloc_t).order_by(alloc_t.c.id)).all(),
            )

    before = snapshot()
    assert len(before[0]) == 3 and len(before[1]) == 2
    migrate(command.downgrade, "0200_community")  # the books as they were before the revision
    with county.engine.connect() as conn:
        assert "reversed_by_entry_id" not in {c["name"] for c in inspect(conn).get_columns("lease_charge")}
    migrate(command.upgrade, "heads")
    assert snapshot() == before
    assert_tied(county.engine, org)
    [march] = [v for v in vouchers(county.engine, org) if v.memo == "计提2025-03租金"]
    with write_tx(county.engine) as conn:
        from ledger.books.posting import reverse_entry

        reverse_entry(conn, march.id, entry_date=date(2025, 3, 31))
    assert accrue(county.engine, org, "2025-03").posted == 1
    assert_tied(county.engine, org)


def test_a_bulk_accrual_run_leaves_the_planner_statistics_of_its_charges_fresh(
    county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    org = county.ids["dingzikou"]
    contract(county.engine, org)
    monkeypatch.setattr(leases, "ANALYZE_AFTER", 12)
    assert accrue(county.engine, org, "2025-12").posted == 12
    if county.engine.dialect.name == "postgresql":  # SQLite plans without them
        with read_tx(county.engine) as conn:
            analysed = conn.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = 'lease_charge'")
            ).scalar_one()
        assert analysed == 12


def test_reversing_a_rent_receipt_through_the_api_reopens_what_it_paid(
    county: County, client: object
) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    org = county.ids["dingzikou"]
    cid = contract(county.engine, org)
    accrue(county.engine, org, "2025-03")
    on = date(2025, 3, 9)
    with write_tx(county.engine) as conn:  # 2500.00 keyed in for 250.00; then the 1000.00 that came
        wrong = receipts.receive_rent(conn, org, lessee="张三", amount_fen=250_000, received_on=on)
        receipts.receive_rent(conn, org, lessee="张三", amount_fen=100_000, received_on=on)
        assert receipts.open_charges(conn, org) == []  # and 500.00 of credit
    r = client.post(
        f"/api/v1/orgs/{org}/entries/{wrong.entry_id}/reverse",
        json={"date": "2025-03-31"},
        headers=county.auth("officer"),
    )
    assert r.status_code == 201, r.text
    assert_tied(county.engine, org)
    assert verify_cli(county.engine)[0] == 0
    with read_tx(
        county.engine
    ) as conn:  # what the wrong receipt paid is owed again; the credit pays the oldest
        assert [(c.period, c.open_fen) for c in receipts.open_charges(conn, org)] == [
            ("2025-01", 50_000),
            ("2025-02", 100_000),
            ("2025-03", 50_000),
        ]
        assert leases.contract_balances(conn, [cid])[cid] == (300_000, 100_000)
        assert receipts.credit_pools(conn, [org]) == {}
    assert balances(county.engine, org, "2025-03")["112"] == 200_000


def test_reversing_a_deposit_applied_to_arrears_gives_the_deposit_back(county: County) -> None:
    from ledger.books.posting import reverse_entry

    org = county.ids["dingzikou"]
    cid = contract(county.engine, org)
    with write_tx(county.engine) as conn:
        receipts.receive_deposit(conn, org, cid, amount_fen=150_000, on=date(2025, 1, 2))
    accrue(county.engine, org, "2025-02")
    with write_tx(county.engine) as conn:
        assert receipts.apply_deposit_to_arrears(conn, org, cid, on=date(2025, 2, 28)) == 150_000
        applied = conn.execute(select(entry_t.c.id).order_by(entry_t.c.id.desc())).scalars().first()
        assert receipts.deposit_held(conn, cid) == 0
    with write_tx(county.engine) as conn:
        reverse_entry(conn, applied, entry_date=date(2025, 2, 28))
    with read_tx(county.engine) as conn:
        assert receipts.deposit_held(conn, cid) == 150_000
        assert sum(c.open_fen for c in receipts.open_charges(conn, org)) == 200_000
    assert balances(county.engine, org, "2025-02")["21101"] == -150_000
    assert_tied(county.engine, org)


def test_terms_spelt_by_a_door_are_the_same_request_as_the_terms_they_read_to() -> None:
    """The API hands a contract's terms to the service still spelt (read after the scope check); a key
    stored when the route read them first is the same request, and so replays."""
    actor = system_actor("test")
    spelt = SpeltTerms(date(2025, 1, 15), date(2026, 1, 14), 100_000, cycle="quarterly", timing="arrears")
    read = LeaseTerms(
        date(2025, 1, 15), date(2026, 1, 14), 100_000, BillingCycle.QUARTERLY, BillingTiming.ARREARS
    )
    assert spelt.read() == read
    asked = {"code": "HT-1", "mode": "lease", "lessee": "李四"}
    one = add_contract(actor, 7, terms=spelt, **asked)
    two = add_contract(actor, 7, terms=read, **asked)
    assert request_hash(one.action, one.request) == request_hash(two.action, two.request)
