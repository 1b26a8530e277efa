"""Reading a folder of Markdown files as a GitHub wiki exports it: one file per page, the file
name giving the title (dashes to spaces). Re-importing makes revisions only for pages whose
text changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from runbooks import actions
from runbooks.models import Runbook


def title_of(path: Path) -> str:
    """'Adding-your-oncall-schedule.md' -> 'Adding your oncall schedule'."""
    words = path.stem.replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


@dataclass
class ImportReport:
    created: list[str]
    changed: list[str]
    unchanged: list[str]


@transaction.atomic
def import_folder(folder: Path, titles: dict[str, str] | None = None) -> ImportReport:
    """Import every ``*.md`` in ``folder``; ``titles`` maps a file name to a title that its
    name cannot spell (e.g. ``oncall-guide.md`` -> "On-call guide"). A file that cannot be a
    page (too long) raises ValidationError naming it, and nothing is imported."""
    titles = titles or {}
    report = ImportReport([], [], [])
    for path in sorted(folder.glob("*.md")):
        title = titles.get(path.name) or title_of(path)
        body = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        page = Runbook.objects.filter(title__iexact=title).first()
        if page is not None and page.body == body:
            report.unchanged.append(title)
            continue
        try:
            actions.save_page(
                page,
                {"title": page.title if page else title, "body": body},
                base_revision=page.revision if page else 0,
                message=f"Imported from {path.name}",
                by=None,
            )
        except ValidationError as error:
            raise ValidationError(f"{path.name}: {' '.join(error.messages)}") from error
        (report.changed if page else report.created).append(title)
    return report
