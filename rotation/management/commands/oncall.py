"""``manage.py oncall``: who is primary, secondary and shadow at an instant, and who is next."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from portal.templatetags.portal_tags import in_zone
from rotation.oncall import OnCallQueryError, on_call, parse_at, rotations_named


class Command(BaseCommand):
    help = "Who is on call at an instant (now by default), when the shift ends, who is next."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rotation", help="a rotation's slug (default: every rotation)")
        parser.add_argument("--at", help="an ISO 8601 instant, e.g. 2026-12-01T18:00:00Z")
        parser.add_argument("--json", action="store_true", help="print DESIGN.md's JSON array")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            at = parse_at(options["at"], default=timezone.now())
            rotations = rotations_named(options["rotation"])
        except OnCallQueryError as error:
            raise CommandError(str(error)) from None
        answers = on_call(rotations, at)
        if options["json"]:
            self.stdout.write(json.dumps([answer.as_json() for answer in answers], indent=2))
            return
        for answer in answers:
            zone = answer.rotation.time_zone
            if answer.primary is None:
                start = in_zone(answer.shift_end, zone)
                self.stdout.write(
                    f"{answer.rotation.name}: not started (first handoff {start:%a %d %b %Y %H:%M %Z})"
                    if start
                    else f"{answer.rotation.name}: no roster yet"
                )
                continue
            end = in_zone(answer.shift_end, zone)
            assert (
                end is not None
                and answer.secondary
                and answer.next_primary
                and answer.next_secondary
            )
            shadows = ", ".join(e.name for e in answer.shadows) or "nobody"
            self.stdout.write(
                f"{answer.rotation.name}\n"
                f"  primary    {answer.primary.name} <{answer.primary.email}>\n"
                f"  secondary  {answer.secondary.name} <{answer.secondary.email}>\n"
                f"  shadow     {shadows}\n"
                f"  handoff    {end:%a %d %b %Y %H:%M %Z}\n"
                f"  next       {answer.next_primary.name} / {answer.next_secondary.name}"
            )
