"""``manage.py load_roster FILE.toml``: create or update engineers and rotations from a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rotation.roster_file import RosterFileError, load_roster


class Command(BaseCommand):
    help = (
        "Create or update engineers and rotations from a roster file (TOML, see DESIGN.md). "
        "An invalid file is rejected whole, with every error and its line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the roster file, e.g. roster.toml")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            # utf-8-sig: editors on Windows may start the file with a byte-order mark.
            text = path.read_text(encoding="utf-8-sig")
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not a UTF-8 text file") from None
        try:
            report = load_roster(text, by=None)
        except RosterFileError as error:
            for message in error.errors:
                self.stderr.write(f"{path}:{message}")
            count = len(error.errors)
            raise CommandError(
                f"{path}: {count} error{'s' if count != 1 else ''}; nothing was changed"
            ) from None
        for line in report.summary():
            self.stdout.write(line)
        if not report.changed:
            self.stdout.write("nothing changed")
