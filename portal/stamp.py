"""Answers remembered per process for as long as they are provably the answer.

An entry is reused only while (a) the change stamps of the topics it reads (portal/triggers.py)
are what they were when it was computed, so no write to its tables has happened since, and (b)
the clock is before the entry's own boundary (the next handoff or override edge). Nothing
expires on a timer, so nothing is ever stale.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection

from portal.triggers import Topic

T = TypeVar("T")
MAX_ENTRIES = 2000

# The stamps of some topics, read together: (topic, value) pairs in the order asked. Keeping the
# topic beside its value makes an entry's key say what it depends on.
type Stamps = tuple[tuple[Topic, int], ...]

_sql: dict[int, str] = {}


def stamps(*topics: Topic) -> Stamps | None:
    """The current stamps of ``topics``, in one query; None when a row is missing (then
    nothing is remembered)."""
    sql = _sql.get(len(topics))
    if sql is None:
        marks = ", ".join(["%s"] * len(topics))
        sql = _sql[len(topics)] = (
            f"SELECT topic, value FROM portal_topicstamp WHERE topic IN ({marks})"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, topics)
        found = dict(cursor.fetchall())
    if len(found) != len(set(topics)):
        return None
    return tuple((topic, int(found[topic])) for topic in topics)


def pick(found: Stamps | None, *topics: Topic) -> Stamps | None:
    """The stamps of ``topics`` among ``found`` (which must have read them all)."""
    if found is None:
        return None
    values = dict(found)
    return tuple((topic, values[topic]) for topic in topics)


@dataclass(frozen=True)
class _Entry:
    stamps: Stamps
    since: datetime
    until: datetime | None
    value: Any


_entries: dict[Hashable, _Entry] = {}
_lock = threading.Lock()


@dataclass
class Computed:
    """One answer computed while recording: its key, the topics it keyed on, its SQL."""

    key: Hashable
    topics: tuple[Topic, ...]
    sql: list[str] = field(default_factory=list)


_recorded: list[Computed] | None = None


@contextmanager
def recording() -> Iterator[list[Computed]]:
    """Compute every answer afresh (nested ones included) and record what each read, so that a
    test can check each reader keys on the topics of every table it reads."""
    global _recorded
    _recorded = []
    try:
        yield _recorded
    finally:
        _recorded = None


def remember[T](
    key: Hashable,
    stamps: Stamps | None,
    now: datetime,
    compute: Callable[[], tuple[T, datetime | None]],
) -> T:
    """``compute()``'s value for ``key``; it returns (value, the instant the value may change)."""
    if _recorded is not None:
        return _record(_recorded, key, stamps, compute)
    entry = _entries.get(key)
    if (
        stamps is not None
        and entry is not None
        and entry.stamps == stamps
        and entry.since <= now
        and (entry.until is None or now < entry.until)
    ):
        value: T = entry.value
        return value
    value, until = compute()
    if stamps is not None:
        with _lock:
            if len(_entries) >= MAX_ENTRIES:
                _entries.clear()
            _entries[key] = _Entry(stamps, now, until, value)
    return value


def _record[T](
    recorded: list[Computed],
    key: Hashable,
    stamps: Stamps | None,
    compute: Callable[[], tuple[T, datetime | None]],
) -> T:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        value, _ = compute()
    topics = tuple(topic for topic, _ in stamps or ())
    recorded.append(Computed(key, topics, [query["sql"] for query in captured.captured_queries]))
    return value
