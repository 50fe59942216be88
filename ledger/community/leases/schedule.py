"""A lease contract's rent schedule (租金计划), to the fen: pure functions, no database, no clock.

The rules, each proved by a worked example in ``tests/community/test_lease_schedule.py``:

**Contract months.** Contract month *j* runs from ``start`` + *j* months (the same day of the month, moved to
the month's last day where that day does not exist: from 31 Jan the months begin 28 Feb, 31 Mar, 30 Apr,
...) to the day before contract month *j* + 1. Billing cycles, rent-free months and escalation are all
counted in contract months, from ``start``.

**Monthly rent.** A billing cycle's rent is split over its 1 / 3 / 6 / 12 months by largest remainder, ties
to the earlier month (a quarter of 1000.00 is 333.34, 333.33, 333.33), so a full cycle sums exactly to
``rent_per_cycle_fen``.

**Escalation.** With ``escalation_every_years`` = *n* > 0, the rent steps up at every *n*-th anniversary of
``start``: rent₀ = ``rent_per_cycle_fen``, rentₖ = round_half_up(rentₖ₋₁ × (10000 + bp) / 10000), rounded
to the fen at each step (compounding on the rounded rent). Anniversaries fall on cycle boundaries (every
cycle length divides 12), so a billing cycle never mixes two rents.

**Rent-free months (免租期).** Contract months 0 .. ``free_months`` − 1 charge nothing.

**Recognition by calendar month.** The schedule has one line per calendar month (``period`` "YYYY-MM")
from the month of ``start`` to the month of the last charged day. Each contract day carries the monthly
rent of the contract month it falls in (0 while rent-free), and a month earns Σ those rents / days in the
calendar month: a whole month at one rent is exactly that rent; a first month from the 15th of January is
round_half_up(1000.00 × 17, 31) = 548.39; a month in which an escalation anniversary or the end of the
free period falls is prorated by days at the old and the new rent. Each line is rounded on its own, so an
accountant can check any month from that month alone.

**The last line closes the contract (尾差调整到最后一期).** When the term (or the termination) ends the day
before a monthly anniversary of ``start``, the lessee owes exactly its *N* contract months: the last line
is Σ of their monthly rents less everything recognised before it. With a mid-month start the first and
last partial months so make one month together: 2025-01-15 to 2026-01-14 at 1000.00 a
month is 548.39 + 11 × 1000.00 + 451.61 = 12000.00; 2025-01-15 to 2025-06-14 ends with 451.61, not
14/30 of a month (466.67); 2024-02-15 to 2025-02-14 is 517.24 + 11 × 1000.00 + 482.76 across the leap
day. A term ending part-way through a contract month has no such total: its last month is prorated by
calendar days like the first (1–10 June is 10/30 of a month, 333.33). The closing line is never below 0:
with a rent of a few fen a month, billed quarterly or longer from mid-month, the rounding of the months
before it can overshoot, and such a schedule sums to a fen or two more than its months (the tests check
that it is exact from 1.00 a month up).

**Due dates.** A month belongs to the latest billing cycle that any of its days falls in, so no part of its
rent is ever shown as due before the contract makes it due (this only matters when ``start`` is not the
1st). Billing cycles are anchored at ``start``: quarterly from 2025-02-01 is Feb–Apr, May–Jul, ... In
advance (预付), the line is due on the cycle's first day; in arrears (后付), on the day after the cycle's
last day, or after the last charged day if the contract ends or is terminated sooner.

**Termination.** ``terminated_on`` is the last day charged. Months after it have no lines; its own month
is the last line, by the rules above. Every month before it keeps the amount it had without the
termination (posted charges are never touched); only in arrears do the due dates of the cut-short cycle
move forward to the day after the termination.

**VAT.** Each line's amount is tax-inclusive: net = round_half_up(amount × 10000 / (10000 + rate)),
tax = amount − net (``ledger.books.money.split_tax_inclusive``).

**Aging (账龄).** Days past due = as-of date − due date: before the due date "current", then 0–30, 31–90,
91–180, > 180.

Integers only; this module must never touch a float, a database or today's date.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from ledger.books.errors import ValidationError
from ledger.books.money import allocate_largest_remainder, round_half_up, split_tax_inclusive
from ledger.books.periods import FIRST_DAY, LAST_DAY

__all__ = [
    "AGING_BUCKETS",
    "LAST_END",
    "BillingCycle",
    "BillingTiming",
    "LeaseTerms",
    "ScheduleLine",
    "aging_bucket",
    "effective_end",
    "lease_terms_problems",
    "rent_schedule",
    "validate_terms",
]

_ONE_DAY = timedelta(days=1)
LAST_END = LAST_DAY
"""The latest end a lease may have: the schedule's date arithmetic reaches a month past the end."""
_FULL_BP = 10_000


