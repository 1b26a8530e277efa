"""Who is signing in: Django's model backend, with the session's user remembered while the
people stamp holds, and the client address and username that login throttling counts."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import blake2b
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.stamp import remember, stamps


class RememberingModelBackend(ModelBackend):
    """Users, groups and permissions are all watched by the people topic's triggers, so a user
    remembered under its current stamp is exactly the row in the database (its permission
    cache included)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        # PASSWORD_LOGIN off: no password is checked, on any login page or API.
        if not settings.PASSWORD_LOGIN:
            return None
        user: User | None = super().authenticate(request, username, password, **kwargs)
        return user

    def get_user(self, user_id: Any) -> User | None:
        def load() -> tuple[User | None, None]:
            user: User | None = super(RememberingModelBackend, self).get_user(user_id)
            return user, None

        return remember(("user", user_id), stamps("people"), timezone.now(), load)


# django-axes stores the username tried in a 255-character column; the login forms pass a
# username of any length to authenticate(), and PostgreSQL refuses a longer one outright.
ATTEMPTED_USERNAME_LENGTH = 255


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The username a login attempt is counted under (django-axes' AXES_USERNAME_CALLABLE)."""
    tried = (credentials or {}).get("username")
    if tried is None:
        tried = request.POST.get("username")
    return None if tried is None else str(tried)[:ATTEMPTED_USERNAME_LENGTH]


def client_ip(request: HttpRequest) -> str | None:
    """The address a login attempt came from (django-axes' AXES_CLIENT_IP_CALLABLE).

    With TRUSTED_PROXY_COUNT proxies in front, each appends the address it saw to
    X-Forwarded-For, so the client's is that many entries from the right; anything to its left
    is the client's own claim. A header too short or not an address means the request did not
    come through those proxies: the peer's address is all that is known.
    """
    peer = request.META.get("REMOTE_ADDR")
    proxies: int = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return peer
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < proxies:
        return peer
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        return peer


# Attempts for different pairs share a stripe now and then, and only wait a moment for it.
_STRIPES = [threading.Lock() for _ in range(64)]


@contextmanager
def one_attempt_at_a_time(username: str | None, address: str | None) -> Iterator[None]:
    """Runs the enclosed login attempt alone among those for one username from one address.

    django-axes checks the count before the password and adds to it after: attempts sent at
    once would all pass the check while the first was still hashing, and a burst could guess
    past the limit. Taken in turn, each attempt sees the failures of those before it. On
    PostgreSQL the lock is the database's, so it holds across web processes, and lasts until
    the enclosed writes commit; SQLite serves one web process, so a lock in it is enough.
    """
    pair = blake2b(f"{username}\0{address}".encode(), digest_size=8).digest()
    key = int.from_bytes(pair, "big", signed=True)
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
            yield
    else:
        with _STRIPES[key % len(_STRIPES)]:
            yield
