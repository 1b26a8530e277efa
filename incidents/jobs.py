"""Incident jobs: tell Slack of customer updates that fell due and were not sent."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from incidents.models import Incident, Status
from slack_app import messages
from slack_app.outbox import post


def post_overdue_updates(now: datetime | None = None) -> str:
    """Post each open incident whose customer update is overdue, once per due time (a sent
    update moves the due time on, and the next miss is posted again)."""
    now = now or timezone.now()
    zone = timezone.get_default_timezone()
    written = 0
    overdue = Incident.objects.exclude(status=Status.RESOLVED).filter(next_update_due__lte=now)
    for incident in overdue.order_by("next_update_due", "id"):
        due = incident.next_update_due
        assert due is not None
        payload = messages.update_overdue(
            str(incident),
            incident.severity,
            f"{due.astimezone(zone):%a %-d %b %H:%M} {zone.key}",
        )
        written += post(f"slack-update-overdue:{incident.pk}:{due.isoformat()}", payload)
    return f"overdue updates: {written} written"
