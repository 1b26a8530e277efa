"""PagerDuty's incidents linked to the portal's: what is read, what is opened, and the rules.

For each rotation, the services are those of its escalation policy in PagerDuty (the policy's
read-only ``services``): an incident pages the people of the policy of its service, so these
are the incidents the rotation answers, and nothing needs keeping in step by hand when a
service is added in PagerDuty.

One import reads every incident of those services created in its window, then the overview
log entries of those it needs times for, and only then writes: a read that fails part way
writes nothing, keeps ``read_until`` and records what failed (shown with the sync state).

- A high-urgency incident with no portal incident opens one; a low-urgency one is linked only
  when a portal incident already names it (its ``pagerduty_url``).
- The link is unique on PagerDuty's id, so an incident imported twice, or by two workers at
  once, stays one (the second worker's insert waits for the first, then finds its link).
- Acknowledgement and resolution times come from the first acknowledge and resolve log entries
  (else the incident's own fields) and are written once each, with a timeline entry.
- For the on-call SLO (``pagerduty.slo``), the same log entries say when the page first went on
  to the next level (the first ``escalate_log_entry``: PagerDuty writes one when a level's
  delay runs out, channel ``timeout``, or when someone escalates by hand) and who acknowledged
  it (the first acknowledge entry's ``agent``, a user reference). Both are written once.

The window: PagerDuty's ``since``/``until`` filter on creation time, so an incident created
before the last read but acknowledged after it would be missed. The window therefore starts at
the oldest linked incident still unresolved (or the last read less an overlap, if earlier),
and never more than FOLLOW_FOR before now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Min

from incidents import actions as incident_actions
from incidents.models import Incident, Severity, Status
from pagerduty.client import PagerDuty, PagerDutyError
from pagerduty.models import IncidentImport, IncidentLink
from rotation.models import Rotation

FIRST_LOOK = timedelta(days=30)  # the first import reads this far back
FOLLOW_FOR = timedelta(days=90)  # an incident open longer than this is no longer followed
# PagerDuty is eventually consistent: an incident created just before a read may show in the
# next one only, so each window starts a little before the last one ended.
OVERLAP = timedelta(minutes=5)
# Priority names as PagerDuty's default priorities spell them (P1 highest). An account may
# rename them; a name not listed falls back on the urgency.
SEVERITY_OF_PRIORITY = {
    "P1": Severity.SEV1,
    "P2": Severity.SEV2,
    "P3": Severity.SEV3,
    "P4": Severity.SEV4,
    "P5": Severity.SEV4,
}
# Without a known priority: high urgency pages someone now, so SEV2 (major) until people
# say otherwise; low urgency is at most SEV4 (and is never opened by the import).
SEVERITY_OF_URGENCY = {"high": Severity.SEV2, "low": Severity.SEV4}
STATUS_OF = {
    "triggered": Status.INVESTIGATING,
    "acknowledged": Status.INVESTIGATING,
    "resolved": Status.RESOLVED,
}
TIMES = {"acknowledged_at": "acknowledge_log_entry", "resolved_at": "resolve_log_entry"}
# Read from the same log entries, written once, without a timeline entry: for the on-call SLO.
LOGGED = TIMES | {"escalated_at": "escalate_log_entry"}
USERS = {"user", "user_reference"}


@dataclass(frozen=True)
class Reading:
    """What the import keeps of one PagerDuty incident."""

    pagerduty_id: str
    html_url: str
    title: str
    urgency: str
    status: str  # PagerDuty's
    created_at: datetime
    service: str
    priority: str
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    escalated_at: datetime | None = None
    acknowledged_by: str = ""  # a PagerDuty user id, from the log entries

    @property
    def severity(self) -> Severity:
        return SEVERITY_OF_PRIORITY.get(self.priority) or SEVERITY_OF_URGENCY.get(
            self.urgency, Severity.SEV2
        )

    def missing_times(self, link: IncidentLink | None) -> bool:
        """True when PagerDuty's state has a time the link lacks (for a triggered incident, its
        escalation): read the log entries. Once a
        resolution is read, never again: an incident resolved without an acknowledgement
        would otherwise have its log read on every run that sees it."""
        if self.status == "triggered":
            # Nobody has answered: has it gone on to the secondary yet? (Few incidents are
            # unanswered at once, so reading their logs on each run costs little.)
            return link is None or link.escalated_at is None
        if self.status == "acknowledged":
            return link is None or link.acknowledged_at is None
        return self.status == "resolved" and (link is None or link.resolved_at is None)


def reading_of(incident: dict[str, Any]) -> Reading:
    """A Reading of an incident as ``GET /incidents`` answers it. Its acknowledgement time is
    the earliest in ``acknowledgements`` (PagerDuty lists only the current ones), its
    resolution ``resolved_at``: the log entries, when read, say better (``with_log_entries``)."""
    acknowledgements = [_instant(a["at"]) for a in incident.get("acknowledgements") or []]
    resolved = incident.get("resolved_at") if incident.get("status") == "resolved" else None
    priority = incident.get("priority") or {}
    return Reading(
        pagerduty_id=str(incident["id"]),
        html_url=str(incident["html_url"]),
        title=str(incident.get("title") or incident.get("summary") or incident["id"])[:200],
        urgency=str(incident.get("urgency") or "high"),
        status=str(incident["status"]),
        created_at=_instant(incident["created_at"]),
        service=str((incident.get("service") or {}).get("summary") or "")[:300],
        priority=str(priority.get("name") or priority.get("summary") or ""),
        acknowledged_at=min(acknowledgements, default=None),
        resolved_at=_instant(resolved) if resolved else None,
    )


def with_log_entries(reading: Reading, entries: Iterable[dict[str, Any]]) -> Reading:
    """``reading`` with the times of its first acknowledge, resolve and escalate log entries,
    where there are such entries (their order does not matter), and the agent of the first
    acknowledge entry."""
    firsts: dict[str, datetime] = {}
    acknowledger: tuple[datetime, str] | None = None
    for entry in entries:
        kind = entry.get("type")
        at = _instant(entry["created_at"]) if kind in LOGGED.values() else None
        for name, logged in LOGGED.items():
            if kind == logged and at is not None:
                firsts[name] = min(at, firsts.get(name, at))
        agent = entry.get("agent") or {}
        by_user = kind == TIMES["acknowledged_at"] and agent.get("type") in USERS
        if by_user and at is not None and (acknowledger is None or at < acknowledger[0]):
            acknowledger = (at, str(agent.get("id") or "")[:20])
    return replace(
        reading,
        acknowledged_at=firsts.get("acknowledged_at", reading.acknowledged_at),
        resolved_at=firsts.get("resolved_at", reading.resolved_at),
        escalated_at=firsts.get("escalated_at", reading.escalated_at),
        acknowledged_by=acknowledger[1] if acknowledger else reading.acknowledged_by,
    )


def window_start(
    read_until: datetime | None, oldest_open: datetime | None, now: datetime
) -> datetime:
    """Where the next read starts (see the module docstring)."""
    start = read_until - OVERLAP if read_until else now - FIRST_LOOK
    if oldest_open is not None:
        start = min(start, oldest_open)
    return max(start, now - FOLLOW_FOR)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Counts:
    read: int = 0
    linked: int = 0
    opened: int = 0
    times: int = 0


def import_rotation_incidents(
    rotation: Rotation, client: PagerDuty, *, now: datetime
) -> IncidentImport:
    """Read the rotation's PagerDuty incidents since its last good import and link them; the
    import's row says how far it read, or what failed (then nothing was written)."""
    state, _ = IncidentImport.objects.get_or_create(rotation=rotation)
    try:
        readings, service_ids = _read(rotation, client, state, now=now)
    except PagerDutyError as error:
        IncidentImport.objects.filter(pk=state.pk).update(attempted_at=now, error=error.message)
        state.refresh_from_db()
        return state
    counts = Counts(read=len(readings))
    links, named = _known(readings)
    for reading in readings:
        _link(reading, links.get(reading.pagerduty_id), named, rotation, counts, now=now)
    found = {"service_ids": service_ids, **vars(counts)}
    IncidentImport.objects.filter(pk=state.pk).update(
        read_until=now, imported_at=now, attempted_at=now, error="", found=found
    )
    state.refresh_from_db()
    return state


