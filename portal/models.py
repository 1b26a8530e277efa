"""Cross-cutting records: the audit log of consequential writes, and personal API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import models

# Who did something: a user, or None for the system (a job, a command, the demo loader).
Actor = User | AnonymousUser | None


def user_or_none(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


class AuditEntry(models.Model):
    """One consequential write, recorded by the action that made it. Append-only."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    subject = models.CharField(max_length=200)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.subject}"

    @classmethod
    def record(cls, action: str, subject: str, *, by: Actor, **details: object) -> AuditEntry:
        return cls.objects.create(
            action=action, subject=subject, actor=user_or_none(by), details=details
        )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def matching_hash(self, token_hash: str) -> ApiTokenQuerySet:
        # Looked up by the token's SHA-256: the raw token is never stored, and an index lookup
        # on a hash leaks nothing useful through timing.
        return self.filter(token_hash=token_hash, user__is_active=True)


class ApiToken(models.Model):
    """A personal token for scripts: ``Authorization: Bearer <token>``. Stored hashed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ApiTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"API token of {self.user}"

    @staticmethod
    def generate() -> str:
        return secrets.token_urlsafe(32)


class TopicStamp(models.Model):
    """One row per topic (portal/triggers.py) whose ``value`` database triggers change on every
    write to the topic's tables.

    Readers remember an answer with the stamps of the topics it reads and reuse it only while
    they are unchanged and the clock has not reached the answer's next boundary: a cache that can
    never be stale, because no write of any kind (action, admin, shell, SQL) can skip a trigger;
    and a write to one topic (a login, a sync run) leaves the answers over the others alone.
    """

    topic = models.CharField(max_length=20, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.topic} stamp {self.value}"


class SecretKeyFingerprint(models.Model):
    """The fingerprint (portal/keyring.py) of the secret key this database's feed tokens were
    made with: one row, written with the first feed token and by ``rekey_feeds``, and compared
    with the running key at start-up (portal/keycheck.py)."""

    fingerprint = models.CharField(max_length=40)
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="one_key_fingerprint")]

    def __str__(self) -> str:
        return f"feed tokens made with the secret key {self.fingerprint}"


class Notice(models.Model):
    """One email (or Slack post) to send, written by the action that has something to tell, in
    its transaction.

    ``key`` names what the notice is about and for whom, so an action or job that runs twice
    writes it once; ``portal.notices.claimed`` claims each row with a conditional update, so two
    workers never send it twice. A Slack post keeps its JSON payload in ``body``."""

    class Channel(models.TextChoices):
        EMAIL = "email"
        SLACK = "slack"

    key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["sent_at", "claimed_at"])]

    def __str__(self) -> str:
        return f"{self.subject} to {self.to}"


class ReminderChoices(models.Model):
    """Which reminders and notices a person wants by email (switched on /me/); every one is on
    until they switch it off, and a person without a row gets them all."""

    engineer = models.OneToOneField(
        "rotation.Engineer", on_delete=models.CASCADE, related_name="reminder_choices"
    )
    week_before = models.BooleanField("a week before my stint", default=True)
    day_before = models.BooleanField("a day before my stint", default=True)
    hour_before = models.BooleanField("an hour before each shift starts", default=True)
    due_items = models.BooleanField(
        "the day before a post-mortem or action item of mine falls due", default=True
    )
    schedule_changes = models.BooleanField("when a swap or cover changes my weeks", default=True)

    class Meta:
        verbose_name_plural = "reminder choices"

    def __str__(self) -> str:
        return f"reminder choices of {self.engineer}"
