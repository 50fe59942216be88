"""Lease rent schedules: worked examples to the fen, aging buckets, validation, and properties."""

from __future__ import annotations

import calendar
import itertools
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.books.errors import ValidationError
from ledger.books.money import allocate_largest_remainder
from ledger.community.leases.schedule import (
    AGING_BUCKETS,
    BillingCycle,
    BillingTiming,
    LeaseTerms,
    ScheduleLine,
    aging_bucket,
    effective_end,
    lease_terms_problems,
    rent_schedule,
    validate_terms,
)

MONTHLY_1000 = 100_000  # 1000.00 yuan a month, in fen


def amounts(lines: list[ScheduleLine]) -> list[int]:
    return [line.amount_fen for line in lines]


def total(lines: list[ScheduleLine]) -> int:
    return sum(line.amount_fen for line in lines)


def add_months(day: date, months: int) -> date:
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month_index + 1)[1]
    return date(year, month_index + 1, min(day.day, last))


# --- worked examples --------------------------------------------------------------------------------------


def test_full_year_monthly_lease_sums_to_twelve_months() -> None:
    lines = rent_schedule(LeaseTerms(date(2025, 1, 15), date(2026, 1, 14), MONTHLY_1000))

    assert [line.period for line in lines] == [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01"]
    assert lines[0].days == 17 and lines[0].amount_fen == 54_839  # 1000.00 × 17/31 = 548.387…
    assert amounts(lines[1:12]) == [MONTHLY_1000] * 11
    assert lines[-1].days == 14 and lines[-1].amount_fen == 45_161  # the rest of the twelfth month
    assert total(lines) == 12 * MONTHLY_1000


def test_full_year_across_a_leap_day_still_sums_to_twelve_months() -> None:
    lines = rent_schedule(LeaseTerms(date(2024, 2, 15), date(2025, 2, 14), MONTHLY_1000))

    assert lines[0].amount_fen == 51_724  # 15/29 of February 2024
    assert lines[-1].amount_fen == 48_276  # first and last partial months make one month
    assert total(lines) == 12 * MONTHLY_1000


def test_partial_first_month_is_prorated_by_days() -> None:
    # round_half_up(monthly rent × contract days in the month, days in the month)
    lines = rent_schedule(LeaseTerms(date(2025, 1, 15), date(2025, 12, 31), MONTHLY_1000))
    assert (lines[0].period, lines[0].days, lines[0].amount_fen) == ("2025-01", 17, 54_839)

    lines = rent_schedule(LeaseTerms(date(2025, 4, 10), date(2025, 12, 31), 90_000))
    assert (lines[0].period, lines[0].days, lines[0].amount_fen) == ("2025-04", 21, 63_000)  # 900 × 21/30


def test_partial_last_month_of_a_lease_starting_on_the_first_is_prorated_by_days() -> None:
    lines = rent_schedule(LeaseTerms(date(2025, 1, 1), date(2025, 6, 10), MONTHLY_1000))

    assert amounts(lines) == [MONTHLY_1000] * 5 + [33_333]  # 1000.00 × 10/30 = 333.333…
    assert lines[-1].days == 10


def test_mid_month_start_first_and_last_partial_months_make_one_month() -> None:
    # Five contract months: 15 Jan – 14 Jun. June is what the fifth month has left, not 14/30 of a month.
    lines = rent_schedule(LeaseTerms(date(2025, 1, 15), date(2025, 6, 14), MONTHLY_1000))

    assert amounts(lines) == [54_839, MONTHLY_1000, MONTHLY_1000, MONTHLY_1000, MONTHLY_1000, 45_161]
    assert total(lines) == 5 * MONTHLY_1000


def test_lease_ending_part_way_through_a_contract_month_is_prorated_by_calendar_days() -> None:
    # 15 Mar – 20 Apr is not a whole number of contract months: both ends are prorated like the first.
    lines = rent_schedule(LeaseTerms(date(2025, 3, 15), date(2025, 4, 20), MONTHLY_1000))

    assert amounts(lines) == [54_839, 66_667]  # 17/31 and 20/30 of 1000.00


def test_month_end_start_keeps_month_end_anniversaries() -> None:
    # Contract months begin 31 Jan, 28 Feb, 31 Mar, 30 Apr; the last ends on 30 May.
    lines = rent_schedule(LeaseTerms(date(2025, 1, 31), date(2025, 5, 30), MONTHLY_1000))

    assert amounts(lines) == [3_226, MONTHLY_1000, MONTHLY_1000, MONTHLY_1000, 96_774]
    assert [line.due_date for line in lines] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 4, 30),  # 1–30 May all belong to the contract month that began 30 Apr
    ]


