"""Which week a date names and which days its primary triages (pure, no database)."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from handoff.days import triage_days, week_at, week_starting_on
from rotation.schedule import RotationPlan

LA = ZoneInfo("America/Los_Angeles")
PLAN = RotationPlan.weekly(["alice", "bob", "carol", "dan"], date(2026, 10, 6))  # a Tuesday
ELEVEN = time(11, 0)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=LA)


def test_a_week_is_named_by_the_date_of_the_handoff_that_starts_it() -> None:
    assert week_starting_on(PLAN, date(2026, 12, 1), LA) == (at(12, 1), at(12, 8))
    assert week_at(PLAN, at(12, 3)) == (at(12, 1), at(12, 8))


def test_a_date_without_a_handoff_names_no_week() -> None:
    assert week_starting_on(PLAN, date(2026, 12, 2), LA) is None
    assert week_starting_on(PLAN, date(2026, 9, 29), LA) is None  # before the rotation


def test_the_first_week_is_found_by_its_date() -> None:
    assert week_starting_on(PLAN, date(2026, 10, 6), LA) == (at(10, 6), at(10, 13))


def test_the_primary_triages_tuesday_to_monday_of_their_week() -> None:
    days = triage_days(at(12, 1), at(12, 8), LA, ELEVEN, holidays=())
    assert days == [date(2026, 12, d) for d in (1, 2, 3, 4, 7)]


def test_triage_days_keep_their_hour_across_the_clocks_going_back() -> None:
    # The clocks go back on Sunday 1 November 2026: the week is 169 hours, still five days.
    start, end = week_starting_on(PLAN, date(2026, 10, 27), LA) or (None, None)
    assert start is not None and end is not None
    assert (end - start).total_seconds() == 169 * 3600
    days = triage_days(start, end, LA, ELEVEN, holidays=())
    monday = date(2026, 11, 2)
    assert days == [date(2026, 10, d) for d in (27, 28, 29, 30)] + [monday]


def test_a_holiday_is_not_a_triage_day() -> None:
    thanksgiving = {date(2026, 11, 26), date(2026, 11, 27)}
    days = triage_days(at(11, 24), at(12, 1), LA, ELEVEN, holidays=thanksgiving)
    assert days == [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 30)]


def test_triage_due_before_the_handoff_belongs_to_the_outgoing_primary() -> None:
    days_before = triage_days(at(11, 24), at(12, 1), LA, time(9, 0), holidays=())
    assert days_before[-1] == date(2026, 12, 1)
