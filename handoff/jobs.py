"""The handoff's periodic job: open each rotation's report a day before its handoff."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from handoff import days
from handoff.actions import open_report
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
