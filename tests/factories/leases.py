"""The rent pages' books: contracts at 丁字口 and 花花桥 accrued through April 2026 (``seed_leases``), and
what a test reads back (rows of a table, an org's 112 receivable)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ledger.books.trial_balance import trial_balance
from ledger.community import assets
from ledger.community.leases import contracts as leases
from ledger.community.leases.schedule import LeaseTerms
from ledger.community.models import LeaseReceipt
from ledger.db.engine import read_tx, write_tx
from tests.factories.county import County

AS_OF = "2026-04-30"  # the accrual voucher is dated the month's last day: as of means as of


receipt_t = LeaseReceipt.__table__


def seed_leases(county: County) -> None:
    """丁字口社区: 张三 rents at 1,000.00 a month from July 2025, 李四 at 2,500.00 from October 2025 to the
    end of May 2026 (so it ends within 90 days of 15 April); 花花桥社区: 王五 at 800.00 from January 2026;
    an idle shopfront at 丁字口. Rent is due on the first of each month (billed in advance)."""
    with write_tx(county.engine) as conn:
        ding, hua = county.ids["dingzikou"], county.ids["huahuaqiao"]
        for org, code, lessee, terms in (
            (ding, "HT-1", "张三", LeaseTerms(date(2025, 7, 1), date(2027, 6, 30), 100_000)),
            (ding, "HT-2", "李四", LeaseTerms(date(2025, 10, 1), date(2026, 5, 31), 250_000)),
            (hua, "HT-9", "王五", LeaseTerms(date(2026, 1, 1), date(2027, 12, 31), 80_000)),
        ):
            leases.create_contract(
                conn, org, leases.NewContract(code=code, mode="lease", lessee=lessee, terms=terms)
            )
        assets.create_asset(
            conn,
            ding,
            assets.NewAsset(kind="门面", name="沿河路12号门面", location="沿河路12号", area_milli_m2=45_500),
        )


def count(county: County, table) -> int:  # type: ignore[no-untyped-def]
    with read_tx(county.engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def receivable(county: County, org: str, period: str = "2026-04") -> int:
    """The 112 应收款 closing balance of the org, from the trial balance."""
    with read_tx(county.engine) as conn:
        return next(r.closing_fen for r in trial_balance(conn, county.ids[org], period) if r.code == "112")
