"""What the dashboard's sync panel and the sync page show: the PagerDuty jobs' last good run,
last error, drift found in PagerDuty's feeds, how the incident import stands, and rostered
people with no PagerDuty user."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pagerduty.models import IncidentImport, SyncRun, WebcalImport
from rotation.models import Engineer, Rotation

GOOD = {SyncRun.Outcome.IN_SYNC, SyncRun.Outcome.CHANGED}
BAD = {SyncRun.Outcome.FAILED, SyncRun.Outcome.INTERRUPTED}
# The latest runs read to find each rotation's last good one and last error.
RUNS_READ = 200


@dataclass
class RotationSync:
    rotation: Rotation
    last_good: SyncRun | None = None
    last_error: SyncRun | None = None  # only when newer than the last good run
    failing_since: datetime | None = None  # the first failure after the last good run
    imports: list[WebcalImport] = field(default_factory=list)
    incident_import: IncidentImport | None = None
    unmapped: list[Engineer] = field(default_factory=list)


def uses_pagerduty(rotation: Rotation) -> bool:
    return bool(rotation.pagerduty_escalation_policy_id or rotation.pagerduty_feeds)


def sync_status(rotations: Sequence[Rotation]) -> list[RotationSync]:
    """One entry per rotation that uses PagerDuty, in three queries (four with someone
    unmatched)."""
    status = {r.pk: RotationSync(r) for r in rotations if uses_pagerduty(r)}
    if not status:
        return []
    runs = SyncRun.objects.filter(
        kind=SyncRun.Kind.POLICY, rotation_id__in=status, dry_run=False
    ).order_by("-started_at", "-id")[:RUNS_READ]
    unmapped: dict[int, list[str]] = {}
    for run in runs:
        entry = status[run.rotation_id]  # type: ignore[index]
        if entry.last_good is None and run.outcome in GOOD:
            entry.last_good = run
        if entry.last_good is None and run.outcome in BAD:
            entry.last_error = entry.last_error or run
            entry.failing_since = run.started_at
        if "unmapped" in run.found:
            unmapped.setdefault(entry.rotation.pk, run.found["unmapped"])
    for feed in WebcalImport.objects.filter(rotation_id__in=status):
        status[feed.rotation_id].imports.append(feed)
    for state in IncidentImport.objects.filter(rotation_id__in=status):
        status[state.rotation_id].incident_import = state
    # The people the latest lookup could not find, unless given an id since.
    emails = {email for found in unmapped.values() for email in found}
    if emails:
        missing = {
            e.email: e for e in Engineer.objects.filter(email__in=emails, pagerduty_user_id="")
        }
        for pk, found in unmapped.items():
            status[pk].unmapped = [missing[email] for email in found if email in missing]
    return list(status.values())
