"""The primary's week as the on-call guide runs it: the release they shepherd, the business days
they triage notifications, and the report they hand to the next primary on Tuesday morning.

A week is named by its start, the handoff instant that began it (as a stint is in
``rotation.models.Swap``); the engine, not these rows, says who held it.
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models

from rotation.models import Engineer, Rotation

WORRIES_LIMIT = 10_000


class WeekSetup(models.Model):
    """Per rotation: where its release steps are written and when triage is due each day."""

    rotation = models.OneToOneField(Rotation, on_delete=models.CASCADE, related_name="week_setup")
    release_runbook = models.ForeignKey(
        "runbooks.Runbook",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Its task items (- [ ] step) become each week's release checklist.",
    )
    triage_due_at = models.TimeField(
        default=time(11, 0),
        help_text="In the rotation's zone: the primary is reminded if a day is not triaged by then.",
    )

    class Meta:
        verbose_name = "week setup"

    def __str__(self) -> str:
        return f"week setup of {self.rotation}"


class Holiday(models.Model):
    """A day the team does not triage (a business day off in the rotation's zone)."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="holidays")
    day = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["rotation", "day"], name="one_holiday_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.day})"


class HandoffReport(models.Model):
    """What the outgoing primary hands over at the handoff that ends their week.

    ``contents`` is the filled-in part (incidents, post-mortems owed, release, triage, ...) as
    it stood when the report was submitted, so a later edit elsewhere does not rewrite history.
    """

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="handoffs")
    week_start = models.DateTimeField(help_text="The handoff that began the outgoing week.")
    handoff_at = models.DateTimeField(help_text="The handoff this report is for.")
    outgoing = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="handoffs_given")
    incoming = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="handoffs_taken")
    worries = models.TextField(
        "what I am worried about", blank=True, validators=[MaxLengthValidator(WORRIES_LIMIT)]
    )
    contents = models.JSONField(default=dict, blank=True, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-handoff_at", "rotation_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rotation", "handoff_at"], name="one_report_per_handoff"
            ),
            models.CheckConstraint(
                condition=models.Q(handoff_at__gt=models.F("week_start")),
                name="report_week_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(acknowledged_at__isnull=True)
                | models.Q(submitted_at__isnull=False),
                name="report_acknowledged_after_submitted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rotation} handoff {self.handoff_at:%Y-%m-%d}"

    @property
    def is_pending(self) -> bool:
        """Not yet acknowledged by the incoming primary."""
        return self.acknowledged_at is None


class Release(models.Model):
    """A week's release, shepherded by that week's primary from master to staging to production.
    Its steps are copied from the rotation's release runbook when the week's checklist opens, so
    editing the runbook changes next week's list, not a list half ticked."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="releases")
    week_start = models.DateTimeField()
    owner = models.ForeignKey(Engineer, on_delete=models.PROTECT, related_name="releases")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-week_start", "rotation_id"]
        constraints = [
            models.UniqueConstraint(fields=["rotation", "week_start"], name="one_release_per_week")
        ]

    def __str__(self) -> str:
        return f"{self.rotation} release of {self.week_start:%Y-%m-%d}"


class ReleaseStep(models.Model):
    """One step of a week's release checklist, ticked with who and when."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    text = models.CharField(max_length=300)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["release_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["release", "position"], name="one_step_per_position")
        ]

    def __str__(self) -> str:
        return self.text


class TriageDay(models.Model):
    """A business day whose #ops-notifications were triaged: a row exists only once ticked."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="triage_days")
    day = models.DateField(help_text="In the rotation's zone.")
    done_at = models.DateTimeField()
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-day", "rotation_id"]
        constraints = [
            models.UniqueConstraint(fields=["rotation", "day"], name="one_triage_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.rotation} triaged {self.day}"
