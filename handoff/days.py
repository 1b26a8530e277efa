"""Which week a date names and which days of a week are triaged. Pure Python.

Every page and job of the week speaks of a week by the date of the handoff that starts it, in
the rotation's zone (``2026-12-01`` for the week from Tuesday 1 December 10:00). A business day
belongs to whoever is primary at the day's triage hour: with a 10:00 handoff and triage due by
11:00, the handoff Tuesday is the new primary's first triage day, not the old one's last.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rotation.schedule import RotationPlan, slot_bounds

SATURDAY = 5


def week_at(plan: RotationPlan, at: datetime) -> tuple[datetime, datetime] | None:
    """The handoffs around ``at``: the week holding that instant; None before the rotation."""
    return slot_bounds(plan, at)


def week_starting_on(
    plan: RotationPlan, day: date, zone: ZoneInfo
) -> tuple[datetime, datetime] | None:
    """The week whose starting handoff falls on ``day`` in ``zone``; None when no handoff does
    (a date that is not a handoff day, or one before the rotation starts)."""
    midnight = datetime.combine(day, time(0), zone)
    bounds = slot_bounds(plan, midnight) or slot_bounds(plan, plan.start)
    while bounds is not None and bounds[0].astimezone(zone).date() <= day:
        if bounds[0].astimezone(zone).date() == day:
            return bounds
        bounds = slot_bounds(plan, bounds[1])
    return None


def triage_due(day: date, due_at: time, zone: ZoneInfo) -> datetime:
    """The instant a day's triage is due: its wall-clock hour in the zone, whatever the offset
    that day (a due hour inside a spring-forward gap moves forward with the clocks)."""
    return datetime.combine(day, due_at, zone)


def is_business_day(day: date, holidays: Collection[date]) -> bool:
    """Monday to Friday and not a holiday: a day someone triages."""
    return day.weekday() < SATURDAY and day not in holidays


def triage_days(
    start: datetime, end: datetime, zone: ZoneInfo, due_at: time, holidays: Collection[date]
) -> list[date]:
    """The business days (Monday to Friday, not a holiday) whose triage falls due in
    [start, end), in order: the days the primary of that week triages."""
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [
        day
        for day in days
        if is_business_day(day, holidays) and start <= triage_due(day, due_at, zone) < end
    ]