class BillingCycle(StrEnum):
    """How often rent is billed (缴租周期); the value is the API and database spelling."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"

    @property
    def months(self) -> int:
        """Contract months per billing cycle: 1, 3, 6 or 12."""
        return _MONTHS_PER_CYCLE[self]


_MONTHS_PER_CYCLE = {
    BillingCycle.MONTHLY: 1,
    BillingCycle.QUARTERLY: 3,
    BillingCycle.HALF_YEARLY: 6,
    BillingCycle.YEARLY: 12,
}


class BillingTiming(StrEnum):
    """Rent due at the start of each billing cycle (预付, in advance) or after it ends (后付, in arrears)."""

    ADVANCE = "advance"
    ARREARS = "arrears"


C = TypeVar("C", BillingCycle, BillingTiming)


def choice(kind: type[C], value: str, field: str) -> C:
    """``value`` (a cycle's or a timing's spelling) as a member of ``kind``, or a 422 naming ``field``."""
    if value not in {m.value for m in kind}:
        raise ValidationError(f"{field} is one of {', '.join(m.value for m in kind)}", field=field)
    return kind(value)


@dataclass(frozen=True)
class LeaseTerms:
    """The money terms of one lease contract; amounts in fen, rates in basis points (5 % = 500)."""

    start: date
    end: date
    """Inclusive: the last day of the term."""
    rent_per_cycle_fen: int
    """Tax-inclusive rent for one full billing cycle."""
    cycle: BillingCycle = BillingCycle.MONTHLY
    timing: BillingTiming = BillingTiming.ADVANCE
    free_months: int = 0
    """The first N contract months are rent-free (免租期)."""
    escalation_bp: int = 0
    """Rent increase per step, 0..10000 (500 = +5 %); a rent cut is an amendment, not an escalation."""
    escalation_every_years: int = 0
    """Years between steps; 0 = never (``escalation_bp`` is then ignored)."""
    vat_rate_bp: int = 500
    """VAT in the rent; 5 % simplified levy (简易计税) for property by default."""
    terminated_on: date | None = None
    """Early termination: the last day charged."""


@dataclass(frozen=True)
class ScheduleLine:
    """The rent recognised in one calendar month of the contract."""

    period: str
    """Calendar month of recognition, "YYYY-MM"."""
    days: int
    """Days of the contract (up to the last charged day) in that month."""
    amount_fen: int
    """Tax-inclusive rent recognised for the month."""
    net_fen: int
    tax_fen: int
    due_date: date
    free: bool
    """Every contract day of the month is rent-free (the amount is then 0)."""


AGING_BUCKETS = ("current", "0-30", "31-90", "91-180", ">180")
"""Arrears aging buckets in report order; "current" is not yet due."""


def aging_bucket(due: date, as_of: date) -> str:
    """The aging bucket of rent due on ``due``, seen on ``as_of`` (days past due = as_of − due).

    Due today is 0 days past due ("0-30"); 30 is still "0-30", 31 starts "31-90", 91 "91-180", 181 ">180".
    """
    days_past_due = (as_of - due).days
    if days_past_due < 0:
        return "current"
    if days_past_due <= 30:
        return "0-30"
    if days_past_due <= 90:
        return "31-90"
    if days_past_due <= 180:
        return "91-180"
    return ">180"


def effective_end(terms: LeaseTerms) -> date:
    """The last day charged: the termination date if the contract was terminated early, else ``end``."""
    if terms.terminated_on is None:
        return terms.end
    return min(terms.end, terms.terminated_on)


_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and calendar.isleap(year):
        return 29
    return _DAYS_IN_MONTH[month]


def _add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, kept on the same day or moved back to the month's last day."""
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, _days_in_month(year, month)))


