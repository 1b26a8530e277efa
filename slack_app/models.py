"""What the Slack app remembers: who each engineer is in Slack, and what each rotation's user
group was last set to (so a run writes only a change)."""

from __future__ import annotations

from django.db import models

from rotation.models import Engineer, Rotation

UNMATCHED = "unmatched"


class SlackUser(models.Model):
    """The Slack user with exactly the engineer's email, or ``UNMATCHED``: never a guess."""

    engineer = models.OneToOneField(Engineer, on_delete=models.CASCADE, related_name="slack")
    slack_user_id = models.CharField(max_length=30)
    checked_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["slack_user_id"])]

    def __str__(self) -> str:
        return f"{self.engineer.email} -> {self.slack_user_id}"

    @property
    def matched(self) -> bool:
        return self.slack_user_id != UNMATCHED


class SlackUserGroup(models.Model):
    """A rotation's ``@<slug>-oncall`` group: the Slack ids last pushed to it. Its row is also
    the lock a sync holds, so two workers never push at once."""

    rotation = models.OneToOneField(Rotation, on_delete=models.CASCADE, related_name="slack_group")
    group_id = models.CharField(max_length=30, blank=True)
    users_pushed = models.JSONField(default=list)
    pushed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.rotation.slug}-oncall"
