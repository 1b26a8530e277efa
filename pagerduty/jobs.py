"""Background jobs of the PagerDuty integration: short, idempotent, safe when two workers overlap.

Two workers may run one at once: each rotation's work is claimed first (``sync.claimed``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from pagerduty import sync as pagerduty_sync
from pagerduty.client import client_from_settings
from rotation.models import Rotation


def sync_pagerduty_policies() -> str:
    """Every minute: sync each rotation's escalation policy that is due (a handoff or override
    edge passed, or five minutes since the last look). Off without a PagerDuty token."""
    if not settings.PAGERDUTY_API_TOKEN:
        return "PagerDuty sync is off: PAGERDUTY_API_TOKEN is not set"
    now = timezone.now()
    runs = []
    with client_from_settings() as client:
        for rotation in Rotation.objects.exclude(pagerduty_escalation_policy_id=""):
            if not pagerduty_sync.policy_sync_is_due(rotation, now):
                continue
            with pagerduty_sync.claimed(f"pagerduty-policy:{rotation.pk}", now) as mine:
                if not mine:
                    continue
                # The whole roster is matched to PagerDuty users at most hourly.
                with pagerduty_sync.claimed(
                    f"pagerduty-users:{rotation.pk}", now, timedelta(hours=1), release=False
                ) as match_roster:
                    runs.append(
                        pagerduty_sync.sync_policy(
                            rotation, client, match_roster=match_roster, now=now
                        )
                    )
    return "; ".join(f"{run.rotation}: {run.get_outcome_display()}" for run in runs) or "none due"


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
