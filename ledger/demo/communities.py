"""The communities' year in the demo: work funds, leases of idle assets, brokerage deals, public-welfare
posts and facilities, year-end close and the members' distribution — through the community services.

Each community's share of the published collective income (501 + 502) is met exactly: its dividends from
the joint company are what the company's plan posted; its brokerage deals are sized to its share of the
published brokerage income; its last lease contract (a yearly one) is sized so that the rent it recognises
in the year brings 501 + 502 to the community's share.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Connection, Engine, select

from ledger.access import bookkeeping
from ledger.access.service import perform
from ledger.books.money import split_tax_inclusive
from ledger.books.periods import open_months_before, period_bounds
from ledger.books.posting import Draft, Line, post_entry
from ledger.books.trial_balance import trial_balance
from ledger.community.assets import NewAsset, create_asset
from ledger.community.brokerage import Deal, receive_fee, record_deal
from ledger.community.leases.contracts import NewContract, accrue_leases, create_contract
from ledger.community.leases.receipts import receive_deposit, receive_rent
from ledger.community.leases.schedule import BillingCycle, BillingTiming, LeaseTerms, rent_schedule
from ledger.community.models import CommunityAsset, WelfarePost
from ledger.community.subsidies import receive_subsidy
from ledger.community.welfare import NewPost, create_post, facility_spending, pay_stipend, run_stipends
from ledger.db.engine import write_tx
from ledger.demo.plans import distribute
from ledger.demo.targets import BROKERAGE_FEN, COLLECTIVE_INCOME_FEN, WORK_FUNDS_MIN_FEN, split
from ledger.demo.tree import DemoTree, officer_of
from ledger.distribution.execute import add_member
from ledger.distribution.plans import Step
from ledger.distribution.vat import post_vat_exemption
from ledger.distribution.yearend import close_year, year_months

DEAL_KINDS = ("house_lease", "labour", "produce", "house_lease")  # 房屋租赁居间, 劳务用工, 农产品购销
asset_t = CommunityAsset.__table__
post_t = WelfarePost.__table__
POSTS = (("保洁员", 120_000), ("护路员", 100_000), ("治安巡逻员", 110_000))


@dataclass
class CommunityYear:
    notes: list[str] = field(default_factory=list)


def _year_sum(conn: Connection, org: int, prefix: str, year: int) -> int:
    """Credit turnover less debits of the year on accounts under ``prefix`` (income positive)."""
    rows = trial_balance(conn, org, f"{year}-01", f"{year}-12")
    return sum(r.credit_fen - r.debit_fen for r in rows if r.is_leaf and r.code.startswith(prefix))


def _gross_for_net(net: int, rate_bp: int) -> int:
    """The tax-inclusive amount whose net (round half up) is exactly ``net``."""
    gross = net + net * rate_bp // 10_000
    while split_tax_inclusive(gross, rate_bp)[0] < net:
        gross += 1
    while split_tax_inclusive(gross, rate_bp)[0] > net:
        gross -= 1
    return gross


def _recognised_net(terms: LeaseTerms, year: int) -> int:
    return sum(line.net_fen for line in rent_schedule(terms) if line.period.startswith(f"{year}-"))


def _yearly_rent_for(net_target: int, year: int) -> LeaseTerms:
    """A yearly contract from 1 January whose rent recognised in ``year`` nets exactly ``net_target``."""

    def terms(rent: int) -> LeaseTerms:
        return LeaseTerms(
            start=date(year, 1, 1),
            end=date(year + 2, 12, 31),
            rent_per_cycle_fen=rent,
            cycle=BillingCycle.YEARLY,
            timing=BillingTiming.ADVANCE,
        )

    rent = net_target + net_target * 500 // 10_000
    while _recognised_net(terms(rent), year) < net_target:
        rent += 1
    while _recognised_net(terms(rent), year) > net_target:
        rent -= 1
    assert _recognised_net(terms(rent), year) == net_target
    return terms(rent)


LIGHT_YEAR = 60  # the year before the published one: its brokerage, % of the published year's share


def run_communities(
    engine: Engine,
    tree: DemoTree,
    year: int,
    seed: int,
    say: Callable[[str], None],
    *,
    published: bool,
    first: bool,
) -> CommunityYear:
    """The communities' ``year``: the ``first`` opens their books; the ``published`` one meets the shares
    of the published figures; the year before it is an ordinary year that reaches no figure in particular."""
    rng = random.Random(seed + 1 if published else seed + 101)
    out = CommunityYear()
    communities = tree.all_communities
    income_targets = split(COLLECTIVE_INCOME_FEN, [rng.randint(90, 110) for _ in communities])
    brokerage_targets = split(BROKERAGE_FEN, [rng.randint(90, 110) for _ in communities])
    for n, (org, income, brokerage) in enumerate(
        zip(communities, income_targets, brokerage_targets, strict=True)
    ):
        if n % 9 == 0:
            say(f"communities {year}: {n + 1}–{min(n + 9, len(communities))} of {len(communities)}")
        with write_tx(engine) as conn:
            if first:
                _open_books(conn, org, n, year, rng)
            if published:
                _community_year(conn, org, n, year, income, brokerage, rng)
            else:
                _light_year(conn, org, n, year, brokerage * LIGHT_YEAR // 100, rng)
            _welfare_year(conn, org, n, year, rng)
    out.notes.append(
        f"communities {year}: {len(communities)} with leases, brokerage, work funds and welfare posts"
    )
    return out


def _open_books(conn: Connection, org: int, n: int, year: int, rng: random.Random) -> None:
    """The collective's funds brought into the new books (期初建账), as the opening balance: a voucher dated
    the last day before the books' first year (so that year's 年初数 shows them); its stake in the joint
    company and the years' spending come out of them. Its public-welfare posts, its members and its yard."""
    post_entry(
        conn,
        Draft(
            org,
            date(year - 1, 12, 31),
            "期初余额：银行存款",
            [Line("102", debit_fen=60_000_000), Line("301", credit_fen=60_000_000)],
            idempotency_key="demo-opening",
        ),
    )
    for i, (name, stipend) in enumerate(POSTS[: 2 + n % 2]):
        create_post(
            conn,
            org,
            NewPost(
                post=name,
                holder=f"公益岗{n + 1}-{i + 1}",
                monthly_stipend_fen=stipend,
                start=date(year, 1, 1),
            ),
        )
    for group in range(1, 6):
        add_member(conn, org, member=f"第{group}居民小组", shares=rng.randint(80, 160))
    create_asset(
        conn,
        org,
        NewAsset(
            kind="场地",
            name=f"集体场地{n + 1}号",
            location="社区东侧",
            area_milli_m2=rng.randint(300, 900) * 1000,
            ownership="collective",
            book_value_fen=rng.randint(10, 40) * 1_000_000,
        ),
    )


