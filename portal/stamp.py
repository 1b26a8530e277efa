"""Answers remembered per process for as long as they are provably the answer.

An entry is reused only while (a) the database's ChangeStamp is what it was when the entry was
computed, so no write has happened since, and (b) the clock is before the entry's own boundary
(the next handoff or override edge). Nothing expires on a timer, so nothing is ever stale.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection

T = TypeVar("T")
MAX_ENTRIES = 2000


def change_stamp() -> int | None:
    """The current stamp, or None when its row is missing (then nothing is remembered)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM portal_changestamp WHERE id = 1")
        row = cursor.fetchone()
    return int(row[0]) if row else None


@dataclass(frozen=True)
class _Entry:
    stamp: int
    since: datetime
    until: datetime | None
    value: Any


_entries: dict[Hashable, _Entry] = {}
_lock = threading.Lock()


def remember[T](
    key: Hashable,
    stamp: int | None,
    now: datetime,
    compute: Callable[[], tuple[T, datetime | None]],
) -> T:
    """``compute()``'s value for ``key``; it returns (value, the instant the value may change)."""
    entry = _entries.get(key)
    if (
        stamp is not None
        and entry is not None
        and entry.stamp == stamp
        and entry.since <= now
        and (entry.until is None or now < entry.until)
    ):
        value: T = entry.value
        return value
    value, until = compute()
    if stamp is not None:
        with _lock:
            if len(_entries) >= MAX_ENTRIES:
                _entries.clear()
            _entries[key] = _Entry(stamp, now, until, value)
    return value
