"""Background jobs of the rotation app: short, idempotent, safe when two workers overlap."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from rotation import pagerduty_sync
from rotation.actions import materialise_shifts
from rotation.feed_actions import publish_calendars
from rotation.models import Engineer, Rotation
from rotation.pagerduty import client_from_settings


def materialise_all_shifts() -> str:
    """Keep a year of shifts stored ahead of every rotation (the horizon moves daily)."""
    created = deleted = 0
    for rotation in Rotation.objects.all():
        made, removed = materialise_shifts(rotation)
        created, deleted = created + made, deleted + removed
    return f"materialised shifts: {created} created, {deleted} removed"


def publish_all_calendars() -> str:
    """Bring the calendar feeds' events up to date (a no-op when nothing changed)."""
    publication = publish_calendars()
    return f"calendars published up to {publication.horizon:%Y-%m-%d}"


def tell_people_of_roster_change(
    rotation_id: int, effective: str, changes: dict[str, dict[str, list[str]]]
) -> str:
    """Email each engineer whose weeks a roster change moved: which they gain and which they lose.

    Queued by ``save_roster`` once the change is committed; a retry re-sends, which is harmless.
    """
    rotation = Rotation.objects.get(pk=rotation_id)
    when = datetime.fromisoformat(effective).astimezone(rotation.zone)
    names = dict(Engineer.objects.filter(email__in=changes).values_list("email", "name"))
    sent = 0
    for email, change in sorted(changes.items()):
        gains = ", ".join(f"{date.fromisoformat(d):%a %-d %b %Y}" for d in change["gains"])
        loses = ", ".join(f"{date.fromisoformat(d):%a %-d %b %Y}" for d in change["loses"])
        body = "\n".join(
            [
                f"Hello {names.get(email, email)},",
                "",
                f"The {rotation.name} roster changed, from the handoff on "
                f"{when:%a %-d %b %Y %H:%M %Z}.",
                f"Weeks you are now on call: {gains or 'none added'}.",
                f"Weeks you are no longer on call: {loses or 'none removed'}.",
                "",
                "Your dashboard has the details.",
            ]
        )
        sent += send_mail(f"{rotation.name} on-call weeks changed", body, None, [email])
    return f"roster change on {rotation.slug}: told {sent} people"


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
