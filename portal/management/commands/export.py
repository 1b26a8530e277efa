"""``manage.py export PATH``: the whole portal as one versioned archive (portal/backup.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.backup import BackupError, export_portal


class Command(BaseCommand):
    help = (
        "Write users, rosters, overrides, feed tokens, incidents, post-mortems, runbooks with "
        "every revision and the audit log to a .tar.gz archive that `import` restores."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the archive to write (replaced if it exists)")

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        try:
            summary = export_portal(path)
        except BackupError as refusal:
            raise CommandError(str(refusal)) from refusal
        fingerprint = summary.manifest["secret_key_fingerprint"]
        self.stdout.write(
            f"Exported {summary.rows} rows of {len(summary.counts)} models to {path}.\n"
            f"Its feed tokens need the secret key {fingerprint}: keep that SECRET_KEY with the "
            "archive (not inside it), or every calendar URL changes on restore."
        )
