"""The incident reads behind the list, the dashboard and /me/: each a fixed number of queries,
whatever the number of incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from incidents.models import (
    ActionItem,
    Incident,
    Postmortem,
    PostmortemStatus,
    Status,
    TimelineEntry,
)
from rotation.models import Engineer


def filtered(params: dict[str, Any]) -> QuerySet[Incident]:
    """Incidents matching a valid IncidentFilter's cleaned data, newest first."""
    found = Incident.objects.select_related("commander")
    if params.get("status") == "open":
        found = found.exclude(status=Status.RESOLVED)
    elif params.get("status"):
        found = found.filter(status=params["status"])
    if params.get("severity"):
        found = found.filter(severity=params["severity"])
    if params.get("service"):
        found = found.filter(services__icontains=params["service"])
    zone = timezone.get_current_timezone()
    if params.get("since"):
        found = found.filter(started_at__gte=datetime.combine(params["since"], time(), zone))
    if params.get("until"):
        found = found.filter(started_at__lt=datetime.combine(params["until"], time.max, zone))
    if params.get("q"):
        words = params["q"]
        notes = TimelineEntry.objects.filter(
            incident=OuterRef("pk"), kind="note", text__icontains=words
        )
        found = found.filter(Q(title__icontains=words) | Exists(notes))
    return found


@dataclass
class Owed:
    postmortem: Postmortem
    is_mine: bool
    is_overdue: bool


@dataclass
class IncidentSummary:
    open_incidents: list[Incident]
    owed: list[Owed]
    overdue_actions: list[ActionItem]


def dashboard_summary(me: Engineer | None, today: date) -> IncidentSummary:
    """Open incidents, post-mortems owed (mine first) and overdue action items: three queries."""
    open_incidents = list(
        Incident.objects.exclude(status=Status.RESOLVED).select_related("commander")[:20]
    )
    owed = [
        Owed(p, me is not None and p.owner_id == me.pk, p.is_overdue(today))
        for p in Postmortem.objects.exclude(status=PostmortemStatus.PUBLISHED).select_related(
            "incident", "owner"
        )[:50]
    ]
    owed.sort(key=lambda o: (not o.is_mine, o.postmortem.due_on))
    overdue = list(
        ActionItem.objects.filter(done_at=None, due_on__lt=today)
        .select_related("owner", "postmortem__incident")
        .order_by("due_on")[:20]
    )
    return IncidentSummary(open_incidents, owed, overdue)


def my_action_items(me: Engineer) -> list[ActionItem]:
    return list(
        ActionItem.objects.filter(owner=me, done_at=None)
        .select_related("postmortem__incident")
        .order_by("due_on")
    )
