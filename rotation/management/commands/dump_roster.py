"""``manage.py dump_roster``: the current roster in the roster file format (TOML)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from rotation.roster_file import dump_roster


class Command(BaseCommand):
    help = "Print every engineer and rotation as a roster file that load_roster reads back."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(dump_roster(), ending="")
