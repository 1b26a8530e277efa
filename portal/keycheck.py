"""The database remembers which secret key made its feed tokens; a process with another refuses
to start.

Feed URLs are derived from ``SECRET_KEY`` (feeds/models.py), so a process started with another
key (a second host that generated its own ``.secret_key``, a restore without the key file)
would answer every subscribed calendar with a 404, without a word. Instead it refuses to
start, naming the key to bring by its fingerprint (portal/keyring.py), which tells keys apart
without revealing them.

Where the check runs: every management command that runs system checks (``runserver``,
``qcluster``, ``migrate``, ``check``) through ``secret_key_check``, and the WSGI application
(``portal/wsgi.py``), since gunicorn runs no checks. A database without the table (before
``migrate``) or without feed tokens holds nothing a key could break, so nothing is refused:
tests and a first ``migrate`` go ahead. ``manage.py rekey_feeds --confirm`` re-keys knowingly.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection
from django.utils import timezone

from feeds.models import FeedToken, derive_feed_token
from portal.keyring import secret_key_fingerprint
from portal.models import SecretKeyFingerprint, hash_token

REKEY = "run `manage.py rekey_feeds --confirm` to give every feed a new URL"


def record_secret_key(*, replacing: bool = False) -> str:
    """Remember this process's key as the one the feed tokens are made with (if none is yet,
    or ``replacing``); the fingerprint remembered."""
    mine = secret_key_fingerprint(settings.SECRET_KEY)
    values = {"fingerprint": mine, "recorded_at": timezone.now()}
    if replacing:
        SecretKeyFingerprint.objects.update_or_create(pk=1, defaults=values)
        return mine
    row, _ = SecretKeyFingerprint.objects.get_or_create(pk=1, defaults=values)
    return row.fingerprint


def foreign_key_problem() -> str | None:
    """Why this process must not serve this database's feeds, or None if it may."""
    mine = secret_key_fingerprint(settings.SECRET_KEY)
    try:
        recorded = SecretKeyFingerprint.objects.values_list("fingerprint", flat=True).first()
        if recorded == mine:
            return None
        if recorded is not None:
            return (
                f"This database's feed tokens were made with the secret key {recorded}; this "
                f"process has {mine}. Start it with that SECRET_KEY (the .secret_key file or "
                f"the SECRET_KEY variable of the host that made them), or {REKEY}."
            )
        # Tokens from before fingerprints were kept: the first one tells whether this key
        # made them.
        token = FeedToken.objects.values_list("seed", "token_hash").order_by("pk").first()
    except DatabaseError:
        # No table yet (before migrate) or no database at all: there is nothing to compare,
        # and whatever needs the database will say what is wrong with it.
        return None
    finally:
        # A process that forks after this (gunicorn --preload, django-q2's cluster) must not
        # hand its children this connection.
        if not connection.in_atomic_block:
            connection.close()
    if token is None or hash_token(derive_feed_token(token[0])) == token[1]:
        return None
    return (
        "This database's feed tokens were made with another secret key than this process's "
        f"({mine}), before fingerprints of keys were kept. Start it with the SECRET_KEY that "
        f"made them, or {REKEY}."
    )


def secret_key_check(**kwargs: Any) -> list[checks.CheckMessage]:
    problem = foreign_key_problem()
    return [checks.Error(problem, id="portal.E001")] if problem else []


def refuse_a_foreign_secret_key() -> None:
    """ImproperlyConfigured, with the key to bring, if this process has the wrong one."""
    problem = foreign_key_problem()
    if problem:
        raise ImproperlyConfigured(problem)
