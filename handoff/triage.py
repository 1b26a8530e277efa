"""Daily triage of #ops-notifications: ticking a business day of the primary's week with a
note, and the log of which days were done, by whom, and which are overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from handoff import days
from handoff.models import Holiday, TriageDay, WeekSetup
from handoff.release import name_of
from portal.models import AuditEntry
from rotation.models import Rotation, schedule_of

DEFAULT_DUE_AT = time(11, 0)


class TriageError(ValueError):
    """A day that cannot be ticked; the message says why."""


def due_hour(rotation: Rotation) -> time:
    setup = WeekSetup.objects.filter(rotation=rotation).only("triage_due_at").first()
    return setup.triage_due_at if setup else DEFAULT_DUE_AT


def days_of_week(rotation: Rotation, start: datetime, end: datetime, due_at: time) -> list[date]:
    """The week's triage days in the rotation's zone: business days, holidays skipped."""
    zone = rotation.zone
    holidays = set(
        Holiday.objects.filter(
            rotation=rotation,
            day__gte=start.astimezone(zone).date(),
            day__lte=end.astimezone(zone).date(),
        ).values_list("day", flat=True)
    )
    return days.triage_days(start, end, zone, due_at, holidays)


def tick_triage(
    rotation: Rotation, day: date, note: str, *, by: User, now: datetime
) -> tuple[TriageDay, bool]:
    """Tick ``day`` as triaged; True when this call ticked it. Only a triage day of the current
    or a past week; a day already ticked keeps its first tick (the unique constraint decides
    between two people ticking at once)."""
    plan = schedule_of(rotation)
    due_at = due_hour(rotation)
    due = days.triage_due(day, due_at, rotation.zone)
    week = days.week_at(plan, due) if plan is not None else None
    if week is None:
        raise TriageError(f"{day:%a %-d %b} is before this rotation began.")
    if week[0] > now:
        raise TriageError(f"{day:%a %-d %b} is in a week that has not begun.")
    if day not in days_of_week(rotation, *week, due_at):
        raise TriageError(f"{day:%a %-d %b} is not a triage day (a weekend or a holiday).")
    with transaction.atomic():
        ticked, created = TriageDay.objects.get_or_create(
            rotation=rotation,
            day=day,
            defaults={"done_at": now, "done_by": by, "note": note.strip()[:500]},
        )
        if created:
            AuditEntry.record(
                "triage.ticked",
                str(ticked.pk),
                by=by,
                rotation=rotation.slug,
                day=day.isoformat(),
                note=ticked.note,
            )
    return ticked, created


@dataclass(frozen=True)
class TriageEntry:
    day: date
    due_at: datetime
    ticked: TriageDay | None
    is_overdue: bool

    @property
    def done_by(self) -> str:
        return name_of(self.ticked.done_by if self.ticked else None)


def triage_log(
    rotation: Rotation, week_start: datetime, week_end: datetime, *, now: datetime | None = None
) -> list[TriageEntry]:
    """The week's triage days in order, each ticked or not, and overdue when past its due hour
    untriaged: three queries."""
    now = now or timezone.now()
    due_at = due_hour(rotation)
    week_days = days_of_week(rotation, week_start, week_end, due_at)
    ticked = {
        t.day: t
        for t in TriageDay.objects.filter(rotation=rotation, day__in=week_days).select_related(
            "done_by__engineer"
        )
    }
    entries = []
    for day in week_days:
        due = days.triage_due(day, due_at, rotation.zone)
        done = ticked.get(day)
        entries.append(TriageEntry(day, due, done, done is None and due <= now))
    return entries
