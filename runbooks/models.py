"""Runbooks: Markdown pages with their revisions (every save is one), owners and reviews."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from rotation.models import Engineer

# The most a page's text may hold, in bytes of UTF-8: a long runbook is a few dozen KB. Every
# word of any text this size can be searched: a PostgreSQL tsvector holds at most 1 MB of words
# and positions, and the densest text we could write (unique hyphenated words, host/path pairs)
# takes 3.3 bytes of it per byte, so 256 KB of it takes 0.84 MB (the test suite saves one).
MAX_BODY_BYTES = 256 * 1024


def validate_body_size(text: str) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise ValidationError(
            "This text is %(size)s bytes; a page holds at most %(limit)s (%(kb)s KB). "
            "Split it into pages and link them with [[Page title]].",
            code="too_large",
            params={
                "size": f"{size:,}",
                "limit": f"{MAX_BODY_BYTES:,}",
                "kb": MAX_BODY_BYTES // 1024,
            },
        )


class Runbook(models.Model):
    """A page. ``body`` and ``html`` are the current revision's, rendered when it was saved."""

    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200, unique=True)
    body = models.TextField(blank=True)  # at most MAX_BODY_BYTES, as the form and actions check
    html = models.TextField(blank=True, editable=False)
    toc = models.TextField(blank=True, editable=False)
    owner = models.ForeignKey(
        Engineer, null=True, blank=True, on_delete=models.SET_NULL, related_name="runbooks"
    )
    tags = models.CharField(
        "services or tags", max_length=300, blank=True, help_text="Comma-separated."
    )
    revision = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField()
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    review_interval_days = models.PositiveIntegerField(default=90)
    # Kept by the actions (last review, else last save, plus the interval): stale pages are
    # then one indexed comparison.
    review_due_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("runbooks:page", args=[self.slug])

    def set_review_due(self) -> None:
        since = self.last_reviewed_at or self.updated_at
        self.review_due_at = since + timedelta(days=self.review_interval_days)

    def is_stale(self, now: datetime) -> bool:
        return self.review_due_at <= now

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]


class Revision(models.Model):
    """One saved version of a page, numbered from 1; never changed afterwards."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["runbook", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["runbook", "number"], name="one_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.runbook} r{self.number}"