def test_rent_free_months_charge_nothing() -> None:
    lines = rent_schedule(LeaseTerms(date(2025, 1, 1), date(2025, 12, 31), MONTHLY_1000, free_months=3))

    assert [line.free for line in lines] == [True] * 3 + [False] * 9
    assert amounts(lines) == [0, 0, 0] + [MONTHLY_1000] * 9
    assert all(line.net_fen == line.tax_fen == 0 for line in lines[:3])
    assert total(lines) == 9 * MONTHLY_1000


def test_free_period_ending_mid_month_prorates_the_month() -> None:
    # Free 15 Mar – 14 May; May charges 15–31 May: 1000.00 × 17/31.
    lines = rent_schedule(LeaseTerms(date(2025, 3, 15), date(2026, 3, 14), MONTHLY_1000, free_months=2))

    assert [(line.period, line.amount_fen, line.free) for line in lines[:4]] == [
        ("2025-03", 0, True),
        ("2025-04", 0, True),
        ("2025-05", 54_839, False),
        ("2025-06", MONTHLY_1000, False),
    ]
    assert total(lines) == 10 * MONTHLY_1000


def test_escalation_every_two_years_compounds() -> None:
    # 1000.07 a month, +5 % every two years, rounded to the fen at each step:
    # 1000.07 → 1050.07 (1050.0735) → 1102.57 (1102.5735) → 1157.70 (1157.6985).
    # Compounding without the rounding would give 1000.07 × 1.05³ = 1157.71.
    terms = LeaseTerms(
        date(2025, 1, 1), date(2032, 12, 31), 100_007, escalation_bp=500, escalation_every_years=2
    )
    lines = rent_schedule(terms)

    assert amounts(lines) == [100_007] * 24 + [105_007] * 24 + [110_257] * 24 + [115_770] * 24
    assert lines[24].period == "2027-01"


def test_escalation_anniversary_mid_month_prorates_old_and_new_rent() -> None:
    terms = LeaseTerms(
        date(2025, 3, 15), date(2027, 3, 14), MONTHLY_1000, escalation_bp=500, escalation_every_years=1
    )
    by_period = {line.period: line.amount_fen for line in rent_schedule(terms)}

    assert by_period["2026-02"] == MONTHLY_1000
    assert by_period["2026-03"] == 102_742  # (1000.00 × 14 + 1050.00 × 17) / 31 = 1027.419…
    assert by_period["2026-04"] == 105_000
    assert sum(by_period.values()) == 12 * MONTHLY_1000 + 12 * 105_000


def test_quarterly_rent_is_split_over_its_months_by_largest_remainder() -> None:
    lines = rent_schedule(
        LeaseTerms(date(2025, 1, 1), date(2025, 6, 30), MONTHLY_1000, cycle=BillingCycle.QUARTERLY)
    )

    assert amounts(lines) == [33_334, 33_333, 33_333] * 2
    assert total(lines) == 2 * MONTHLY_1000


