"""``manage.py import_webcal``: read each rotation's PagerDuty schedule feeds and report drift."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from pagerduty import sync as pagerduty_sync
from pagerduty.client import client_from_settings
from pagerduty.models import SyncRun
from rotation.models import Rotation


class Command(BaseCommand):
    help = "Read the configured PagerDuty schedule feeds and record where they differ."

    def handle(self, *args: Any, **options: Any) -> None:
        failed = False
        with client_from_settings() as client:
            for rotation in Rotation.objects.exclude(pagerduty_feeds={}):
                for role, url in sorted(rotation.pagerduty_feeds.items()):
                    run = pagerduty_sync.import_feed(rotation, role, url, client)
                    failed |= run.outcome == SyncRun.Outcome.FAILED
                    self.stdout.write(f"{rotation.slug} {role}: {run.get_outcome_display()}")
                    if run.error:
                        self.stdout.write(f"  {run.error}")
                    for drift in run.found.get("drift", []):
                        self.stdout.write(
                            f"  {drift['start']} to {drift['end']}: portal {drift['portal'] or 'nobody'}, "
                            f"PagerDuty {drift['pagerduty'] or 'nobody'}"
                        )
        if failed:
            raise CommandError("at least one feed could not be read (the last good import is kept)")
