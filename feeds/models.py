"""The calendar feeds' models: feed tokens, fetches, and the published events with their state.

Each keeps the table it had in ``rotation`` (``db_table``): the move changed the code's room,
not the database, and the change-stamp triggers are keyed on those table names.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from functools import lru_cache

from django.conf import settings
from django.db import models
from django.utils.crypto import salted_hmac

from rotation.models import Engineer, Role, Rotation


class FeedToken(models.Model):
    """A person's calendar-feed credential: the only thing a feed URL carries.

    The token is derived from ``seed`` with the server's secret key, so the calendars page can
    show it again, while the database alone (a backup, a leak) yields no working URL; lookups go
    through ``token_hash``. Rotating replaces the seed, and the old URL stops working at once.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_token"
    )
    seed = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "rotation_feedtoken"

    def __str__(self) -> str:
        return f"calendar feed token of {self.user}"

    @staticmethod
    def new_seed() -> str:
        return secrets.token_hex(32)

    @property
    def token(self) -> str:
        return derive_feed_token(self.seed)


def feed_token_matches(seed: str, token: str) -> bool:
    """Whether ``token`` is the one derived from ``seed`` (a constant-time comparison)."""
    return hmac.compare_digest(derive_feed_token(seed).encode(), token.encode())


def derive_feed_token(seed: str) -> str:
    """256 bits, URL-safe: an HMAC of the seed under the server's secret key."""
    return _derive(seed, settings.SECRET_KEY)


@lru_cache(maxsize=4096)
def _derive(seed: str, secret: str) -> str:
    # Remembered per (seed, key): every calendar poll checks its token this way. The salt keeps
    # the model's first home: changing it would change every subscribed URL.
    digest = salted_hmac("rotation.FeedToken", seed, secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class FeedFetch(models.Model):
    """When a calendar client last fetched one feed of one token (shown on the calendars page)."""

    token = models.ForeignKey(FeedToken, on_delete=models.CASCADE, related_name="fetches")
    feed = models.CharField(max_length=120)
    fetched_at = models.DateTimeField()
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "rotation_feedfetch"
        constraints = [
            models.UniqueConstraint(fields=["token", "feed"], name="one_fetch_record_per_feed")
        ]

    def __str__(self) -> str:
        return f"{self.feed} fetched {self.fetched_at:%Y-%m-%d %H:%M}"


class PublishedShift(models.Model):
    """One event of the calendar feeds: a piece of the final schedule (overrides applied).

    Kept by ``feeds.actions.publish_calendars``, which compares the schedule with these rows:
    an event whose content changed gets a higher ``sequence`` and a new ``modified_at``; one
    that left the schedule is kept, withdrawn, so that it comes back with a higher sequence.
    """

    uid = models.CharField(max_length=200, unique=True)
    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="published")
    role = models.CharField(max_length=10, choices=Role.choices)
    engineer = models.ForeignKey(Engineer, on_delete=models.CASCADE, related_name="published")
    person_name = models.CharField(max_length=200)
    # Whom the person covers in this piece (an override or cover), "" when rostered.
    covering_name = models.CharField(max_length=200, blank=True, default="")
    # Why, when someone is covered: "swap" reads "swap with", the others "covering".
    reason = models.CharField(max_length=10, blank=True, default="")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # Who holds the partner roles during this piece: [{"role", "name", "from"}], "from" in ISO.
    partners = models.JSONField(default=list)
    fingerprint = models.CharField(max_length=64)
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    modified_at = models.DateTimeField()
    is_withdrawn = models.BooleanField(default=False)

    class Meta:
        db_table = "rotation_publishedshift"
        ordering = ["starts_at", "rotation", "role"]
        indexes = [
            models.Index(fields=["rotation", "ends_at"]),
            models.Index(fields=["engineer", "ends_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.person_name} {self.role} {self.starts_at:%Y-%m-%d %H:%M}"


class Publication(models.Model):
    """The one row saying what the published shifts reflect: the database's change stamp when
    they were last compared with the schedule, how far ahead they reach, and when one last
    changed. A feed request that finds the stamp moved publishes again first."""

    stamp = models.BigIntegerField(null=True)
    horizon = models.DateTimeField(null=True)
    changed_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "rotation_publication"

    def __str__(self) -> str:
        return f"calendars published up to {self.horizon}"