def _yard(conn: Connection, org: int, n: int) -> int:
    return conn.execute(
        select(asset_t.c.id).where(asset_t.c.org_id == org, asset_t.c.name == f"集体场地{n + 1}号")
    ).scalar_one()


def _let_yard(conn: Connection, org: int, n: int, year: int, terms: LeaseTerms) -> None:
    """The community's yard let for ``year`` under a 承包 contract on ``terms``."""
    create_contract(
        conn,
        org,
        NewContract(
            code=f"CB-{year}-{n + 1:02d}B",
            mode="contract",
            terms=terms,
            lessee=f"承包户{n + 1}号",
            asset_ids=[_yard(conn, org, n)],
        ),
    )


def _accrue_and_collect_yard_rent(conn: Connection, org: int, n: int, year: int, terms: LeaseTerms) -> None:
    """The year's rent accrued, and the yard's yearly rent (paid in advance) received on 5 January."""
    accrue_leases(conn, [org], f"{year}-12")
    receive_rent(
        conn,
        org,
        amount_fen=terms.rent_per_cycle_fen,
        received_on=date(year, 1, 5),
        lessee=f"承包户{n + 1}号",
        idempotency_key=f"demo-yard-rent-{year}",
    )


def _funds_and_deals(
    conn: Connection, org: int, n: int, year: int, brokerage: int, weights: list[int], rng: random.Random
) -> None:
    """The year's 工作经费, and brokerage deals whose net fees add up to ``brokerage`` exactly."""
    subsidy = WORK_FUNDS_MIN_FEN + rng.randint(0, 50) * 100_000
    receive_subsidy(
        conn,
        org,
        source="工作经费",
        grantor="县财政局",
        amount_fen=subsidy,
        received_on=date(year, 1, 10),
        idempotency_key=f"demo-funds-{year}",
    )
    last = len(weights) - 1
    for k, net in enumerate(split(brokerage, weights)):
        fee = _gross_for_net(net, 100)
        paid = k != last
        deal = record_deal(
            conn,
            org,
            Deal(
                client=f"委托方{n + 1}-{year}-{k + 1}",
                kind=DEAL_KINDS[(n + k) % len(DEAL_KINDS)],
                earned_on=date(year, 3 + 3 * k, 10 + k),
                deal_value_fen=fee * 20,
                commission_fen=fee,
                vat_rate_bp=100,
                other_party=f"相对方{n + 1}-{year}-{k + 1}",
                paid_at_once=paid,
            ),
            idempotency_key=f"demo-deal-{year}-{k}",
        )
        if not paid and n % 4:
            receive_fee(
                conn,
                org,
                deal,
                amount_fen=fee,
                received_on=date(year, 11, 20),
                idempotency_key=f"demo-fee-{year}-{k}",
            )


