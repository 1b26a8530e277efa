"""A rotation's escalation path as PagerDuty has it, and its on-call SLO figures, read for the
escalation page (``pagerduty.slo`` computes; this module reads).

The path is read from PagerDuty when the page is drawn, through a client with short timeouts
and one retry at most, so a slow PagerDuty costs the reader seconds, not the 30 s a job may
wait. When PagerDuty cannot be read, the page shows the levels the last good policy sync read
(its run's ``found["levels"]``, or ``changed["levels"]`` when it wrote them) and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from pagerduty import slo
from pagerduty.client import PagerDuty, PagerDutyError, client_from_settings
from pagerduty.models import AcknowledgeTarget, IncidentLink, SyncRun
from pagerduty.sync import DELAY_MINUTES, USER_TYPES
from rotation.effective import EffectiveSchedule, effective_schedule
from rotation.health import quarter_of
from rotation.models import Engineer, Rotation
from rotation.schedule import Duty
from rotation.weeks import weeks_of

# The page waits at most about this long for PagerDuty (one retry, short timeouts).
PAGE_TIMEOUT = 3.0
DEFAULT_TARGET = timedelta(minutes=DELAY_MINUTES)


@dataclass(frozen=True)
class Target:
    """One target of a level: a PagerDuty user (with the engineer it is, if known) or another
    kind of target (a schedule), by PagerDuty's name for it."""

    kind: str  # "user", "schedule", ...
    ident: str
    name: str
    engineer: Engineer | None = None


@dataclass(frozen=True)
class Level:
    number: int
    delay: int  # minutes before the page goes on to the next level
    targets: list[Target]


@dataclass
class EscalationPath:
    levels: list[Level] = field(default_factory=list)
    live: bool = False  # read from PagerDuty just now
    read_at: datetime | None = None  # of the stored read, when not live
    error: str = ""  # why PagerDuty was not read now
    policy_id: str = ""
    num_loops: int = 0


def page_client() -> PagerDuty:
    """The client the page reads PagerDuty through (tests replace it)."""
    return client_from_settings(timeout=PAGE_TIMEOUT, max_attempts=2, max_wait=PAGE_TIMEOUT)


def read_path(rotation: Rotation) -> EscalationPath:
    """The rotation's escalation path: live from PagerDuty, else the last good sync's read."""
    policy_id = rotation.pagerduty_escalation_policy_id
    path = EscalationPath(policy_id=policy_id)
    if not policy_id:
        return path
    if not settings.PAGERDUTY_API_TOKEN:
        path.error = "PagerDuty is not configured here (no API token)"
    else:
        try:
            with page_client() as client:
                policy = client.get_escalation_policy(policy_id)
        except PagerDutyError as error:
            path.error = error.message
        else:
            path.live, path.num_loops = True, int(policy.get("num_loops") or 0)
            path.levels = _named(_live_levels(policy))
            return path
    last_good = (
        SyncRun.objects.filter(
            kind=SyncRun.Kind.POLICY,
            rotation=rotation,
            dry_run=False,
            outcome__in=[SyncRun.Outcome.IN_SYNC, SyncRun.Outcome.CHANGED],
        )
        .order_by("-started_at", "-id")
        .first()
    )
    if last_good is not None:
        stored = last_good.changed if last_good.outcome == SyncRun.Outcome.CHANGED else None
        described = (stored or last_good.found).get("levels") or []
        path.read_at = last_good.started_at
        path.levels = _named(_stored_levels(described))
    return path


def _live_levels(policy: dict[str, Any]) -> list[Level]:
    return [
        Level(
            number,
            int(rule.get("escalation_delay_in_minutes") or 0),
            [
                Target(
                    "user" if t.get("type") in USER_TYPES else str(t.get("type", "")),
                    str(t.get("id", "")),
                    str(t.get("summary") or t.get("id") or ""),
                )
                for t in rule.get("targets") or []
            ],
        )
        for number, rule in enumerate(policy.get("escalation_rules") or [], start=1)
    ]


def _stored_levels(described: list[dict[str, Any]]) -> list[Level]:
    """Levels from ``sync.describe_levels``: {"delay", "targets": ["user:PID", ...]}."""
    levels = []
    for number, level in enumerate(described, start=1):
        targets = []
        for text in level.get("targets") or []:
            kind, _, ident = str(text).partition(":")
            targets.append(Target(kind, ident, ident))
        levels.append(Level(number, int(level.get("delay") or 0), targets))
    return levels


def _named(levels: list[Level]) -> list[Level]:
    """``levels`` with each user target's engineer, in one query."""
    ids = {t.ident for level in levels for t in level.targets if t.kind == "user"}
    known = {e.pagerduty_user_id: e for e in Engineer.objects.filter(pagerduty_user_id__in=ids)}
    return [
        Level(
            level.number,
            level.delay,
            [
                Target(t.kind, t.ident, t.name, known.get(t.ident) if t.kind == "user" else None)
                for t in level.targets
            ],
        )
        for level in levels
    ]


def target_of(rotation: Rotation) -> timedelta:
    """The rotation's time-to-acknowledge target (the escalation delay unless set)."""
    row = AcknowledgeTarget.objects.filter(rotation=rotation).first()
    return timedelta(minutes=row.minutes) if row else DEFAULT_TARGET


def pages_of(rotation: Rotation, start: datetime, end: datetime) -> list[slo.Page]:
    """The rotation's PagerDuty incidents created in [start, end), as pages: one query."""
    rows = IncidentLink.objects.filter(
        rotation=rotation, created_at__gte=start, created_at__lt=end
    ).values_list("created_at", "acknowledged_at", "escalated_at", "urgency")
    return [slo.Page(*row) for row in rows]


@dataclass(frozen=True)
class RotationSlo:
    figures: slo.OnCallSlo
    effective: EffectiveSchedule  # covering the figures' weeks and now


def rotation_slo(rotation: Rotation, now: datetime) -> RotationSlo:
    """The last ``slo.WEEKS_SHOWN`` weeks begun by ``now`` and this quarter so far."""
    quarter = quarter_of(now, rotation.zone)
    # One week more than shown, so the oldest shown week's slot is whole.
    start = min(quarter[0], now - (slo.WEEKS_SHOWN + 1) * timedelta(days=7))
    effective = effective_schedule(rotation, start, now + timedelta(seconds=1))
    weeks = [
        (w.start, w.end)
        for w in weeks_of(effective.stretches, rotation.zone)
        if w.start >= start and w.start <= now
    ][-slo.WEEKS_SHOWN :]
    people = effective.people
    figures = slo.on_call_slo(
        pages_of(rotation, start, now),
        effective.stretches,
        list(reversed(weeks)),
        (quarter[0], min(quarter[1], now)),
        target_of(rotation),
        zone=rotation.zone,
        zones={e: ZoneInfo(p.time_zone) for e, p in people.items() if p.time_zone},
        names={e: p.name for e, p in people.items()},
    )
    return RotationSlo(figures, effective)


def holders_now(effective: EffectiveSchedule, now: datetime) -> dict[str, Engineer | None]:
    """Who holds primary and secondary at ``now``, by the effective schedule."""
    found: dict[str, Engineer | None] = {}
    for role in (Duty.PRIMARY, Duty.SECONDARY):
        stretch = effective.holder(role, now)
        found[role.value] = effective.person(stretch.member) if stretch else None
    return found
