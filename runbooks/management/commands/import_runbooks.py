"""``manage.py import_runbooks DIR [--title FILE=TITLE ...]``: import a wiki folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from runbooks.imports import import_folder


class Command(BaseCommand):
    help = "Import a folder of Markdown files (a GitHub wiki export) as runbooks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument(
            "--title",
            action="append",
            default=[],
            metavar="FILE=TITLE",
            help="the title of a file whose name cannot spell it, e.g. oncall-guide.md='On-call guide'",
        )

    def handle(self, *args: Any, folder: Path, title: list[str], **options: Any) -> None:
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        titles = {}
        for item in title:
            name, sep, value = item.partition("=")
            if not sep or not value.strip():
                raise CommandError(f"--title needs FILE=TITLE, not {item!r}")
            titles[name.strip()] = value.strip()
        try:
            report = import_folder(folder, titles)
        except ValidationError as error:
            raise CommandError(f"Nothing imported. {' '.join(error.messages)}") from error
        for label, titles_ in (("created", report.created), ("changed", report.changed)):
            for name in titles_:
                self.stdout.write(f"{label}: {name}")
        self.stdout.write(
            f"{len(report.created)} created, {len(report.changed)} changed, "
            f"{len(report.unchanged)} unchanged"
        )
