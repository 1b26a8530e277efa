"""The on-call SLO: how quickly pages are acknowledged, per week and per person. Pure Python.

A *page* is a high-urgency PagerDuty incident: PagerDuty notifies the escalation policy's
level 1 (the effective primary) at once, and level 2 (the secondary) when level 1 has not
acknowledged within the delay (5 minutes, ``pagerduty.sync.DELAY_MINUTES``). Low-urgency
incidents notify nobody by phone and are not pages.

For each page, from PagerDuty's log entries (``pagerduty.incident_import``):

- **Time to acknowledge**: from its creation to its first acknowledgement. A page resolved or
  still open without one has no time to acknowledge and is not within the target.
- **Within target**: acknowledged no later than the rotation's target after creation (the
  target defaults to the escalation delay: acknowledging within it keeps the secondary's phone
  quiet).
- **Escalated**: PagerDuty escalated it to level 2 (its first ``escalate_log_entry``).
- **Out of hours**: ``rotation.health``'s rule (before 09:00, from 18:00 or at a weekend on the
  wall clock of the primary at the page, their own zone, else the rotation's).

It belongs to the person who held primary at its creation (the effective schedule).

The median is the middle time (the mean of the two middle ones for an even count); the 90th
percentile is the nearest-rank one: the ceil(0.9 n)-th shortest, a time some page really took.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rotation.health import is_out_of_hours
from rotation.schedule import Duty
from rotation.stretches import Stretch

PAGE_URGENCY = "high"
WEEKS_SHOWN = 8


@dataclass(frozen=True)
class Page:
    """One PagerDuty incident's times, as the import stored them."""

    created_at: datetime
    acknowledged_at: datetime | None
    escalated_at: datetime | None
    urgency: str = PAGE_URGENCY

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return self.acknowledged_at - self.created_at if self.acknowledged_at else None


@dataclass(frozen=True)
class Figures:
    pages: int = 0
    within_target: int = 0
    escalated: int = 0
    out_of_hours: int = 0
    median: timedelta | None = None  # time to acknowledge, of the acknowledged pages
    p90: timedelta | None = None

    @property
    def percent_within(self) -> int | None:
        return round(100 * self.within_target / self.pages) if self.pages else None


@dataclass(frozen=True)
class WeekFigures:
    start: datetime
    end: datetime
    primaries: tuple[str, ...]  # names, in order, of who held primary that week
    figures: Figures


@dataclass(frozen=True)
class PersonFigures:
    email: str
    name: str
    figures: Figures


@dataclass(frozen=True)
class OnCallSlo:
    target: timedelta
    weeks: list[WeekFigures]  # newest first
    people: list[PersonFigures]  # who held primary at a page in [start, end), most pages first
    start: datetime  # the quarter of the per-person figures
    end: datetime


def median(times: Sequence[timedelta]) -> timedelta | None:
    """The middle time; the mean of the two middle ones for an even count."""
    if not times:
        return None
    ordered, middle = sorted(times), len(times) // 2
    return ordered[middle] if len(times) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def p90(times: Sequence[timedelta]) -> timedelta | None:
    """The nearest-rank 90th percentile."""
    if not times:
        return None
    return sorted(times)[math.ceil(0.9 * len(times)) - 1]


def figures_of(
    pages: Iterable[Page], target: timedelta, is_late: Callable[[Page], bool]
) -> Figures:
    """The figures of these pages (low-urgency incidents are skipped); ``is_late`` says whether
    a page came out of hours."""
    counted = [p for p in pages if p.urgency == PAGE_URGENCY]
    times = [t for p in counted if (t := p.time_to_acknowledge) is not None]
    return Figures(
        pages=len(counted),
        within_target=sum(t <= target for t in times),
        escalated=sum(p.escalated_at is not None for p in counted),
        out_of_hours=sum(is_late(p) for p in counted),
        median=median(times),
        p90=p90(times),
    )


def primary_at(primaries: Sequence[Stretch], when: datetime) -> str | None:
    return next((s.member for s in primaries if s.holds(when)), None)


def out_of_hours_rule(
    primaries: Sequence[Stretch], zone: ZoneInfo, zones: Mapping[str, ZoneInfo]
) -> Callable[[Page], bool]:
    """``rotation.health``'s out-of-hours rule on the wall clock of the primary at the page."""

    def is_late(page: Page) -> bool:
        primary = primary_at(primaries, page.created_at)
        return is_out_of_hours(page.created_at, zones.get(primary or "", zone))

    return is_late


def on_call_slo(
    pages: Sequence[Page],
    stretches: Sequence[Stretch],
    weeks: Sequence[tuple[datetime, datetime]],
    quarter: tuple[datetime, datetime],
    target: timedelta,
    *,
    zone: ZoneInfo,
    zones: Mapping[str, ZoneInfo] | None = None,
    names: Mapping[str, str] | None = None,
) -> OnCallSlo:
    """Figures for each of ``weeks`` (handoff to handoff, given newest first) and for each
    person who held primary at a page in ``quarter``. ``stretches`` is the effective schedule
    covering both; ``zone`` the rotation's, ``zones`` people's own; ``names`` for display."""
    zones, names = zones or {}, names or {}
    primaries = sorted((s for s in stretches if s.role == Duty.PRIMARY), key=lambda s: s.start)
    is_late = out_of_hours_rule(primaries, zone, zones)

    def within(start: datetime, end: datetime) -> list[Page]:
        return [p for p in pages if start <= p.created_at < end]

    by_week = [
        WeekFigures(
            start,
            end,
            tuple(
                dict.fromkeys(
                    names.get(s.member, s.member) for s in primaries if s.overlaps(start, end)
                )
            ),
            figures_of(within(start, end), target, is_late),
        )
        for start, end in weeks
    ]
    held: dict[str, list[Page]] = {}
    for page in within(*quarter):
        if page.urgency != PAGE_URGENCY:
            continue
        primary = primary_at(primaries, page.created_at)
        if primary is not None:
            held.setdefault(primary, []).append(page)
    people = [
        PersonFigures(email, names.get(email, email), figures_of(held[email], target, is_late))
        for email in held
    ]
    people.sort(key=lambda p: (-p.figures.pages, p.name))
    return OnCallSlo(target, by_week, people, *quarter)
