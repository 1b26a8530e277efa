"""What a handoff report says: the sections filled in from the portal's own records.

``report_contents`` assembles them from a few queries into plain JSON (times as ISO UTC
strings, people by name), so a submitted report can be frozen as it stood and read back the
same way however the rows it came from change later. Templates show the times in the reader's
zone (``handoff_tags.from_iso``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.urls import reverse

from handoff.release import opened_release_state
from handoff.triage import triage_log
from incidents import heads_up
from incidents.models import ActionItem, Incident, Postmortem, PostmortemStatus
from pagerduty.status import sync_status
from rotation.models import Override, Rotation, Swap, SwapStatus

# Covers and swaps are listed from now until this long after the handoff: the incoming week.
WEEK_AHEAD = timedelta(days=7)
# The longest list a section shows; the pages behind each link show the rest.
SECTION_LIMIT = 50


def iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _of_rotation(rotation: Rotation, prefix: str = "") -> Q:
    # An incident opened without a rotation concerns whoever is on call for every one.
    return Q(**{f"{prefix}rotation": rotation}) | Q(**{f"{prefix}rotation__isnull": True})


def report_contents(
    rotation: Rotation, week_start: datetime, handoff_at: datetime, now: datetime
) -> dict[str, Any]:
    """Every section of the report for the week [week_start, handoff_at), as of ``now``."""
    return {
        "week_start": iso(week_start),
        "handoff_at": iso(handoff_at),
        "as_of": iso(now),
        "incidents": incidents_of_week(rotation, week_start, handoff_at),
        "postmortems_owed": postmortems_owed(rotation, now),
        "action_items": open_action_items(rotation, now),
        "heads_ups": heads_ups_ahead(now),
        "triage": triage_section(rotation, week_start, handoff_at),
        "release": release_section(rotation, week_start),
        "pagerduty": pagerduty_section(rotation),
        "covers": covers_coming(rotation, now, handoff_at + WEEK_AHEAD),
        "swaps": swaps_coming(rotation, now, handoff_at + WEEK_AHEAD),
    }


def incidents_of_week(
    rotation: Rotation, week_start: datetime, handoff_at: datetime
) -> list[dict[str, Any]]:
    """Opened during the week, or still open at any point of it: one query."""
    found = (
        Incident.objects.filter(_of_rotation(rotation), started_at__lt=handoff_at)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=week_start))
        .order_by("started_at", "id")[:SECTION_LIMIT]
    )
    return [
        {
            "title": i.title,
            "severity": i.severity,
            "status": i.get_status_display(),
            "open": i.is_open,
            "link": i.get_absolute_url(),
            "started_at": iso(i.started_at),
            "resolved_at": iso(i.resolved_at),
        }
        for i in found
    ]


def postmortems_owed(rotation: Rotation, now: datetime) -> list[dict[str, Any]]:
    """Every post-mortem not yet published, soonest due first: one query."""
    today = now.astimezone(rotation.zone).date()
    found = (
        Postmortem.objects.filter(_of_rotation(rotation, "incident__"))
        .exclude(status=PostmortemStatus.PUBLISHED)
        .select_related("incident", "owner")
        .order_by("due_on", "id")[:SECTION_LIMIT]
    )
    return [
        {
            "incident": p.incident.title,
            "link": p.get_absolute_url(),
            "owner": p.owner.name,
            "status": p.get_status_display(),
            "due_on": p.due_on.isoformat(),
            "overdue": p.is_overdue(today),
        }
        for p in found
    ]


def open_action_items(rotation: Rotation, now: datetime) -> list[dict[str, Any]]:
    """Every action item not done, soonest due first: one query."""
    today = now.astimezone(rotation.zone).date()
    found = (
        ActionItem.objects.filter(
            _of_rotation(rotation, "postmortem__incident__"), done_at__isnull=True
        )
        .select_related("owner", "postmortem__incident")
        .order_by("due_on", "id")[:SECTION_LIMIT]
    )
    return [
        {
            "title": a.title,
            "incident": a.postmortem.incident.title,
            "link": a.postmortem.get_absolute_url(),
            "owner": a.owner.name,
            "due_on": a.due_on.isoformat(),
            "overdue": a.is_overdue(today),
            "tracker_url": a.tracker_url,
        }
        for a in found
    ]


def heads_ups_ahead(now: datetime) -> list[dict[str, Any]]:
    """On now or starting within seven days (the dashboard's horizon): one query."""
    return [
        {
            "title": h.title,
            "kind": h.get_kind_display(),
            "starts_at": iso(h.starts_at),
            "ends_at": iso(h.ends_at),
            "services": h.services,
            "customer_facing": h.customer_facing,
            "link": f"{reverse('heads_up:board')}#heads-up-{h.pk}",
        }
        for h in heads_up.coming(now)
    ]


def triage_section(
    rotation: Rotation, week_start: datetime, handoff_at: datetime
) -> list[dict[str, Any]]:
    """The week's business days due for triage, each ticked or not (``triage_log``)."""
    return [
        {
            "day": entry.day.isoformat(),
            "done_at": iso(entry.ticked.done_at) if entry.ticked else None,
            "done_by": entry.done_by,
            "note": entry.ticked.note if entry.ticked else "",
            "due_at": iso(entry.due_at),
            "overdue": entry.is_overdue,
        }
        for entry in triage_log(rotation, week_start, handoff_at)
    ]


def release_section(rotation: Rotation, week_start: datetime) -> dict[str, Any] | None:
    """The week's release checklist step by step (``release_state``); None when nobody has
    opened it (the steps it would have are the runbook's, not news)."""
    state = opened_release_state(rotation, week_start)
    if state is None:
        return None
    return {
        "owner": state.owner.name if state.owner else "",
        "steps": [
            {"text": s.text, "done_at": iso(s.done_at), "done_by": s.done_by} for s in state.steps
        ],
        "done": state.done,
    }


def pagerduty_section(rotation: Rotation) -> dict[str, Any] | None:
    """The dashboard's sync state for this rotation; None when it does not use PagerDuty."""
    found = sync_status([rotation])
    if not found:
        return None
    (state,) = found
    return {
        "last_good": iso(state.last_good.started_at if state.last_good else None),
        "last_error": state.last_error.error if state.last_error else "",
        "failing_since": iso(state.failing_since),
        "drift": [
            {"role": feed.role, "count": len(feed.drift)} for feed in state.imports if feed.drift
        ],
        "feed_errors": [
            {"role": feed.role, "error": feed.error} for feed in state.imports if feed.error
        ],
        "unmapped": [person.name for person in state.unmapped],
        "link": reverse("pagerduty:sync"),
    }


def covers_coming(rotation: Rotation, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Covers (an override standing in for someone) overlapping [start, end): one query."""
    found = (
        Override.objects.filter(rotation=rotation, covers__isnull=False)
        .overlapping(start, end)
        .select_related("engineer", "covers")
        .order_by("starts_at", "id")[:SECTION_LIMIT]
    )
    return [
        {
            "role": o.role,
            "by": o.engineer.name,
            "for": o.covers.name if o.covers else "",
            "starts_at": iso(o.starts_at),
            "ends_at": iso(o.ends_at),
            "reason": o.reason,
        }
        for o in found
    ]


def swaps_coming(rotation: Rotation, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Accepted swaps with either stint starting in [start, end): one query."""
    window = Q(proposer_stint__gte=start, proposer_stint__lt=end) | Q(
        partner_stint__gte=start, partner_stint__lt=end
    )
    found = (
        Swap.objects.filter(window, rotation=rotation, status=SwapStatus.ACCEPTED)
        .select_related("proposer", "partner")
        .order_by("proposer_stint", "id")[:SECTION_LIMIT]
    )
    return [
        {
            "proposer": s.proposer.name,
            "proposer_stint": iso(s.proposer_stint),
            "partner": s.partner.name,
            "partner_stint": iso(s.partner_stint),
        }
        for s in found
    ]
