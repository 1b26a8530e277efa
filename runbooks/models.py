"""Runbooks: Markdown pages with their revisions (every save is one), owners and reviews."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.urls import reverse

from rotation.models import Engineer

# The longest text a page may hold, in characters: about 3,000 words. Rendering is linear in the
# text, and its worst text this long still renders well within a second
# (tests/runbooks/test_markdown_bounds.py). It also keeps every word searchable: at most 80 KB of
# UTF-8, where PostgreSQL's tsvector (1 MB) takes about 3.3 bytes per byte of the densest text.
BODY_MAX_LENGTH = 20_000


class Runbook(models.Model):
    """A page. ``body`` and ``html`` are the current revision's, rendered when it was saved."""

    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200, unique=True)
    body = models.TextField(
        blank=True,
        validators=[MaxLengthValidator(BODY_MAX_LENGTH)],
        help_text=f"At most {BODY_MAX_LENGTH:,} characters.",
    )
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