def _contract_month_count(start: date, last_day: date) -> int:
    """How many contract months (whole or cut short) the days ``start`` .. ``last_day`` touch."""
    months = (last_day.year - start.year) * 12 + last_day.month - start.month
    # Contract month number `months` begins in the calendar month of last_day: it counts if it has begun.
    return months + 1 if _add_months(start, months) <= last_day else months


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def lease_terms_problems(terms: LeaseTerms) -> list[ValidationError]:
    """Every problem with ``terms`` at once, each naming its field, so a form can be fixed in one pass."""
    problems: list[ValidationError] = []

    def problem(field: str, message: str) -> None:
        problems.append(ValidationError(message, field=field))

    dates_ok = True
    for field in ("start", "end"):
        if not _is_date(getattr(terms, field)):
            problem(field, f"{field} must be a date")
            dates_ok = False
    if dates_ok and terms.start < FIRST_DAY:
        problem("start", f"a lease starts in {FIRST_DAY.year} or later, not {terms.start}")
        dates_ok = False
    if dates_ok and terms.end < terms.start:
        problem("end", f"the lease ends ({terms.end}) before it starts ({terms.start})")
        dates_ok = False
    elif dates_ok and terms.end > LAST_END:
        problem("end", f"a lease ends by {LAST_END} (its schedule counts a month past the end)")
        dates_ok = False

    if not _is_int(terms.rent_per_cycle_fen):
        problem("rent_per_cycle_fen", "rent must be an integer number of fen")
    elif terms.rent_per_cycle_fen < 0:
        problem("rent_per_cycle_fen", "rent must not be negative")

    for field, enum in (("cycle", BillingCycle), ("timing", BillingTiming)):
        try:
            enum(getattr(terms, field))
        except ValueError:
            choices = ", ".join(member.value for member in enum)
            problem(field, f"{field} must be one of {choices}")

    if not _is_int(terms.free_months) or terms.free_months < 0:
        problem("free_months", "free_months must be a whole number of months, 0 or more")
    elif dates_ok and terms.free_months > (term := _contract_month_count(terms.start, terms.end)):
        problem("free_months", f"{terms.free_months} rent-free months is beyond the {term}-month term")

    if not _is_int(terms.escalation_bp) or not 0 <= terms.escalation_bp <= _FULL_BP:
        problem("escalation_bp", "escalation must be between 0 and 10000 bp (0 to 100 %)")
    if not _is_int(terms.escalation_every_years) or terms.escalation_every_years < 0:
        problem("escalation_every_years", "escalation_every_years must be 0 (never) or a positive number")
    if not _is_int(terms.vat_rate_bp) or not 0 <= terms.vat_rate_bp <= _FULL_BP:
        problem("vat_rate_bp", "VAT rate must be between 0 and 10000 bp (0 to 100 %)")

    if terms.terminated_on is not None:
        if not _is_date(terms.terminated_on):
            problem("terminated_on", "terminated_on must be a date")
        elif dates_ok and not terms.start <= terms.terminated_on <= terms.end:
            problem(
                "terminated_on",
                f"termination on {terms.terminated_on} is outside the term {terms.start} to {terms.end}",
            )
    return problems


def validate_terms(terms: LeaseTerms) -> None:
    """Raise the first of :func:`lease_terms_problems` (a ``ValidationError`` naming its field), if any."""
    problems = lease_terms_problems(terms)
    if problems:
        raise problems[0]