def test_quarterly_in_advance_due_dates() -> None:
    # Cycles are anchored at the start: Feb–Apr, May–Jul, Aug–Oct, Nov–Jan.
    terms = LeaseTerms(
        date(2025, 2, 1),
        date(2026, 1, 31),
        300_000,
        cycle=BillingCycle.QUARTERLY,
        timing=BillingTiming.ADVANCE,
    )
    lines = rent_schedule(terms)

    assert [line.period for line in lines][0::3] == ["2025-02", "2025-05", "2025-08", "2025-11"]
    assert [line.due_date for line in lines] == (
        [date(2025, 2, 1)] * 3 + [date(2025, 5, 1)] * 3 + [date(2025, 8, 1)] * 3 + [date(2025, 11, 1)] * 3
    )
    assert amounts(lines) == [MONTHLY_1000] * 12


def test_quarterly_mid_month_start_month_belongs_to_the_later_cycle() -> None:
    # Cycles 15 Jan – 14 Apr, 15 Apr – 14 Jul: April's rent is not due before 15 April.
    terms = LeaseTerms(date(2025, 1, 15), date(2025, 7, 14), 300_000, cycle=BillingCycle.QUARTERLY)
    due = {line.period: line.due_date for line in rent_schedule(terms)}

    assert due == {
        "2025-01": date(2025, 1, 15),
        "2025-02": date(2025, 1, 15),
        "2025-03": date(2025, 1, 15),
        "2025-04": date(2025, 4, 15),
        "2025-05": date(2025, 4, 15),
        "2025-06": date(2025, 4, 15),
        "2025-07": date(2025, 4, 15),
    }


def test_yearly_in_arrears_due_dates() -> None:
    terms = LeaseTerms(
        date(2025, 7, 1),
        date(2027, 6, 30),
        1_200_000,
        cycle=BillingCycle.YEARLY,
        timing=BillingTiming.ARREARS,
    )
    lines = rent_schedule(terms)

    assert [line.due_date for line in lines] == [date(2026, 7, 1)] * 12 + [date(2027, 7, 1)] * 12
    assert amounts(lines) == [MONTHLY_1000] * 24


def test_yearly_in_arrears_last_short_year_is_due_the_day_after_the_end() -> None:
    terms = LeaseTerms(
        date(2025, 7, 1),
        date(2027, 3, 31),
        1_200_000,
        cycle=BillingCycle.YEARLY,
        timing=BillingTiming.ARREARS,
    )
    lines = rent_schedule(terms)

    assert [line.due_date for line in lines] == [date(2026, 7, 1)] * 12 + [date(2027, 4, 1)] * 9


def test_early_termination_stops_future_months() -> None:
    terms = LeaseTerms(date(2025, 1, 1), date(2027, 12, 31), MONTHLY_1000)
    full = rent_schedule(terms)
    cut = rent_schedule(replace(terms, terminated_on=date(2025, 6, 10)))

    assert [line.period for line in cut] == [f"2025-{m:02d}" for m in range(1, 7)]
    assert cut[:5] == full[:5]  # posted months are untouched
    assert (cut[-1].days, cut[-1].amount_fen) == (10, 33_333)  # 1000.00 × 10/30
    assert total(cut) == 5 * MONTHLY_1000 + 33_333


def test_early_termination_in_arrears_brings_the_cycle_due_date_forward() -> None:
    terms = LeaseTerms(
        date(2025, 1, 1),
        date(2025, 12, 31),
        300_000,
        cycle=BillingCycle.QUARTERLY,
        timing=BillingTiming.ARREARS,
        terminated_on=date(2025, 5, 20),
    )
    lines = rent_schedule(terms)

    assert [line.due_date for line in lines] == [date(2025, 4, 1)] * 3 + [date(2025, 5, 21)] * 2
    assert amounts(lines) == [MONTHLY_1000] * 4 + [64_516]  # 1000.00 × 20/31


def test_termination_mid_contract_month_prorates_its_month_by_calendar_days() -> None:
    terms = LeaseTerms(date(2025, 1, 15), date(2026, 1, 14), MONTHLY_1000, terminated_on=date(2025, 6, 10))
    lines = rent_schedule(terms)

    assert (lines[-1].period, lines[-1].days, lines[-1].amount_fen) == ("2025-06", 10, 33_333)
    assert total(lines) == 54_839 + 4 * MONTHLY_1000 + 33_333


