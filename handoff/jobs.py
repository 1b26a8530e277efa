"""The week's periodic jobs: short and idempotent, safe to run twice or on two workers."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from handoff import days
from handoff.models import TriageDay
from handoff.release import primary_at
from handoff.triage import days_of_week, due_hour
from portal import notices
from rotation.models import Rotation, schedule_of


def remind_untriaged(now: datetime | None = None) -> str:
    """Email the primary of each rotation whose triage day today (in its zone) is past its due
    hour and not ticked: once a day, whichever worker gets there first (the notice's key)."""
    now = now or timezone.now()
    told = 0
    for rotation in Rotation.objects.order_by("pk"):
        plan = schedule_of(rotation)
        if plan is None:
            continue
        zone, due_at = rotation.zone, due_hour(rotation)
        today = now.astimezone(zone).date()
        due = days.triage_due(today, due_at, zone)
        week = days.week_at(plan, due)
        if now < due or week is None or today not in days_of_week(rotation, *week, due_at):
            continue
        if TriageDay.objects.filter(rotation=rotation, day=today).exists():
            continue
        primary = primary_at(rotation, due)
        if primary is None or not primary.email:
            continue
        told += notices.tell(
            key=f"triage:{rotation.pk}:{today.isoformat()}",
            to=primary.email,
            subject=f"{rotation.name}: triage #ops-notifications for {today:%a %-d %b}",
            body=(
                f"Hi {primary.name},\n\n"
                f"Today's #ops-notifications triage for {rotation.name} was due at "
                f"{due_at:%H:%M} ({rotation.time_zone}) and is not ticked yet. Once it is done, "
                f"tick it with a note on the triage page: /rotations/{rotation.slug}/triage/\n"
            ),
        )
    return f"triage reminders: {told} sent"
