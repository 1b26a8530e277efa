"""``manage.py seed_demo``: a demo team of 8 on the Platform rotation, one shadowing this week.

Idempotent: a second run finds everything in place and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from handoff.models import WeekSetup
from pagerduty.management.commands.fake_pagerduty import demo_feed_path
from portal.actions import ensure_managers_group
from portal.demo_history import seed_history
from rotation.actions import save_roster
from rotation.models import Engineer, Rotation
from runbooks.imports import import_folder
from runbooks.models import Runbook

DEMO_PASSWORD = "oncall-demo-2026"
MANAGER = "carol@example.com"
# (name, email, time zone, phone); the last one is new and shadows this week.
TEAM = [
    ("Alice Nguyen", "alice@example.com", "America/Los_Angeles", "+1 415 555 0101"),
    ("Bob Okafor", "bob@example.com", "America/New_York", "+1 212 555 0102"),
    ("Carol Díaz", MANAGER, "America/Los_Angeles", "+1 415 555 0103"),
    ("Dan Brooks", "dan@example.com", "Europe/London", "+44 20 7946 0104"),
    ("Erin Walsh", "erin@example.com", "Europe/Berlin", "+49 30 5550 0105"),
    ("Frank Moreau", "frank@example.com", "America/Los_Angeles", "+1 415 555 0106"),
    ("Grace Kim", "grace@example.com", "Asia/Seoul", "+82 2 555 0107"),
    ("Hiro Tanaka", "hiro@example.com", "Asia/Tokyo", "+81 3 5550 0108"),
]


class Command(BaseCommand):
    help = "Load the demo team: 8 engineers on the Platform rotation, one shadowing this week."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        managers = ensure_managers_group()
        users = get_user_model()
        engineers = []
        for name, email, zone, phone in TEAM:
            user, created = users.objects.get_or_create(
                username=email, defaults={"email": email, "first_name": name.split()[0]}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = email == MANAGER
                user.save()
                if email == MANAGER:
                    user.groups.add(managers)
            engineer, _ = Engineer.objects.get_or_create(
                email=email,
                defaults={"name": name, "time_zone": zone, "phone": phone, "user": user},
            )
            engineers.append(engineer)
        rotation = Rotation.objects.filter(slug="platform").first()
        if rotation is None:
            rotation = Rotation(slug="platform", name="Platform", time_zone="America/Los_Angeles")
            this_week = rotation.calendar.handoff_day_at_or_before(timezone.now())
            # Three weeks of history; the newcomer (last in the order) shadows this week and
            # takes their first turn, as secondary, three weeks from now.
            rotation.starts_on = this_week - timedelta(weeks=3)
            rotation.save()
            save_roster(rotation, engineers, [(engineers[-1], this_week)], by=None)
        else:
            save_roster(rotation, engineers, None, by=None)
        link_demo_pagerduty(rotation)
        import_folder(DEMO_RUNBOOKS)
        use_demo_release_runbook(rotation)
        seed_history(rotation, timezone.now())
        self.stdout.write(
            f"Demo team ready: {len(engineers)} engineers on {rotation.name}.\n"
            f"  Log in as {MANAGER} (manager) or alice@example.com (engineer), "
            f"password {DEMO_PASSWORD}"
        )


DEMO_POLICY = "PDEMO01"
DEMO_RUNBOOKS = Path(__file__).resolve().parents[3] / "runbooks" / "demo"


def link_demo_pagerduty(rotation: Rotation) -> None:
    """Point the demo rotation at an escalation policy, and, when PAGERDUTY_API_URL is a local
    fake (``make run`` starts one), at its schedule feeds, so the sync panel has work to show."""
    rotation.pagerduty_escalation_policy_id = DEMO_POLICY
    api = settings.PAGERDUTY_API_URL.rstrip("/")
    if api.startswith("http://"):
        rotation.pagerduty_feeds = {
            role: api + demo_feed_path(rotation.slug, role) for role in ("primary", "secondary")
        }
    rotation.save(update_fields=["pagerduty_escalation_policy_id", "pagerduty_feeds"])


def use_demo_release_runbook(rotation: Rotation) -> None:
    """The demo rotation's release checklist comes from the imported Weekly release page."""
    runbook = Runbook.objects.filter(title__iexact="Weekly release").first()
    WeekSetup.objects.update_or_create(rotation=rotation, defaults={"release_runbook": runbook})
