"""``manage.py import PATH [--new-key]``: restore an export into an empty, migrated database."""  # noqa: N999 (the command's name)

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.backup import BackupError, import_portal


class Command(BaseCommand):
    help = (
        "Restore an archive made by `export` into an empty, migrated database (either engine), "
        "all or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the archive `export` wrote")
        parser.add_argument(
            "--new-key",
            action="store_true",
            help="restore under a secret key other than the archive's: every feed URL changes",
        )

    def handle(self, *args: Any, path: Path, new_key: bool, **options: Any) -> None:
        try:
            summary = import_portal(path, new_key=new_key)
        except BackupError as refusal:
            raise CommandError(str(refusal)) from refusal
        self.stdout.write(
            f"Imported {summary.rows} rows of {len(summary.counts)} models from {path} "
            f"(exported {summary.manifest['created_at']})."
        )
        if summary.key_changed:
            self.stdout.write(
                "Feed URLs are new under this secret key: everyone subscribes again from "
                "/calendars/."
            )
