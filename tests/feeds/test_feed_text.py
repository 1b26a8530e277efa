"""The feed writer on its own: instants around Los Angeles' 2026 clock changes, written by
``calendar_text`` and read back to the second by the four parsers. No database.

Clocks go back at 02:00 PDT on Sunday 1 November 2026 (01:00-02:00 happens twice: 08:00-09:00Z,
then 09:00-10:00Z) and forward at 02:00 PST on Sunday 8 March 2026 (02:00-03:00 never happens).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from feeds.ical import FeedEvent, calendar_text
from tests.feeds.parsers import (
    ParsedEvent,
    read_icalendar,
    read_icaljs,
    read_recurring,
    read_vobject,
)

LA = ZoneInfo("America/Los_Angeles")
WINDOW = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


CASES = {
    # An override that ends at the second 01:30 (PST), an hour after the first.
    "override-ends-in-repeated-hour": (utc(10, 31, 19), utc(11, 1, 9, 30)),
    # A 01:30 handoff on the fall-back Sunday: the engine takes the first 01:30 (PDT, fold=0),
    # so the week before ends and the week after starts at 08:30Z.
    "week-ends-at-first-0130": (utc(10, 25, 8, 30), utc(11, 1, 8, 30)),
    "week-starts-at-first-0130": (utc(11, 1, 8, 30), utc(11, 8, 9, 30)),
    # A 02:30 handoff on the spring-forward Sunday: 02:30 does not exist; the engine reads it
    # with the offset before the gap (10:30Z), which the wall clock shows as 03:30 PDT.
    "week-starts-in-the-gap": (utc(3, 8, 10, 30), utc(3, 15, 9, 30)),
    # An ordinary week across the fall-back change, handed off at 10:00 on both sides.
    "ordinary-week": (utc(10, 27, 17), utc(11, 3, 18)),
}


def feed() -> tuple[str, list[ParsedEvent]]:
    stamp = utc(1, 1, 0)
    events = [
        FeedEvent(
            uid=f"{name}@oncall.test",
            summary=name,
            description="",
            start=start,
            end=end,
            zone=LA,
            sequence=0,
            modified=stamp,
            url="https://oncall.test/",
        )
        for name, (start, end) in CASES.items()
    ]
    expected = sorted(
        ParsedEvent(start, end, f"{name}@oncall.test", name) for name, (start, end) in CASES.items()
    )
    return calendar_text("Test", "", events, [LA]).decode(), expected


def read(reader: str, text: str) -> list[ParsedEvent]:
    readers: dict[str, Callable[[str], list[ParsedEvent]]] = {
        "icalendar": read_icalendar,
        "vobject": read_vobject,
        "recurring": lambda text: read_recurring(text, *WINDOW),
        "icaljs": lambda text: read_icaljs([text])[0],
    }
    return readers[reader](text)


@pytest.mark.parametrize("reader", ["icalendar", "vobject", "recurring", "icaljs"])
def test_every_parser_reads_the_instants_around_both_changes_to_the_second(reader: str) -> None:
    text, expected = feed()

    assert read(reader, text) == expected


def test_only_events_touching_the_repeated_hour_are_written_in_utc() -> None:
    text, _ = feed()

    assert "DTSTART:20261031T190000Z\r\nDTEND:20261101T093000Z\r\n" in text
    assert "DTSTART:20261025T083000Z\r\nDTEND:20261101T083000Z\r\n" in text
    assert "DTSTART;TZID=America/Los_Angeles:20260308T033000\r\n" in text
    assert "DTSTART;TZID=America/Los_Angeles:20261027T100000\r\n" in text
    assert "X-WR-TIMEZONE" not in text