def _light_year(conn: Connection, org: int, n: int, year: int, brokerage: int, rng: random.Random) -> None:
    """The year before the published one: work funds, two brokerage deals, the yard let for the year."""
    _funds_and_deals(conn, org, n, year, brokerage, [3, 2], rng)
    terms = LeaseTerms(
        start=date(year, 1, 1),
        end=date(year, 12, 31),
        rent_per_cycle_fen=rng.randint(200, 300) * 10_000,
        cycle=BillingCycle.YEARLY,
        timing=BillingTiming.ADVANCE,
    )
    _let_yard(conn, org, n, year, terms)
    _accrue_and_collect_yard_rent(conn, org, n, year, terms)


def _welfare_year(conn: Connection, org: int, n: int, year: int, rng: random.Random) -> None:
    """The public-welfare posts' stipends, accrued and paid monthly, and a facility repair."""
    posts = list(
        conn.execute(select(post_t.c.id).where(post_t.c.org_id == org).order_by(post_t.c.id)).scalars()
    )
    for month in range(1, 13):
        period = f"{year}-{month:02d}"
        run_stipends(conn, [org], period)
        for post in posts:
            pay_stipend(
                conn,
                org,
                post,
                paid_on=period_bounds(period)[1],
                idempotency_key=f"demo-stipend-{post}-{period}",
            )
    facility_spending(
        conn,
        org,
        amount_fen=rng.randint(20, 80) * 10_000,
        spent_on=date(year, 8, 15),
        memo="社区路灯维修",
        idempotency_key=f"demo-facility-{year}",
    )


def _community_year(
    conn: Connection, org: int, n: int, year: int, income: int, brokerage: int, rng: random.Random
) -> None:
    """The published year: work funds, three brokerage deals to the community's share of the published
    brokerage, a shopfront let from the spring, and the yard let anew by the year, sized so that 501 + 502
    meets the community's share of the published collective income."""
    _funds_and_deals(conn, org, n, year, brokerage, [5, 3, 2], rng)
    # Leases: a shopfront let from a date in the spring (prorated, an escalation, a deposit) …
    shop = create_asset(
        conn,
        org,
        NewAsset(
            kind="门面",
            name=f"临街门面{n + 1}号",
            location="社区主街",
            area_milli_m2=rng.randint(40, 120) * 1000,
            ownership="state_entrusted",
            entrusting_body="县国有资产管理中心",
            book_value_fen=rng.randint(20, 60) * 1_000_000,
            certificate_no=f"沿国资托〔{year}〕{n + 1:03d}号",
        ),
    )
    start = date(year, rng.randint(2, 5), rng.randint(1, 28))
    shop_terms = LeaseTerms(
        start=start,
        end=date(year + 3, start.month, start.day) - timedelta(days=1),
        rent_per_cycle_fen=rng.randint(15, 30) * 10_000,
        cycle=BillingCycle.MONTHLY,
        timing=BillingTiming.ADVANCE,
        free_months=n % 2,
        escalation_bp=500,
        escalation_every_years=2,
    )
    shop_contract = create_contract(
        conn,
        org,
        NewContract(
            code=f"ZL-{year}-{n + 1:02d}A",
            mode="lease",
            terms=shop_terms,
            lessee=f"商户{n + 1}号",
            asset_ids=[shop],
            deposit_fen=shop_terms.rent_per_cycle_fen * 2,
        ),
    )
    receive_deposit(
        conn,
        org,
        shop_contract,
        amount_fen=shop_terms.rent_per_cycle_fen * 2,
        on=start,
        idempotency_key="demo-deposit",
    )
    # … and a yard let by the year, sized so that 501 + 502 meets the community's share.
    dividends = _year_sum(conn, org, "502", year)
    shop_net = _recognised_net(shop_terms, year)
    yard_net = income - brokerage - dividends - shop_net
    if yard_net <= 0:
        raise RuntimeError(f"community {org}: the income share leaves nothing for the yard lease")
    yard_terms = _yearly_rent_for(yard_net, year)
    _let_yard(conn, org, n, year, yard_terms)
    if n % 3 == 0:  # … and, in every third community, a warehouse still waiting for a tenant (闲置资产)
        create_asset(
            conn,
            org,
            NewAsset(
                kind="仓库",
                name=f"原供销社仓库{n + 1}号",
                location="社区西侧",
                area_milli_m2=(200 + 10 * n) * 1000,
                ownership="state_entrusted",
                entrusting_body="县供销合作社联合社",
                book_value_fen=(150_000 + 5_000 * n) * 100,
                certificate_no=f"沿国资托〔{year}〕{n + 101:03d}号",
            ),
        )
    _accrue_and_collect_yard_rent(conn, org, n, year, yard_terms)
    shop_lines = [
        ln for ln in rent_schedule(shop_terms) if ln.period.startswith(f"{year}-") and ln.amount_fen
    ]
    paying = shop_lines if n % 5 else shop_lines[:-3]  # every fifth shopkeeper falls behind in the autumn
    for k, line in enumerate(paying):
        receive_rent(
            conn,
            org,
            amount_fen=line.amount_fen,
            received_on=line.due_date,
            lessee=f"商户{n + 1}号",
            idempotency_key=f"demo-shop-rent-{k}",
        )

    assert _year_sum(conn, org, "501", year) + _year_sum(conn, org, "502", year) == income


