"""Incidents, their append-only timeline, customer updates, post-mortems and action items."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.urls import reverse

from incidents import rules
from rotation.models import Engineer, Rotation


class Severity(models.TextChoices):
    SEV1 = "SEV1", "SEV1"
    SEV2 = "SEV2", "SEV2"
    SEV3 = "SEV3", "SEV3"
    SEV4 = "SEV4", "SEV4"


class Status(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"


TIME_FIELDS = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at")


class Incident(models.Model):
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=4, choices=Severity.choices)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.INVESTIGATING)
    customer_impact = models.BooleanField("customers affected", default=False)
    services = models.CharField(
        "affected services", max_length=300, blank=True, help_text="Comma-separated."
    )
    started_at = models.DateTimeField()
    detected_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    rotation = models.ForeignKey(
        Rotation, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    commander = models.ForeignKey(
        Engineer, null=True, blank=True, on_delete=models.PROTECT, related_name="commanded"
    )
    pagerduty_url = models.URLField("PagerDuty incident", blank=True)
    runbooks = models.ManyToManyField(
        "runbooks.Runbook", blank=True, related_name="incidents", help_text="The runbooks used."
    )
    # Who was on call when it opened, as it was then: {"primary": {"id", "name", "email"},
    # "secondary": {...}, "shadows": [...]}. Written once; roster edits never touch it.
    on_call_at_open = models.JSONField(default=dict, blank=True, editable=False)
    # The primary when it started: the post-mortem's owner by default.
    primary_at_start = models.ForeignKey(
        Engineer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    shift_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_update_due = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # The list's order: its page is then read from the index, not sorted from all rows.
            models.Index(fields=["-started_at", "-id"]),
            models.Index(fields=["status", "-started_at"]),
            models.Index(fields=["severity", "-started_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", args=[self.pk])

    def clean(self) -> None:
        problems = rules.time_problems({name: getattr(self, name) for name in TIME_FIELDS})
        if problems:
            raise ValidationError(problems)

    @property
    def is_open(self) -> bool:
        return self.status != Status.RESOLVED

    @property
    def severity_meaning(self) -> str:
        return rules.SEVERITIES[self.severity]


# A time inside a timeline entry's text is stored as the UTC instant in this mark and shown in
# each reader's zone: the sentence never freezes its writer's zone (a London reader saw GMT
# stamps beside "08:40 PST" typed in Los Angeles).
TIME_MARK = re.compile(r"\{t:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\}")
TIME_SHOWN = "%a %-d %b %H:%M %Z"


def time_mark(when: datetime) -> str:
    """``when`` as it is kept in an entry's text."""
    return "{t:" + f"{when.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}" + "}"


def marked_times(text: str, show: Callable[[datetime], str], other: Callable[[str], str]) -> str:
    """``text`` with each marked time passed through ``show`` and the rest through ``other``."""
    pieces, end = [], 0
    for found in TIME_MARK.finditer(text):
        when = datetime.strptime(found[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        pieces += [other(text[end : found.start()]), show(when)]
        end = found.end()
    return "".join([*pieces, other(text[end:])])


class TimelineEntry(models.Model):
    """One change or note, written by the action that made it. Append-only: a correction is a
    new entry, and saving an existing entry or deleting one is refused."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20)
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.text}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("timeline entries are append-only: add a correction instead")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("timeline entries are append-only")

    def text_in(self, zone: tzinfo) -> str:
        """The entry's words with its times read in ``zone``."""
        return marked_times(self.text, lambda when: f"{when.astimezone(zone):{TIME_SHOWN}}", str)


class CustomerUpdate(models.Model):
    """An update for customers: drafted from the status template, edited, then marked sent."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=15, choices=Status.choices)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-created_at"]

    def __str__(self) -> str:
        return f"{self.get_status_display()} update on {self.incident}"


class PostmortemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


# The sections of the Google SRE post-mortem template, in order: (field, heading).
SECTIONS = (
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("root_causes", "Root causes"),
    ("trigger", "Trigger"),
    ("resolution", "Resolution"),
    ("detection", "Detection"),
    ("went_well", "What went well"),
    ("went_wrong", "What went wrong"),
    ("got_lucky", "Where we got lucky"),
    ("timeline", "Timeline"),
)


# The longest text a post-mortem section may hold, in characters: about 1,500 words. Rendering
# is linear in the text, and each section's worst text this long renders well within a second
# (tests/runbooks/test_markdown_bounds.py); a save renders all ten.
SECTION_MAX_LENGTH = 10_000


def _section() -> models.TextField[str, str]:
    return models.TextField(blank=True, validators=[MaxLengthValidator(SECTION_MAX_LENGTH)])


class Postmortem(models.Model):
    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    owner = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="postmortems")
    due_on = models.DateField()
    status = models.CharField(
        max_length=10, choices=PostmortemStatus.choices, default=PostmortemStatus.DRAFT
    )
    summary = _section()
    impact = _section()
    root_causes = _section()
    trigger = _section()
    resolution = _section()
    detection = _section()
    went_well = _section()
    went_wrong = _section()
    got_lucky = _section()
    timeline = _section()
    # The sections rendered when they were saved, {field: sanitised HTML}: the page reads these
    # and renders nothing.
    sections_html = models.JSONField(default=dict, blank=True, editable=False)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_on"]
        indexes = [models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        return f"Post-mortem of {self.incident}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:postmortem", args=[self.incident_id])

    def is_overdue(self, today: date) -> bool:
        return self.status != PostmortemStatus.PUBLISHED and self.due_on < today


class ActionItem(models.Model):
    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="actions")
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="action_items")
    due_on = models.DateField()
    tracker_url = models.URLField("tracker link", blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["done_at", "due_on", "id"]
        indexes = [models.Index(fields=["owner", "done_at", "due_on"])]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today: date) -> bool:
        return self.done_at is None and self.due_on < today


class HeadsUpKind(models.TextChoices):
    CHANGE = "change", "Disruptive change"
    TEST = "test", "Test"
    DOWNTIME = "downtime", "Planned downtime"


class HeadsUp(models.Model):
    """A planned disruptive change, test or downtime, posted so on-call knows before it starts
    (the on-call guide: "let on-call know about disruptive changes or testing")."""

    title = models.CharField("what", max_length=200)
    kind = models.CharField(max_length=10, choices=HeadsUpKind.choices, default=HeadsUpKind.CHANGE)
    starts_at = models.DateTimeField("starts")
    ends_at = models.DateTimeField("ends")
    services = models.CharField(
        "affected services", max_length=300, blank=True, help_text="Comma-separated."
    )
    owner = models.ForeignKey(
        Engineer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="heads_ups",
        help_text="Who runs it, if not you.",
    )
    rollback = models.TextField("how to roll back", blank=True, help_text="Required for a change.")
    customer_facing = models.BooleanField("customers will notice", default=False)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = "heads-up"
        verbose_name_plural = "heads-ups"
        indexes = [models.Index(fields=["ends_at", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="heads_up_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        problems = rules.heads_up_problems(self.kind, self.starts_at, self.ends_at, self.rollback)
        if problems:
            raise ValidationError(problems)

    def is_current(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at
