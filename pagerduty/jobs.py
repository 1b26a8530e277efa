"""Background jobs of the PagerDuty integration: short, idempotent, safe when two workers overlap.

Two workers may run one at once: each rotation's policy sync is claimed first
(``sync.sync_policy_claimed``), and a run that finds the claim held says who holds it; the
incident import needs no claim, as its links are unique and each time is set by a conditional
update.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from pagerduty import sync as pagerduty_sync
from pagerduty.client import PagerDuty, client_from_settings
from pagerduty.incident_import import import_rotation_incidents
from pagerduty.models import SyncRun
from rotation.models import Rotation


def sync_pagerduty_policies(*, sleep: Callable[[float], None] = time.sleep) -> str:
    """Every minute: sync each rotation's escalation policy that is due (a handoff or override
    edge passed, a run was interrupted, or five minutes passed since the last look). Off
    without a PagerDuty token."""
    if not settings.PAGERDUTY_API_TOKEN:
        return "PagerDuty sync is off: PAGERDUTY_API_TOKEN is not set"
    done = []
    with client_from_settings() as client:
        for rotation in Rotation.objects.exclude(pagerduty_escalation_policy_id=""):
            if not pagerduty_sync.policy_sync_is_due(rotation, timezone.now()):
                continue
            result = pagerduty_sync.sync_policy_claimed(
                rotation, client, only_if_due=True, sleep=sleep
            )
            if result is not None:
                done.append(f"{rotation}: {summary_of(result)}")
    return "; ".join(done) or "none due"


def summary_of(result: SyncRun | pagerduty_sync.Busy) -> str:
    """'Changed', 'In sync (after interrupted run 12)', 'skipped: run 12 by ... since ...'."""
    if isinstance(result, pagerduty_sync.Busy):
        return str(result)
    interrupted = result.found.get("interrupted")
    after = f" (after interrupted run {', '.join(map(str, interrupted))})" if interrupted else ""
    return f"{result.get_outcome_display()}{after}"


def import_webcal_feeds() -> str:
    """Read every configured PagerDuty schedule feed and record drift against the roster."""
    if not settings.PAGERDUTY_API_TOKEN:
        return "PagerDuty feeds are off: PAGERDUTY_API_TOKEN is not set"
    now = timezone.now()
    runs = []
    with client_from_settings() as client:
        for rotation in Rotation.objects.exclude(pagerduty_feeds={}):
            for role, url in sorted(rotation.pagerduty_feeds.items()):
                runs.append(pagerduty_sync.import_feed(rotation, role, url, client, now=now))
    return (
        "; ".join(
            f"{run.rotation} {run.found['role']}: {run.get_outcome_display()}" for run in runs
        )
        or "no feeds"
    )


def import_incidents(now: datetime | None = None, *, client: PagerDuty | None = None) -> str:
    """Link PagerDuty's incidents on each rotation's services to portal incidents, opening one
    for each new high-urgency incident (pagerduty/incident_import.py). Off without a token."""
    if client is None and not settings.PAGERDUTY_API_TOKEN:
        return "PagerDuty incidents are off: PAGERDUTY_API_TOKEN is not set"
    now = now or timezone.now()
    done = []
    with client or client_from_settings() as pagerduty:
        for rotation in Rotation.objects.exclude(pagerduty_escalation_policy_id=""):
            state = import_rotation_incidents(rotation, pagerduty, now=now)
            if state.error and state.attempted_at == now:
                done.append(f"{rotation}: failed: {state.error}")
            else:
                found = state.found
                done.append(
                    f"{rotation}: {found.get('read', 0)} read, {found.get('opened', 0)} opened,"
                    f" {found.get('linked', 0)} linked"
                )
    return "; ".join(done) or "no rotation uses PagerDuty"