def _read(
    rotation: Rotation, client: PagerDuty, state: IncidentImport, *, now: datetime
) -> tuple[list[Reading], list[str]]:
    """Every reading of the window, with log-entry times where needed; raises PagerDutyError."""
    policy = client.get_escalation_policy(rotation.pagerduty_escalation_policy_id)
    service_ids = sorted(str(s["id"]) for s in policy.get("services") or [])
    if not service_ids:
        return [], []
    oldest_open = IncidentLink.objects.filter(
        rotation=rotation, resolved_at__isnull=True
    ).aggregate(oldest=Min("created_at"))["oldest"]
    since = window_start(state.read_until, oldest_open, now)
    readings = [reading_of(i) for i in client.list_incidents(service_ids, since, now)]
    links, named = _known(readings)
    complete = []
    for reading in readings:
        link = links.get(reading.pagerduty_id)
        followed = link is not None or reading.urgency == "high" or reading.html_url in named
        if followed and reading.missing_times(link):
            reading = with_log_entries(reading, client.log_entries(reading.pagerduty_id))
        complete.append(reading)
    return complete, service_ids


def _known(readings: Sequence[Reading]) -> tuple[dict[str, IncidentLink], dict[str, Incident]]:
    """The links of these readings by PagerDuty id, and the portal incidents naming them by
    URL: two queries, whatever the number of readings."""
    ids = [r.pagerduty_id for r in readings]
    links = {link.pagerduty_id: link for link in IncidentLink.objects.filter(pagerduty_id__in=ids)}
    urls = [r.html_url for r in readings if r.pagerduty_id not in links]
    named: dict[str, Incident] = {}
    if urls:
        for incident in Incident.objects.filter(pagerduty_url__in=urls).order_by("id"):
            named.setdefault(incident.pagerduty_url, incident)
    return links, named