def test_termination_on_the_eve_of_an_anniversary_closes_whole_contract_months() -> None:
    terms = LeaseTerms(date(2025, 1, 15), date(2026, 1, 14), MONTHLY_1000, terminated_on=date(2025, 6, 14))
    lines = rent_schedule(terms)

    assert (lines[-1].period, lines[-1].days, lines[-1].amount_fen) == ("2025-06", 14, 45_161)
    assert total(lines) == 5 * MONTHLY_1000


def test_termination_on_the_last_day_changes_nothing() -> None:
    terms = LeaseTerms(date(2025, 1, 15), date(2026, 1, 14), MONTHLY_1000)
    assert rent_schedule(replace(terms, terminated_on=terms.end)) == rent_schedule(terms)


def test_tax_split_at_five_percent() -> None:
    lines = rent_schedule(LeaseTerms(date(2025, 1, 15), date(2025, 3, 31), MONTHLY_1000))

    # 1000.00 / 1.05 = 952.380… → 952.38 net, 47.62 tax
    assert (lines[1].amount_fen, lines[1].net_fen, lines[1].tax_fen) == (100_000, 95_238, 4_762)
    # 548.39 / 1.05 = 522.276… → 522.28 net, 26.11 tax
    assert (lines[0].amount_fen, lines[0].net_fen, lines[0].tax_fen) == (54_839, 52_228, 2_611)


def test_tax_split_at_other_rates() -> None:
    terms = LeaseTerms(date(2025, 1, 1), date(2025, 1, 31), MONTHLY_1000, vat_rate_bp=300)
    (line,) = rent_schedule(terms)
    assert (line.net_fen, line.tax_fen) == (97_087, 2_913)  # 1000.00 / 1.03 = 970.873…

    (line,) = rent_schedule(replace(terms, vat_rate_bp=0))
    assert (line.net_fen, line.tax_fen) == (MONTHLY_1000, 0)


def test_one_day_lease() -> None:
    (line,) = rent_schedule(LeaseTerms(date(2025, 2, 10), date(2025, 2, 10), 280_000))
    assert (line.period, line.days, line.amount_fen, line.due_date) == (
        "2025-02",
        1,
        10_000,
        date(2025, 2, 10),
    )


# --- aging ------------------------------------------------------------------------------------------------

DUE = date(2025, 1, 1)


@pytest.mark.parametrize(
    ("days_past_due", "bucket"),
    [
        (-1, "current"),
        (0, "0-30"),
        (30, "0-30"),
        (31, "31-90"),
        (90, "31-90"),
        (91, "91-180"),
        (180, "91-180"),
        (181, ">180"),
        (3650, ">180"),
    ],
)
def test_aging_bucket_boundaries(days_past_due: int, bucket: str) -> None:
    assert aging_bucket(DUE, DUE + timedelta(days=days_past_due)) == bucket
    assert bucket in AGING_BUCKETS


def test_aging_on_fixed_dates() -> None:
    assert aging_bucket(date(2025, 3, 1), date(2025, 3, 31)) == "0-30"  # 30 days
    assert aging_bucket(date(2025, 3, 1), date(2025, 4, 1)) == "31-90"  # 31 days
    assert aging_bucket(date(2024, 12, 1), date(2025, 3, 1)) == "31-90"  # 90 days
    assert aging_bucket(date(2024, 12, 1), date(2025, 3, 2)) == "91-180"  # 91 days
    assert aging_bucket(date(2024, 9, 1), date(2025, 2, 28)) == "91-180"  # 180 days
    assert aging_bucket(date(2024, 9, 1), date(2025, 3, 1)) == ">180"  # 181 days


# --- validation -------------------------------------------------------------------------------------------

