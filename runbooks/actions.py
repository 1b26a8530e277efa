"""Every write to runbooks: each save is a new revision, rendered and indexed on the spot."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from portal.models import AuditEntry
from runbooks import markdown, search
from runbooks.models import Revision, Runbook


class EditConflictError(Exception):
    """Someone saved the page after the revision this edit started from."""

    def __init__(self, current: Revision) -> None:
        super().__init__(f"revision {current.number} was saved meanwhile")
        self.current = current


def resolver() -> Callable[[str], str | None]:
    """Wiki-link titles to page URLs, case aside, else by the slug the title makes (one query).

    A wiki's file names turn spaces into hyphens, so an imported "On-call-guide.md" is titled
    "On call guide"; the link [[On-call guide]] still finds it through their common slug."""
    pages = list(Runbook.objects.values_list("slug", "title"))
    urls = {title.lower(): Runbook(slug=slug).get_absolute_url() for slug, title in pages}
    by_slug = {slug: Runbook(slug=slug).get_absolute_url() for slug, _ in pages}

    def resolve(title: str) -> str | None:
        return urls.get(title.strip().lower()) or by_slug.get(slugify(title)[:100])

    return resolve


def unique_slug(title: str) -> str:
    base = slugify(title)[:100] or "page"
    slug, number = base, 2
    while Runbook.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug


@transaction.atomic
def save_page(
    runbook: Runbook | None,
    fields: dict[str, Any],
    *,
    base_revision: int,
    message: str = "",
    by: User | None,
    now: datetime | None = None,
) -> Runbook:
    """Save ``fields`` (title, body, tags, owner, review_interval_days) as a new revision.

    ``base_revision`` is the revision the editor started from: if the page has moved on since,
    EditConflictError is raised and nothing is saved, so nobody's edit is silently lost. A body
    longer than a page holds raises ValidationError naming the field, and nothing is saved.
    """
    now = now or timezone.now()
    is_new = runbook is None
    if runbook is None:
        runbook = Runbook(slug=unique_slug(fields["title"]))
    else:
        runbook = Runbook.objects.select_for_update().get(pk=runbook.pk)
        if runbook.revision != base_revision:
            raise EditConflictError(runbook.revisions.select_related("author").first())  # type: ignore[arg-type]
    renamed = not is_new and fields["title"] != runbook.title
    for name, value in fields.items():
        setattr(runbook, name, value)
    # The editor's form checks this first; imports and restores of old revisions meet it here.
    runbook.clean_fields(exclude={f.name for f in Runbook._meta.get_fields()} - {"body"})
    rendered = markdown.render_page(runbook.body, resolver())
    runbook.html, runbook.toc = rendered.html, rendered.toc
    runbook.revision += 1
    runbook.updated_at = now
    runbook.set_review_due()
    runbook.save()
    Revision.objects.create(
        runbook=runbook,
        number=runbook.revision,
        title=runbook.title,
        body=runbook.body,
        author=by,
        at=now,
        message=message,
    )
    search.index(runbook)
    if is_new or renamed:
        # Other pages' links to this title were rendered as missing (or now point nowhere).
        rerender_links_to(runbook.title)
    AuditEntry.record("runbook.saved", runbook.slug, by=by, revision=runbook.revision)
    return runbook


def rerender_links_to(title: str) -> int:
    """Render again the pages whose text may link to ``title``."""
    resolve = resolver()
    # Any page with a wiki link that mentions each word of the title is a candidate (a link may
    # be spaced, wrapped or hyphenated); only those that really link to it are written.
    candidates = Runbook.objects.filter(body__contains="[[")
    for word in re.findall(r"\w+", title):
        candidates = candidates.filter(body__icontains=word)
    slug = slugify(title)[:100]
    done = 0
    for page in candidates:
        rendered = markdown.render_page(page.body, resolve)
        if slug in {slugify(link)[:100] for link in rendered.links}:
            Runbook.objects.filter(pk=page.pk).update(html=rendered.html, toc=rendered.toc)
            done += 1
    return done


def restore(runbook: Runbook, number: int, *, by: User, now: datetime | None = None) -> Runbook:
    """Bring back revision ``number`` as a new revision; history keeps everything."""
    old = runbook.revisions.get(number=number)
    return save_page(
        runbook,
        {"title": old.title, "body": old.body},
        base_revision=runbook.revision,
        message=f"Restored revision {number}",
        by=by,
        now=now,
    )


@transaction.atomic
def mark_reviewed(runbook: Runbook, *, by: User, now: datetime | None = None) -> None:
    runbook.last_reviewed_at = now or timezone.now()
    runbook.set_review_due()
    runbook.save(update_fields=["last_reviewed_at", "review_due_at"])
    AuditEntry.record("runbook.reviewed", runbook.slug, by=by)
