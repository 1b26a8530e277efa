"""Incident metrics for the metrics page: response times, counts per week or month, load per
shift and post-mortem completion. Pure Python (no ORM, no I/O) so the sums are tested on plain
values and the view only has to turn rows into ``IncidentFacts``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Period = Literal["week", "month"]


@dataclass(frozen=True)
class IncidentFacts:
    """What the metrics need to know about one incident; every datetime is aware."""

    severity: str
    started_at: datetime
    detected_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    needs_postmortem: bool
    postmortem_published: bool
    # The start of the primary's shift the incident started in; None if unknown.
    shift_start: datetime | None


@dataclass(frozen=True)
class Spread:
    """How a set of durations is spread; median and p90 are None when there are none."""

    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class PeriodCount:
    """Incidents that started in one week (from a Monday) or one calendar month."""

    start: date
    label: str
    by_severity: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())


@dataclass(frozen=True)
class ShiftLoad:
    """Incidents per primary shift: ``average`` is None when the period had no shifts."""

    shifts: int
    incidents: int
    average: float | None
    busiest: int


@dataclass(frozen=True)
class Completion:
    """Post-mortems owed and published; ``ratio`` is None when nothing is owed."""

    owed: int
    published: int
    ratio: float | None


def percentile(values: Sequence[timedelta], q: float) -> timedelta | None:
    """The ``q``-th quantile (0 <= q <= 1) by linear interpolation between closest ranks.

    This is the common "type 7" definition (numpy's and spreadsheets' default): the median of
    an even count is the mean of the middle two, p90 of one value is that value, and None is
    returned for no values. Results are rounded to the microsecond by ``timedelta`` itself.
    """
    if not 0 <= q <= 1:
        raise ValueError(f"q must be between 0 and 1, not {q}")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def spread(durations: Sequence[timedelta]) -> Spread:
    """Count, median and p90 of ``durations``."""
    return Spread(len(durations), percentile(durations, 0.5), percentile(durations, 0.9))


def acknowledge_time(incident: IncidentFacts) -> timedelta | None:
    """One incident's time to acknowledge: from detection (or the start, when detection was not
    recorded) to acknowledgement; None when nobody acknowledged it."""
    if incident.acknowledged_at is None:
        return None
    return incident.acknowledged_at - (incident.detected_at or incident.started_at)


def resolve_time(incident: IncidentFacts) -> timedelta | None:
    """One incident's time to resolve, from its start; None while unresolved."""
    return None if incident.resolved_at is None else incident.resolved_at - incident.started_at


def time_to_acknowledge(facts: Iterable[IncidentFacts]) -> Spread:
    """``acknowledge_time`` over ``facts``.

    Incidents nobody acknowledged are left out rather than counted as zero or as "still open",
    so the figure describes the responses that happened; the page shows the count beside it.
    """
    return spread([t for t in map(acknowledge_time, facts) if t is not None])


def time_to_resolve(facts: Iterable[IncidentFacts]) -> Spread:
    """``resolve_time`` over resolved incidents only."""
    return spread([t for t in map(resolve_time, facts) if t is not None])


def period_start(day: date, period: Period) -> date:
    """The Monday of ``day``'s ISO week, or the first of its month."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period(start: date, period: Period) -> date:
    if period == "week":
        return start + timedelta(days=7)
    if start.month == 12:
        return date(start.year + 1, 1, 1)
    return date(start.year, start.month + 1, 1)


def period_label(start: date, period: Period) -> str:
    """Short and locale-independent: "30 Nov" for a week, "Nov 2026" for a month."""
    if period == "week":
        return f"{start.day} {MONTHS[start.month - 1]}"
    return f"{MONTHS[start.month - 1]} {start.year}"


def counts_by_period(
    facts: Iterable[IncidentFacts], period: Period, zone: ZoneInfo, start: date, end: date
) -> list[PeriodCount]:
    """Incidents per severity for every week or month touching ``start``..``end`` (inclusive).

    Every period is listed, quiet ones with zeros, so a chart shows the gaps. The range is
    widened to whole periods (the first bucket starts on the Monday or the first of the month
    on or before ``start``) so that no bar is a partial week that looks like a calm one. An
    incident belongs to the day it started on the wall clock in ``zone``: 23:30 UTC on a Sunday
    is already Monday in Tokyo. Each ``by_severity`` holds all of ``SEVERITIES`` plus any other
    severity seen.
    """
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    buckets: dict[date, Counter[str]] = {}
    first = period_start(start, period)
    cursor = first
    while cursor <= end:
        buckets[cursor] = Counter(dict.fromkeys(SEVERITIES, 0))
        cursor = next_period(cursor, period)
    for f in facts:
        if f.started_at.tzinfo is None:
            raise ValueError("started_at must be an aware datetime")
        # Convert to the zone before taking the date: the UTC date is the wrong day for half
        # the world around midnight.
        bucket = buckets.get(period_start(f.started_at.astimezone(zone).date(), period))
        if bucket is not None:
            bucket[f.severity] += 1
    return [
        PeriodCount(day, period_label(day, period), dict(counter))
        for day, counter in buckets.items()
    ]


def incidents_per_shift(facts: Iterable[IncidentFacts], shifts: int) -> ShiftLoad:
    """Average incidents per primary shift over a period that had ``shifts`` shifts.

    The average counts every incident, including those whose shift is unknown; ``busiest`` is
    the most incidents that started in one known shift (grouped by ``shift_start``).
    """
    if shifts < 0:
        raise ValueError(f"shifts must not be negative, not {shifts}")
    facts = list(facts)
    per_shift = Counter(f.shift_start for f in facts if f.shift_start is not None)
    return ShiftLoad(
        shifts=shifts,
        incidents=len(facts),
        average=len(facts) / shifts if shifts else None,
        busiest=max(per_shift.values(), default=0),
    )


def postmortem_completion(facts: Iterable[IncidentFacts]) -> Completion:
    """Published post-mortems among those owed; a published one nobody owed does not count."""
    owed = [f for f in facts if f.needs_postmortem]
    published = sum(1 for f in owed if f.postmortem_published)
    return Completion(len(owed), published, published / len(owed) if owed else None)