GOOD = LeaseTerms(date(2025, 1, 1), date(2025, 12, 31), MONTHLY_1000)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"end": date(2024, 12, 31)}, "end"),
        ({"end": date(9999, 12, 31)}, "end"),
        ({"rent_per_cycle_fen": -1}, "rent_per_cycle_fen"),
        ({"rent_per_cycle_fen": 1000.0}, "rent_per_cycle_fen"),
        ({"escalation_bp": 10_001}, "escalation_bp"),
        ({"escalation_bp": -1}, "escalation_bp"),
        ({"escalation_every_years": -1}, "escalation_every_years"),
        ({"free_months": -1}, "free_months"),
        ({"free_months": 13}, "free_months"),
        ({"vat_rate_bp": -1}, "vat_rate_bp"),
        ({"vat_rate_bp": 10_001}, "vat_rate_bp"),
        ({"terminated_on": date(2024, 12, 31)}, "terminated_on"),
        ({"terminated_on": date(2026, 1, 1)}, "terminated_on"),
        ({"cycle": "weekly"}, "cycle"),
        ({"timing": "whenever"}, "timing"),
    ],
)
def test_invalid_terms_name_the_field(changes: dict[str, object], field: str) -> None:
    terms = replace(GOOD, **changes)
    with pytest.raises(ValidationError) as raised:
        validate_terms(terms)
    assert raised.value.field == field
    assert raised.value.code == "invalid"
    with pytest.raises(ValidationError):
        rent_schedule(terms)


def test_boundary_terms_are_valid() -> None:
    validate_terms(replace(GOOD, end=GOOD.start))  # a one-day lease
    validate_terms(replace(GOOD, free_months=12, escalation_bp=10_000, vat_rate_bp=10_000))
    validate_terms(replace(GOOD, terminated_on=GOOD.start))
    validate_terms(replace(GOOD, terminated_on=GOOD.end))
    validate_terms(replace(GOOD, rent_per_cycle_fen=0))


def test_free_months_may_cover_a_short_last_contract_month() -> None:
    # 1 Jan – 10 Feb touches two contract months, so two free months is the whole term, not beyond it.
    terms = LeaseTerms(date(2025, 1, 1), date(2025, 2, 10), MONTHLY_1000, free_months=2)
    assert amounts(rent_schedule(terms)) == [0, 0]
    with pytest.raises(ValidationError) as raised:
        validate_terms(replace(terms, free_months=3))
    assert raised.value.field == "free_months"


def test_all_problems_are_reported_at_once() -> None:
    terms = replace(GOOD, rent_per_cycle_fen=-5, vat_rate_bp=20_000, escalation_every_years=-2)
    assert [problem.field for problem in lease_terms_problems(terms)] == [
        "rent_per_cycle_fen",
        "escalation_every_years",
        "vat_rate_bp",
    ]
    assert lease_terms_problems(GOOD) == []


# --- properties -------------------------------------------------------------------------------------------


@st.composite
def lease_terms(draw: st.DrawFn) -> LeaseTerms:
    start = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
    end = start + timedelta(days=draw(st.integers(min_value=0, max_value=6 * 366)))
    term_months = 0
    while add_months(start, term_months) <= end:
        term_months += 1
    terminated_on = draw(
        st.none() | st.dates(min_value=start, max_value=end),
    )
    return LeaseTerms(
        start=start,
        end=end,
        rent_per_cycle_fen=draw(st.integers(min_value=0, max_value=10**10)),
        cycle=draw(st.sampled_from(BillingCycle)),
        timing=draw(st.sampled_from(BillingTiming)),
        free_months=draw(st.integers(min_value=0, max_value=term_months)),
        escalation_bp=draw(st.integers(min_value=0, max_value=10_000)),
        escalation_every_years=draw(st.integers(min_value=0, max_value=3)),
        vat_rate_bp=draw(st.integers(min_value=0, max_value=10_000)),
        terminated_on=terminated_on,
    )


def months_between(first: str, second: str) -> int:
    (y1, m1), (y2, m2) = (map(int, first.split("-")), map(int, second.split("-")))
    return (y2 - y1) * 12 + m2 - m1