def _link(
    reading: Reading,
    link: IncidentLink | None,
    named: dict[str, Incident],
    rotation: Rotation,
    counts: Counts,
    *,
    now: datetime,
) -> None:
    if link is None:
        link = _new_link(reading, named.get(reading.html_url), rotation, counts, now=now)
        if link is None:
            return
    elif (link.status, link.urgency) != (reading.status, reading.urgency):
        IncidentLink.objects.filter(pk=link.pk).update(
            status=reading.status, urgency=reading.urgency
        )
    for name in TIMES:
        when: datetime | None = getattr(reading, name)
        if when is None or getattr(link, name) is not None:
            continue
        # The conditional update decides which of two workers writes the timeline entry.
        with transaction.atomic():
            won = IncidentLink.objects.filter(pk=link.pk, **{f"{name}__isnull": True}).update(
                **{name: when}
            )
            if won and link.incident is not None:
                incident_actions.note_pagerduty_time(link.incident, name, when, now=now)
                counts.times += 1
    # Escalation and acknowledger: figures for the SLO only, so a plain write-once update.
    if reading.escalated_at is not None and link.escalated_at is None:
        IncidentLink.objects.filter(pk=link.pk, escalated_at__isnull=True).update(
            escalated_at=reading.escalated_at
        )
    if reading.acknowledged_by and not link.acknowledged_by_pd_user:
        IncidentLink.objects.filter(pk=link.pk, acknowledged_by_pd_user="").update(
            acknowledged_by_pd_user=reading.acknowledged_by
        )


@transaction.atomic
def _new_link(
    reading: Reading,
    named: Incident | None,
    rotation: Rotation,
    counts: Counts,
    *,
    now: datetime,
) -> IncidentLink | None:
    """The link of a PagerDuty incident seen for the first time, with the portal incident it
    names or a new one; None for a low-urgency incident no portal incident names."""
    if named is None and reading.urgency != "high":
        return None
    # Another worker may be inserting the same id: its insert holds ours until it commits, and
    # get_or_create then reads its link instead of opening a second incident.
    link, created = IncidentLink.objects.get_or_create(
        pagerduty_id=reading.pagerduty_id,
        defaults={
            "rotation": rotation,
            "html_url": reading.html_url,
            "urgency": reading.urgency,
            "status": reading.status,
            "created_at": reading.created_at,
        },
    )
    if not created:
        return link
    link.incident = named or _open(reading, rotation, now=now)
    link.save(update_fields=["incident"])
    counts.linked += 1
    counts.opened += named is None
    return link


def _open(reading: Reading, rotation: Rotation, *, now: datetime) -> Incident:
    fields = {
        "title": reading.title,
        "severity": reading.severity,
        "status": STATUS_OF.get(reading.status, Status.INVESTIGATING),
        "services": reading.service,
        "started_at": reading.created_at,
        "detected_at": reading.created_at,
        "rotation": rotation,
        "pagerduty_url": reading.html_url,
    }
    if reading.status == "resolved":
        # A resolved incident needs its resolution time to owe the right post-mortem date.
        fields["resolved_at"] = reading.resolved_at or now
    return incident_actions.open_incident(fields, by=None, now=now)
