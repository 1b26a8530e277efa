"""When a time zone's clocks change: the offsets in force and the instants they change.

Pure Python over ``zoneinfo``; used to write VTIMEZONE components that every calendar parser
reads the same way, and to mark the weeks whose handoff-to-handoff stretch is not 168 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Transition:
    """The clocks of a zone change at ``at`` (UTC) from ``offset_before`` to ``offset_after``."""

    at: datetime
    offset_before: timedelta
    offset_after: timedelta
    name_after: str
    is_dst_after: bool

    @property
    def local_before(self) -> datetime:
        """The wall-clock reading just as the change happens, in the old offset (naive)."""
        return (self.at + self.offset_before).replace(tzinfo=None)


def offset_at(zone: ZoneInfo, when: datetime) -> timedelta:
    offset = when.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> tuple[Transition, ...]:
    """Every change of ``zone``'s UTC offset in [start, end), by instant."""
    return _transitions(zone, start.astimezone(UTC), end.astimezone(UTC))


@lru_cache(maxsize=256)
def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> tuple[Transition, ...]:
    found = []
    day = start
    while day < end:
        following = min(day + DAY, end)
        if offset_at(zone, day) != offset_at(zone, following):
            found.append(_find(zone, day, following))
        day = following
    return tuple(found)


def _find(zone: ZoneInfo, before: datetime, after: datetime) -> Transition:
    """Bisect to the first second in (before, after] with the new offset (zones change once a
    day at most, so one change lies between two instants a day apart)."""
    old = offset_at(zone, before)
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        middle = middle.replace(microsecond=0)
        if middle <= before:
            middle = before + timedelta(seconds=1)
        if offset_at(zone, middle) == old:
            before = middle
        else:
            after = middle
    local = after.astimezone(zone)
    return Transition(
        at=after,
        offset_before=old,
        offset_after=offset_at(zone, after),
        name_after=local.tzname() or "",
        is_dst_after=bool(local.dst()),
    )
