"""A community distributes its 2025 income (收益分配): 公积公益金, two earmarks, members, the rest kept.

丁字口社区 received ¥100,000 of work-fund subsidy and spent ¥20,000 on administration: ¥80,000 of income.
Its 成员大会 resolved: 10 % 公积公益金, 20 % for 公益性岗位, ¥5,000 for 公益设施, and 55 % of what is left to
the members by their shares 7 : 5 : 4.
"""

from __future__ import annotations

from datetime import date

import pytest

from ledger.books.errors import ValidationError
from ledger.books.verify import verify_org
from ledger.community import welfare
from ledger.db.engine import read_tx, write_tx
from ledger.distribution import execute as ex
from ledger.distribution import welfare_funds
from ledger.distribution.plans import PlanRefused, Step
from ledger.distribution.yearend import close_year
from tests.factories.county import County
from tests.factories.distribution import COMMUNITY_PLAN, YUAN, approved_plan, balance, book, community_year


def test_community_dry_run_to_the_fen(county: County) -> None:
    community_year(county)
    plan_id = approved_plan(county)
    with read_tx(county.engine) as conn:
        run = ex.dry_run_plan(conn, plan_id)
    assert [(line.kind, line.amount_fen) for line in run.lines] == [
        ("cover_losses", 0),
        ("public_reserve", 8_000 * YUAN),
        ("welfare_post_earmark", 16_000 * YUAN),
        ("facility_earmark", 5_000 * YUAN),
        ("members", 2_805_000),  # 55 % of the ¥51,000 left
    ]
    # 2,805,000 × 7/16, 5/16, 4/16 = 1,227,187.5 / 876,562.5 / 701,250: the tie goes to the earlier member
    assert [s.amount_fen for s in run.lines[-1].shares] == [1_227_188, 876_562, 701_250]
    assert run.undistributed_fen == 2_295_000


def test_community_execution_books_reserve_earmarks_and_members(county: County) -> None:
    members = community_year(county)
    plan_id = approved_plan(county)
    dz = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        done = ex.execute_plan(conn, plan_id)
    assert len(done.entries) == 2  # the distribution and the transfer to 未分配收益: no shareholders
    with read_tx(county.engine) as conn:
        assert balance(conn, dz, "31101") == 8_000 * YUAN
        assert balance(conn, dz, "31102") == 16_000 * YUAN
        assert balance(conn, dz, "31103") == 5_000 * YUAN
        assert balance(conn, dz, "21102") == 2_805_000
        assert balance(conn, dz, "32201") == 0
        assert balance(conn, dz, "32202") == 2_295_000
        rows = ex.execution_parts(conn, plan_id)
        member_cps = {
            r.counterparty_id: r.amount_fen for r in rows if r.kind == "members" and r.counterparty_id
        }
        assert sorted(member_cps.values()) == [701_250, 876_562, 1_227_188]
        assert len(members) == 3
        assert verify_org(conn, dz) == []


def test_collective_plan_must_take_the_public_reserve_first(county: County) -> None:
    community_year(county)
    with write_tx(county.engine) as conn:
        plan_id = ex.create_plan(conn, county.ids["dingzikou"], 2025, [Step("members", rate_bp=5_000)])
        with pytest.raises(PlanRefused, match="公积公益金 must be taken"):
            ex.dry_run_plan(conn, plan_id)


def test_collective_plan_cannot_use_company_steps_or_the_wrong_body(county: County) -> None:
    community_year(county)
    with write_tx(county.engine) as conn:
        with pytest.raises(PlanRefused, match="not a step of a collective plan"):
            ex.create_plan(conn, county.ids["dingzikou"], 2025, [Step("statutory_reserve", rate_bp=1_000)])
        plan_id = ex.create_plan(conn, county.ids["dingzikou"], 2025, COMMUNITY_PLAN)
        with pytest.raises(ValidationError, match="成员大会 or 成员代表大会"):
            ex.approve_plan(
                conn, plan_id, approving_body="股东会", resolution_date=date(2025, 12, 1), document_no="1"
            )


def test_earmarks_beyond_the_income_are_refused(county: County) -> None:
    community_year(county)
    with write_tx(county.engine) as conn:
        plan_id = ex.create_plan(
            conn,
            county.ids["dingzikou"],
            2025,
            [Step("public_reserve", rate_bp=1_000), Step("welfare_post_earmark", amount_fen=75_000 * YUAN)],
        )
        with pytest.raises(PlanRefused, match="only 8000000 fen is distributable"):
            ex.dry_run_plan(conn, plan_id)


def test_a_post_is_funded_from_two_years_earmarks(county: County) -> None:
    community_year(county)
    dz = county.ids["dingzikou"]
    plan_2025 = approved_plan(county)
    with write_tx(county.engine) as conn:
        ex.execute_plan(conn, plan_2025)
    with write_tx(county.engine) as conn:
        book(
            conn, dz, date(2026, 4, 1), "工作经费", ("102", "Dr", 10_000 * YUAN), ("503", "Cr", 10_000 * YUAN)
        )
        close_year(conn, dz, 2026)
        plan_2026 = ex.create_plan(
            conn,
            dz,
            2026,
            [Step("public_reserve", rate_bp=1_000), Step("welfare_post_earmark", amount_fen=1_000 * YUAN)],
        )
        ex.approve_plan(
            conn,
            plan_2026,
            approving_body="成员代表大会",
            resolution_date=date(2026, 12, 30),
            document_no="2026-1",
        )
        ex.execute_plan(conn, plan_2026)
        post_id = welfare.create_post(
            conn,
            dz,
            welfare.NewPost(
                post="保洁员", holder="李四", monthly_stipend_fen=17_000 * YUAN // 12, start=date(2027, 1, 1)
            ),
        )
        welfare.run_stipends(conn, [dz], "2027-12")
        welfare_funds.apply_earmark(
            conn,
            dz,
            welfare_funds.EarmarkUse(
                kind="post",
                earmark_year=2025,
                amount_fen=16_000 * YUAN,
                on=date(2027, 12, 31),
                post_id=post_id,
            ),
        )
        welfare_funds.apply_earmark(
            conn,
            dz,
            welfare_funds.EarmarkUse(
                kind="post", earmark_year=2026, amount_fen=500 * YUAN, on=date(2027, 12, 31), post_id=post_id
            ),
        )
        with pytest.raises(ValidationError, match="the 2025 earmark for posts has 0 fen left"):
            welfare_funds.apply_earmark(
                conn,
                dz,
                welfare_funds.EarmarkUse(
                    kind="post", earmark_year=2025, amount_fen=1, on=date(2027, 12, 31), post_id=post_id
                ),
            )
        report = welfare_funds.funds_report(conn, dz, 2027)
    posts = {(e.year, e.kind): (e.earmarked_fen, e.applied_fen, e.remaining_fen) for e in report.earmarks}
    assert posts[(2025, "post")] == (16_000 * YUAN, 16_000 * YUAN, 0)
    assert posts[(2026, "post")] == (1_000 * YUAN, 500 * YUAN, 500 * YUAN)
    assert posts[(2025, "facility")] == (5_000 * YUAN, 0, 5_000 * YUAN)
    [post] = report.posts
    assert post.funded_from == {2025: 16_000 * YUAN, 2026: 500 * YUAN}
    assert post.stipends_fen == 12 * (17_000 * YUAN // 12)
    with read_tx(county.engine) as conn:
        assert balance(conn, dz, "31102") == 500 * YUAN
        assert balance(conn, dz, "32203") == 16_500 * YUAN  # 其他转入 of 2027
        assert verify_org(conn, dz) == []