def _monthly_rents(terms: LeaseTerms, count: int) -> list[int]:
    """The monthly rent of contract months 0 .. ``count`` − 1 (0 while rent-free)."""
    months_per_cycle = BillingCycle(terms.cycle).months
    cycles = -(-count // months_per_cycle)  # billing cycles begun, the last perhaps cut short
    cycles_per_step = 12 * terms.escalation_every_years // months_per_cycle or cycles  # 0 years: one step
    rents: list[int] = []
    cycle_rent = terms.rent_per_cycle_fen
    for first_cycle in range(0, cycles, cycles_per_step):
        if first_cycle:  # an escalation anniversary: compound on the rounded rent
            cycle_rent = round_half_up(cycle_rent * (_FULL_BP + terms.escalation_bp), _FULL_BP)
        rents += allocate_largest_remainder(cycle_rent, [1] * months_per_cycle) * cycles_per_step
    free = min(terms.free_months, count)
    return [0] * free + rents[free:count]


def _due_date(terms: LeaseTerms, cycle: int, months_per_cycle: int, last_day: date) -> date:
    """When billing cycle number ``cycle`` is due: its first day, or the day after it ends (or is cut off)."""
    if terms.timing == BillingTiming.ADVANCE:
        return _add_months(terms.start, cycle * months_per_cycle)
    return min(_add_months(terms.start, (cycle + 1) * months_per_cycle), last_day + _ONE_DAY)


def rent_schedule(terms: LeaseTerms) -> list[ScheduleLine]:
    """The contract's rent, one line per calendar month, by the rules in the module docstring.

    Raises ``ValidationError`` (naming the field) for terms that can never be right.
    """
    validate_terms(terms)
    start, last_day = terms.start, effective_end(terms)
    contract_months = _contract_month_count(start, last_day)
    rents = _monthly_rents(terms, contract_months)
    # A term of whole contract months owes exactly their rents; the last line closes it to that total.
    whole = _add_months(start, contract_months) == last_day + _ONE_DAY
    closing_total = sum(rents) if whole else None
    months_per_cycle = BillingCycle(terms.cycle).months

    lines: list[ScheduleLine] = []
    splits: dict[int, tuple[int, int]] = {}  # amount -> (net, tax): most months repeat the same rent
    recognised = 0
    due_cycle, due = -1, start  # every month of one billing cycle shares its due date
    running_rent = 0  # the rent of the contract month under way as a calendar month begins
    year, month = start.year, start.month
    calendar_months = (last_day.year - year) * 12 + last_day.month - month + 1
    # Contract month k begins in calendar month k (counted from the month of start); the days of calendar
    # month k before that belong to contract month k − 1, so no calendar month touches more than two.
    for k in range(calendar_months):
        days_in_month = _days_in_month(year, month)
        first = start.day if k == 0 else 1
        last = last_day.day if k == calendar_months - 1 else days_in_month
        if k == 0:
            days_before, days_from = 0, last - first + 1
        else:
            begins = min(start.day, days_in_month)  # the day contract month k begins
            days_before = min(last, begins - 1)
            days_from = max(0, last - begins + 1)  # 0 if the contract ends before contract month k begins
        day_rents = running_rent * days_before
        if days_from:
            running_rent = rents[k]
            day_rents += running_rent * days_from
        latest = k if days_from else k - 1  # the last contract month with a day in this calendar month
        if k == calendar_months - 1 and closing_total is not None:
            amount = max(0, closing_total - recognised)
        else:
            # Σ day rents / days: an exact quotient (a whole month at one rent, the common case) is final
            amount, remainder = divmod(day_rents, days_in_month)
            if remainder:
                amount = round_half_up(day_rents, days_in_month)
        recognised += amount
        if latest // months_per_cycle != due_cycle:
            due_cycle = latest // months_per_cycle
            due = _due_date(terms, due_cycle, months_per_cycle, last_day)
        split = splits.get(amount)
        if split is None:
            split = splits[amount] = split_tax_inclusive(amount, terms.vat_rate_bp)
        net, tax = split
        lines.append(
            ScheduleLine(
                period=f"{year:04d}-{month:02d}",
                days=last - first + 1,
                amount_fen=amount,
                net_fen=net,
                tax_fen=tax,
                due_date=due,
                free=latest < terms.free_months,  # rent-free months come first
            )
        )
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return lines