def close_communities(engine: Engine, tree: DemoTree, year: int) -> None:
    """The quarters' VAT declared (each within the small-scale threshold: the accrued 214 moves to 504 其他
    收入, as ``ledger.distribution.vat`` books it), the year-end close and the members' assembly's plan:
    公积公益金, the two earmarks, the members."""
    for street in tree.communities:
        with write_tx(engine) as conn:
            for org in tree.communities[street]:
                for quarter in range(1, 5):  # 小规模纳税人: a quarter within the threshold owes no VAT
                    post_vat_exemption(conn, org, year, quarter)
                close_year(conn, org, year)
                distribute(
                    conn,
                    org,
                    year,
                    [
                        Step("public_reserve", rate_bp=1_000),
                        Step("welfare_post_earmark", rate_bp=1_000),
                        Step("facility_earmark", rate_bp=500),
                        Step("members", rate_bp=3_000),
                    ],
                    approving_body="成员大会",
                    document_no=f"成员大会决议〔{year}〕1号",
                )


def close_villages(engine: Engine, tree: DemoTree, year: int, *, first: bool) -> None:
    """The villages' year: their produce sold to the joint companies and their dividends closed into 本年收益,
    and the members' assembly's plan: 公积公益金 and the village groups' share."""
    with write_tx(engine) as conn:
        for village in (v for ids in tree.villages.values() for v in ids):
            if first:
                for group in range(1, 5):
                    add_member(conn, village, member=f"第{group}村民小组", shares=100 + 10 * group)
            close_year(conn, village, year)
            steps = [Step("public_reserve", rate_bp=1_000), Step("members", rate_bp=4_000)]
            distribute(
                conn,
                village,
                year,
                steps,
                approving_body="成员大会",
                document_no=f"村成员大会决议〔{year}〕1号",
            )


def close_months(engine: Engine, tree: DemoTree, year: int) -> None:
    """结账 of every book of the county through ``year``, month by month, by its street's officer through the
    bookkeeping service the officer's pages and the API carry out (``ledger.access.bookkeeping``): each
    month gets its signed checkpoint (封账码) and a row in the audit log; the opening month closes with
    January."""
    with write_tx(engine) as conn:
        for street in tree.streets:
            officer = officer_of(conn, street)
            books = [*tree.communities[street], *tree.villages[street], tree.companies[street]]
            for org in books:
                earlier = open_months_before(conn, org, f"{year}-01")
                for month in year_months(year):
                    perform(
                        conn,
                        officer,
                        bookkeeping.close_period(officer, org, month, including=earlier),
                        key=f"demo-close-{org}-{month}",
                        remote_addr=None,
                    )
                    earlier = []
