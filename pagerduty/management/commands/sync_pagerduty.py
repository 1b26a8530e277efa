"""``manage.py sync_pagerduty [--dry-run] [--rotation SLUG]``: make PagerDuty's escalation
policies equal to the roster now, or show what would change."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pagerduty import sync as pagerduty_sync
from pagerduty.client import client_from_settings
from pagerduty.models import SyncRun
from rotation.models import Rotation


class Command(BaseCommand):
    help = "Make each rotation's PagerDuty escalation policy equal to the roster."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="show changes, write none")
        parser.add_argument("--rotation", help="only this rotation (slug)")

    def handle(self, *args: Any, dry_run: bool, rotation: str | None, **options: Any) -> None:
        if not settings.PAGERDUTY_API_TOKEN:
            raise CommandError("PAGERDUTY_API_TOKEN is not set")
        rotations = Rotation.objects.exclude(pagerduty_escalation_policy_id="")
        if rotation:
            rotations = rotations.filter(slug=rotation)
            if not rotations:
                raise CommandError(f"no rotation {rotation!r} with an escalation policy id")
        failed = False
        with client_from_settings() as client:
            for each in rotations:
                if dry_run:
                    run = pagerduty_sync.sync_policy(each, client, dry_run=True, match_roster=True)
                else:
                    # Under the rotation's claim, like the job: never beside a running sync.
                    claimed = pagerduty_sync.sync_policy_claimed(
                        each, client, only_if_due=False, match_roster=True
                    )
                    if not isinstance(claimed, SyncRun):
                        self.stdout.write(f"{each.slug}: {claimed}")
                        failed = True
                        continue
                    run = claimed
                failed |= run.outcome == SyncRun.Outcome.FAILED
                self.stdout.write(
                    f"{each.slug}: {run.get_outcome_display()} ({run.api_calls} API calls)"
                )
                if run.error:
                    self.stdout.write(f"  {run.error}")
                if run.changed:
                    self.stdout.write("  levels: " + json.dumps(run.changed["levels"]))
        if failed:
            raise CommandError("at least one rotation failed to sync (see above)")
