"""Rotation health as the pages show it: ``rotation.health``'s figures read from the database.

The effective schedule comes from the caller (the schedule page's grid, ``/me/``'s shifts) when
it already covers the quarter, so health costs two queries: the incidents' start instants and
the PagerDuty pages' (read through the rotation's ``pagerduty_links``, the import's links, so
that this room does not import the PagerDuty one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from incidents.models import Incident
from rotation import health
from rotation.effective import EffectiveSchedule, effective_schedule
from rotation.models import Engineer, Rotation

# PagerDuty's urgency of an incident that rings the phone at once (``pagerduty.slo``'s pages).
PAGE_URGENCY = "high"


def quarter_health(
    rotation: Rotation,
    now: datetime,
    known: EffectiveSchedule | None = None,
    covers: tuple[datetime, datetime] | None = None,
) -> health.RotationHealth:
    """``rotation``'s health this quarter (its own zone's); ``known`` is reused when ``covers``
    (the window it was read for) holds the quarter."""
    start, end = health.quarter_of(now, rotation.zone)
    effective = known
    if effective is None or covers is None or not covers[0] <= start < end <= covers[1]:
        effective = effective_schedule(rotation, start, end)
    started = Incident.objects.filter(
        rotation=rotation, started_at__gte=start, started_at__lt=min(now, end)
    ).values_list("started_at", flat=True)
    pages = rotation.pagerduty_links.filter(
        urgency=PAGE_URGENCY, created_at__gte=start, created_at__lt=min(now, end)
    ).values_list("created_at", flat=True)
    return _health(effective, list(started), start, end, now, list(pages))


@dataclass(frozen=True)
class MyHealth:
    """One rotation's figures for one person, with the rotation's own for context."""

    rotation: Rotation
    mine: health.PersonHealth
    of_rotation: health.RotationHealth


def my_health(
    engineer: Engineer, schedules: Sequence[EffectiveSchedule], now: datetime
) -> list[MyHealth]:
    """``engineer``'s figures this quarter in each rotation they are on (or held a role in),
    from schedules read from at least a day before the quarter: one query for the incidents."""
    wanted = [
        e
        for e in schedules
        if e.plan is not None
        and (engineer.email in e.plan.eras[-1].members or e.of(engineer.email))
    ]
    if not wanted:
        return []
    quarters = {e.rotation.id: health.quarter_of(now, e.rotation.zone) for e in wanted}
    earliest = min(start for start, _ in quarters.values())
    started: dict[int, list[datetime]] = defaultdict(list)
    for rotation_id, at in Incident.objects.filter(
        rotation__in=[e.rotation for e in wanted], started_at__gte=earliest, started_at__lt=now
    ).values_list("rotation_id", "started_at"):
        started[rotation_id].append(at)
    paged: dict[int, list[datetime]] = defaultdict(list)
    for rotation_id, at in Rotation.objects.filter(
        pk__in=[e.rotation.id for e in wanted],
        pagerduty_links__urgency=PAGE_URGENCY,
        pagerduty_links__created_at__gte=earliest,
        pagerduty_links__created_at__lt=now,
    ).values_list("id", "pagerduty_links__created_at"):
        paged[rotation_id].append(at)
    found = []
    for effective in wanted:
        start, end = quarters[effective.rotation.id]
        rotation_id = effective.rotation.id
        figures = _health(effective, started[rotation_id], start, end, now, paged[rotation_id])
        mine = figures.of(engineer.email)
        if mine is not None:
            found.append(MyHealth(effective.rotation, mine, figures))
    return found


def _health(
    effective: EffectiveSchedule,
    started: list[datetime],
    start: datetime,
    end: datetime,
    now: datetime,
    pages: list[datetime],
) -> health.RotationHealth:
    roster = list(effective.plan.eras[-1].members) if effective.plan else []
    people = effective.people
    return health.rotation_health(
        [s for s in effective.stretches if s.overlaps(start, end)],
        started,
        roster,
        start,
        end,
        now,
        zone=effective.rotation.zone,
        zones={e: ZoneInfo(p.time_zone) for e, p in people.items() if p.time_zone},
        names={e: p.name for e, p in people.items()},
        pages=pages,
    )
