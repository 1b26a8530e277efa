"""The week's periodic jobs: short and idempotent, safe to run twice or on two workers."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from handoff import days
from handoff.actions import open_report
from handoff.models import TriageDay
from handoff.release import primary_at
from handoff.triage import days_of_week, due_hour
from portal import notices
from rotation.models import Rotation, schedule_of

# The report opens this long before its handoff: time for the outgoing primary to fill it in.
OPENS_BEFORE = timedelta(hours=24)


def open_handoff_reports(now: datetime | None = None) -> str:
    """Open the report of every rotation's next handoff once it is within a day, and of the
    handoff just passed if it is still missing (the job was down): opening is idempotent."""
    now = now or timezone.now()
    opened = 0
    for rotation in Rotation.objects.all():
        plan = schedule_of(rotation)
        bounds = days.week_at(plan, now) if plan is not None else None
        if plan is None or bounds is None:
            continue
        start, end = bounds
        due = [end] if end - now <= OPENS_BEFORE else []
        if start > plan.start:  # a week ended at ``start``: its report is owed too
            due.append(start)
        for handoff_at in due:
            before = rotation.handoffs.filter(handoff_at=handoff_at).exists()
            if open_report(rotation, handoff_at) is not None and not before:
                opened += 1
    return f"opened {opened} handoff report(s)"


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
