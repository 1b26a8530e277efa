"""The dashboard's handoff panel: the viewer's own report to complete or acknowledge, and
where each rotation's latest handoff stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from handoff.actions import report_url
from handoff.models import HandoffReport
from portal.stamp import Stamps, pick, remember
from rotation.models import Engineer

# Reports this recent are read for each rotation's latest state; older ones only if pending.
RECENT = timedelta(days=14)


@dataclass(frozen=True)
class Line:
    report: HandoffReport
    url: str
    # For the viewer: "complete" (theirs to submit), "acknowledge" (theirs to read and
    # confirm), "waiting" (submitted by them, not yet acknowledged), "" when not theirs.
    todo: str


def todo_of(report: HandoffReport, me: Engineer | None) -> str:
    if me is None or not report.is_pending:
        return ""
    if report.outgoing_id == me.pk:
        return "complete" if report.submitted_at is None else "waiting"
    if report.incoming_id == me.pk:
        return "acknowledge" if report.submitted_at is not None else "expecting"
    return ""


def handoff_lines(me: Engineer | None, now: datetime) -> tuple[list[Line], list[Line]]:
    """(mine: pending reports the viewer gives or takes, the rest: each other rotation's
    latest report), in one query."""
    found = (
        HandoffReport.objects.filter(
            Q(acknowledged_at__isnull=True) | Q(handoff_at__gte=now - RECENT)
        )
        .select_related("rotation", "outgoing", "incoming")
        .order_by("-handoff_at", "rotation__name")
    )
    mine: list[Line] = []
    latest: dict[int, Line] = {}
    for report in found:
        line = Line(report, report_url(report), todo_of(report, me))
        if line.todo:
            mine.append(line)
        latest.setdefault(report.rotation_id, line)
    taken = {line.report.rotation_id for line in mine}
    others = [line for pk, line in latest.items() if pk not in taken]
    return mine, sorted(others, key=lambda line: line.report.rotation.name)


def handoff_panel(me: Engineer | None, my_zone: str, found: Stamps | None, now: datetime) -> str:
    """The panel's HTML in my zone (else the portal's), remembered until a report, the
    schedule or someone's rights change, or within the hour (the job opens reports a day
    ahead, every quarter of an hour)."""

    def render_panel() -> tuple[str, datetime]:
        with timezone.override(ZoneInfo(my_zone) if my_zone else None):
            mine, others = handoff_lines(me, now)
            context = {"mine": mine, "others": others}
            html = render_to_string("handoff/handoff_panel.html", context)
        return mark_safe(html), now + timedelta(hours=1)

    key = ("handoff_panel", me.pk if me else None, my_zone)
    return remember(key, pick(found, "incidents", "schedule", "people"), now, render_panel)