@settings(max_examples=300, deadline=None)
@given(lease_terms())
def test_every_line_splits_into_net_and_tax_and_is_not_negative(terms: LeaseTerms) -> None:
    for line in rent_schedule(terms):
        assert line.net_fen + line.tax_fen == line.amount_fen
        assert line.amount_fen >= 0 and line.net_fen >= 0 and line.tax_fen >= 0
        assert not line.free or line.amount_fen == 0


@settings(max_examples=300, deadline=None)
@given(lease_terms())
def test_months_are_contiguous_from_start_to_the_last_charged_day(terms: LeaseTerms) -> None:
    lines = rent_schedule(terms)
    last_day = effective_end(terms)

    assert lines[0].period == f"{terms.start:%Y-%m}"
    assert lines[-1].period == f"{last_day:%Y-%m}"
    assert all(months_between(a.period, b.period) == 1 for a, b in itertools.pairwise(lines))
    assert sum(line.days for line in lines) == (last_day - terms.start).days + 1
    due_dates = [line.due_date for line in lines]
    assert due_dates == sorted(due_dates)
    assert all(terms.start <= due <= last_day + timedelta(days=1) for due in due_dates)


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    cycles=st.integers(min_value=1, max_value=8),
    cycle=st.sampled_from(BillingCycle),
    timing=st.sampled_from(BillingTiming),
    rent_per_month=st.integers(min_value=100, max_value=10**9),
    extra=st.integers(min_value=0, max_value=11),
)
def test_full_cycle_contract_sums_exactly_to_cycles_times_rent(
    start: date, cycles: int, cycle: BillingCycle, timing: BillingTiming, rent_per_month: int, extra: int
) -> None:
    rent = rent_per_month * cycle.months + extra % cycle.months  # not always divisible by the months
    end = add_months(start, cycles * cycle.months) - timedelta(days=1)
    lines = rent_schedule(LeaseTerms(start, end, rent, cycle=cycle, timing=timing))

    assert total(lines) == cycles * rent


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    months=st.integers(min_value=1, max_value=72),
    cycle=st.sampled_from(BillingCycle),
    rent=st.integers(min_value=100 * 12, max_value=10**10),
    data=st.data(),
)
def test_whole_contract_months_sum_exactly_to_their_rents(
    start: date, months: int, cycle: BillingCycle, rent: int, data: st.DataObject
) -> None:
    free_months = data.draw(st.integers(min_value=0, max_value=months))
    end = add_months(start, months) - timedelta(days=1)
    lines = rent_schedule(LeaseTerms(start, end, rent, cycle=cycle, free_months=free_months))

    shares = allocate_largest_remainder(rent, [1] * cycle.months)
    assert total(lines) == sum(shares[j % cycle.months] for j in range(free_months, months))


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    cycles=st.integers(min_value=1, max_value=40),
    cycle=st.sampled_from(BillingCycle),
    rent=st.integers(min_value=0, max_value=100),
)
def test_tiny_rents_are_never_under_recognised(
    start: date, cycles: int, cycle: BillingCycle, rent: int
) -> None:
    end = add_months(start, cycles * cycle.months) - timedelta(days=1)
    lines = rent_schedule(LeaseTerms(start, end, rent, cycle=cycle))

    assert all(line.amount_fen >= 0 for line in lines)
    assert cycles * rent <= total(lines) <= cycles * rent + cycles
    if cycle is BillingCycle.MONTHLY:
        assert total(lines) == cycles * rent


@settings(max_examples=300, deadline=None)
@given(lease_terms(), st.data())
def test_termination_leaves_earlier_months_unchanged(terms: LeaseTerms, data: st.DataObject) -> None:
    terms = replace(terms, terminated_on=None)
    terminated_on = data.draw(st.dates(min_value=terms.start, max_value=terms.end))
    full = rent_schedule(terms)
    cut = rent_schedule(replace(terms, terminated_on=terminated_on))

    assert len(cut) <= len(full)
    assert amounts(cut[:-1]) == amounts(full[: len(cut) - 1])
    assert total(cut) <= total(full)
