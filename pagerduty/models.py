"""PagerDuty's models: each job run, the claims that keep two workers apart, the last
reading of each schedule feed, and PagerDuty's incidents linked to the portal's.

Each keeps the table it had in ``rotation`` (``db_table``): the move changed the code's room,
not the database, and the change-stamp triggers are keyed on those table names.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models

from incidents.models import Incident
from rotation.models import Role, Rotation


class SyncRun(models.Model):
    """One run of a PagerDuty job: what it found, what it changed, how long, and why it failed."""

    class Kind(models.TextChoices):
        POLICY = "policy", "Escalation policy"
        WEBCAL = "webcal", "Schedule feed"

    class Outcome(models.TextChoices):
        # A policy run is saved as running before it calls PagerDuty, and finished after; a
        # worker that died in between leaves it running until the next run marks it
        # interrupted.
        RUNNING = "running", "Running"
        INTERRUPTED = "interrupted", "Interrupted"
        IN_SYNC = "in_sync", "In sync"
        CHANGED = "changed", "Changed"
        WOULD_CHANGE = "would_change", "Would change (dry run)"
        DRIFT = "drift", "Drift found"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    rotation = models.ForeignKey(
        Rotation, null=True, on_delete=models.CASCADE, related_name="sync_runs"
    )
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    dry_run = models.BooleanField(default=False)
    found = models.JSONField(default=dict, blank=True)
    changed = models.JSONField(default=dict, blank=True)
    request_ids = models.JSONField(default=list, blank=True)
    api_calls = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)  # "host pid 123": who ran it

    class Meta:
        db_table = "rotation_syncrun"
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["kind", "rotation", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.outcome} {self.started_at:%Y-%m-%d %H:%M}"


class SyncClaim(models.Model):
    """Who may run a job right now: a worker claims ``name`` with a conditional update, so two
    workers running the same job at once never both write to PagerDuty.

    A policy sync holds its claim as a short lease, renewed before each PagerDuty call: a
    worker that dies loses it within the lease, and the next run takes over."""

    name = models.CharField(max_length=100, unique=True)
    held_until = models.DateTimeField()
    holder = models.CharField(max_length=200, blank=True)  # "host pid 123"
    token = models.CharField(max_length=32, blank=True)  # this holding, for renewals
    claimed_at = models.DateTimeField(null=True, blank=True)
    run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "rotation_syncclaim"

    def __str__(self) -> str:
        return f"{self.name} held until {self.held_until}"


class WebcalImport(models.Model):
    """The last good reading of one PagerDuty schedule feed, and the last attempt's error.

    A feed that fails to download or parse leaves ``shifts`` and ``drift`` as they were."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="webcal_imports")
    role = models.CharField(max_length=10, choices=Role.choices)
    url = models.CharField(max_length=500)
    # [{"start", "end", "name", "email"}] from the feed, as last read successfully.
    shifts = models.JSONField(default=list, blank=True)
    # [{"start", "end", "portal", "pagerduty"}]: where the feed and the portal disagree.
    drift = models.JSONField(default=list, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        db_table = "rotation_webcalimport"
        ordering = ["rotation", "role"]
        constraints = [
            models.UniqueConstraint(fields=["rotation", "role"], name="one_import_per_feed")
        ]

    def __str__(self) -> str:
        return f"{self.rotation} {self.role} feed"

    @property
    def drift_intervals(self) -> list[dict[str, object]]:
        """``drift`` with its instants as datetimes, for pages."""
        return [
            d
            | {"start": datetime.fromisoformat(d["start"]), "end": datetime.fromisoformat(d["end"])}
            for d in self.drift
        ]


class IncidentImport(models.Model):
    """Where the import of a rotation's PagerDuty incidents stands: how far it has read, and
    the last attempt's error.

    ``read_until`` moves only after a complete read, so a failed read is tried again over the
    same window, and the links it made before stay as they were."""

    rotation = models.OneToOneField(
        Rotation, on_delete=models.CASCADE, related_name="incident_import"
    )
    read_until = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    # {"read", "linked", "opened", "service_ids"}: what the last good import found.
    found = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.rotation} incident import"


class IncidentLink(models.Model):
    """One PagerDuty incident and the portal incident it belongs to, with the times PagerDuty
    gave. Unique on ``pagerduty_id``: an incident imported twice, or by two workers at once,
    stays one. ``incident`` is empty only inside the transaction that creates both."""

    pagerduty_id = models.CharField(max_length=20, unique=True)
    incident = models.ForeignKey(
        Incident, null=True, on_delete=models.CASCADE, related_name="pagerduty_links"
    )
    rotation = models.ForeignKey(
        Rotation, null=True, on_delete=models.SET_NULL, related_name="pagerduty_links"
    )
    html_url = models.URLField(max_length=300)
    urgency = models.CharField(max_length=10)
    status = models.CharField(max_length=15)  # PagerDuty's: triggered, acknowledged, resolved
    created_at = models.DateTimeField()  # PagerDuty's
    # Set once, from the first acknowledge and resolve log entries; each set writes one
    # timeline entry (a conditional update decides which worker writes it).
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # From the first escalate log entry (the page went on to the secondary), and the agent of
    # the first acknowledge entry (a PagerDuty user id): set once, like the times above.
    escalated_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by_pd_user = models.CharField(max_length=20, blank=True)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"PagerDuty {self.pagerduty_id} -> {self.incident_id}"


class AcknowledgeTarget(models.Model):
    """A rotation's target for the time from a page to its acknowledgement (the on-call SLO).

    The default is the escalation delay: a page not acknowledged within it goes to the
    secondary, so acknowledging within it is what keeps the secondary's phone quiet."""

    rotation = models.OneToOneField(
        Rotation, on_delete=models.CASCADE, related_name="acknowledge_target"
    )
    minutes = models.PositiveSmallIntegerField(
        default=5, help_text="Time to acknowledge a page, in minutes."
    )

    def __str__(self) -> str:
        return f"{self.rotation}: acknowledge within {self.minutes} min"
