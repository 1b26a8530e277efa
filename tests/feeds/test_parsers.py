"""The four-parser harness itself, on hand-written samples (tests/feeds/samples, CRLF endings).

The samples' VTIMEZONEs are written one observance per onset (DTSTART, TZOFFSETFROM,
TZOFFSETTO; no RRULE or RDATE). Expected instants are written out by hand below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.feeds.parsers import (
    FeedReadError,
    ParsedEvent,
    read_icalendar,
    read_icaljs,
    read_recurring,
    read_vobject,
)

SAMPLES = Path(__file__).parent / "samples"
WINDOW = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
READERS = ["icalendar", "vobject", "recurring", "icaljs"]


def sample(name: str) -> str:
    # Bytes, then decode: Path.read_text would turn the CRLFs into LFs.
    return (SAMPLES / name).read_bytes().decode("utf-8")


def read(reader: str, text: str) -> list[ParsedEvent]:
    readers: dict[str, Callable[[str], list[ParsedEvent]]] = {
        "icalendar": read_icalendar,
        "vobject": read_vobject,
        "recurring": lambda text: read_recurring(text, *WINDOW),
        "icaljs": lambda text: read_icaljs([text])[0],
    }
    return readers[reader](text)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def hours(event: ParsedEvent) -> float:
    return (event.end - event.start) / timedelta(hours=1)


LOS_ANGELES = [
    # Tue 3 March 10:00 PST (-8) to Tue 10 March 10:00 PDT (-7), across the 8 March change.
    ParsedEvent(
        utc(2026, 3, 3, 18), utc(2026, 3, 10, 17), "march-shift@oncall.test", "Primary: Alice"
    ),
    ParsedEvent(
        utc(2026, 7, 1, 16, 30, 15),
        utc(2026, 7, 1, 17, 15, 45),
        "handover@oncall.test",
        "Handover \u2014 Zo\u00eb walks Bob through the runbooks for the payments service and"
        " the paging policy",
    ),
    # Tue 27 October 10:00 PDT to Tue 3 November 10:00 PST, across the 1 November change.
    ParsedEvent(
        utc(2026, 10, 27, 17),
        utc(2026, 11, 3, 18),
        "november-shift-duration@oncall.test",
        "Primary: Dave (DURATION)",
    ),
    ParsedEvent(
        utc(2026, 10, 27, 17),
        utc(2026, 11, 3, 18),
        "november-shift@oncall.test",
        "Primary: Dave, then Erin; Bob shadows",
    ),
    ParsedEvent(
        utc(2026, 12, 24, 0),
        utc(2026, 12, 24, 8),
        "holiday-cover@oncall.test",
        "Holiday cover (UTC)",
    ),
]

SYDNEY = [
    # Fri 3 April 09:00 AEDT (+11) to Fri 10 April 09:00 AEST (+10): DST ends on 5 April.
    ParsedEvent(
        utc(2026, 4, 2, 22), utc(2026, 4, 9, 23), "april-shift@oncall.test", "Primary: Erin"
    ),
    # Fri 2 October 09:00 AEST to Fri 9 October 09:00 AEDT: DST starts on 4 October.
    ParsedEvent(
        utc(2026, 10, 1, 23), utc(2026, 10, 8, 22), "october-shift@oncall.test", "Primary: Alice"
    ),
]

# Portal/Test: -07:13 in standard time, -06:13 in daylight time from 1 May to 1 September.
MADE_UP_ZONE = [
    ParsedEvent(
        utc(2026, 1, 15, 15, 13), utc(2026, 1, 16, 3, 13), "winter-day@oncall.test", "Day shift"
    ),
    ParsedEvent(
        utc(2026, 8, 28, 16, 13),
        utc(2026, 9, 4, 17, 13),
        "september-shift@oncall.test",
        "Primary: Bob",
    ),
]

RECURRING_SEES_TZDATA = pytest.mark.xfail(
    reason="recurring-ical-events gets its datetimes from icalendar's parser, which attaches the"
    " system tzdata zone to an IANA TZID and ignores the file's VTIMEZONE",
    raises=AssertionError,
    strict=True,
)
RECURRING_SEES_FIRST_DEFINITION = pytest.mark.xfail(
    reason="icalendar's parser caches a VTIMEZONE of an unknown TZID process-wide, first"
    " definition wins, and recurring-ical-events uses what it attached",
    raises=AssertionError,
    strict=True,
)


def test_samples_have_crlf_line_endings() -> None:
    for path in sorted(SAMPLES.glob("*.ics")):
        data = path.read_bytes()
        assert data.endswith(b"\r\n"), path.name
        assert data.count(b"\n") == data.count(b"\r\n"), f"{path.name} has bare LFs"


def test_the_expected_instants_agree_with_tzdata() -> None:
    # The hand-written expectations, checked against the system database for the real zones.
    la, sydney = ZoneInfo("America/Los_Angeles"), ZoneInfo("Australia/Sydney")
    walls = [
        (datetime(2026, 3, 3, 10, tzinfo=la), LOS_ANGELES[0].start),
        (datetime(2026, 3, 10, 10, tzinfo=la), LOS_ANGELES[0].end),
        (datetime(2026, 7, 1, 9, 30, 15, tzinfo=la), LOS_ANGELES[1].start),
        (datetime(2026, 10, 27, 10, tzinfo=la), LOS_ANGELES[3].start),
        (datetime(2026, 11, 3, 10, tzinfo=la), LOS_ANGELES[3].end),
        (datetime(2026, 4, 3, 9, tzinfo=sydney), SYDNEY[0].start),
        (datetime(2026, 4, 10, 9, tzinfo=sydney), SYDNEY[0].end),
        (datetime(2026, 10, 2, 9, tzinfo=sydney), SYDNEY[1].start),
        (datetime(2026, 10, 9, 9, tzinfo=sydney), SYDNEY[1].end),
    ]
    for wall, expected in walls:
        assert wall.astimezone(UTC) == expected, wall


@pytest.mark.parametrize("reader", READERS)
def test_los_angeles_across_both_dst_changes(reader: str) -> None:
    events = read(reader, sample("los_angeles.ics"))

    assert events == LOS_ANGELES
    assert all(event.start.tzinfo is UTC and event.end.tzinfo is UTC for event in events)
    by_uid = {event.uid: event for event in events}
    assert hours(by_uid["march-shift@oncall.test"]) == 167
    assert hours(by_uid["november-shift@oncall.test"]) == 169
    assert hours(by_uid["november-shift-duration@oncall.test"]) == 169  # P7D is 7 wall days


@pytest.mark.parametrize("reader", READERS)
def test_sydney_southern_hemisphere(reader: str) -> None:
    events = read(reader, sample("sydney.ics"))

    assert events == SYDNEY
    assert [hours(event) for event in events] == [169, 167]


def test_the_four_readers_agree() -> None:
    names = ["los_angeles.ics", "sydney.ics", "made_up_zone.ics"]
    texts = [sample(name) for name in names]
    for text, by_icaljs in zip(texts, read_icaljs(texts), strict=True):
        assert read_icalendar(text) == read_vobject(text) == read_recurring(text, *WINDOW)
        assert read_icalendar(text) == by_icaljs


@pytest.mark.parametrize("reader", READERS)
def test_a_made_up_tzid_is_read_from_its_vtimezone(reader: str) -> None:
    # No database knows Portal/Test or its -07:13/-06:13 offsets: only the file can say.
    events = read(reader, sample("made_up_zone.ics"))

    assert events == MADE_UP_ZONE
    assert [hours(event) for event in events] == [12, 169]


@pytest.mark.parametrize(
    "reader",
    [
        "icalendar",
        "vobject",
        pytest.param("recurring", marks=RECURRING_SEES_TZDATA),
        "icaljs",
    ],
)
def test_the_vtimezone_wins_over_tzdata_for_a_real_tzid(reader: str) -> None:
    # TZID America/Los_Angeles whose VTIMEZONE says +05:30 all year: the file is wrong on
    # purpose, and a reader of the file (not of tzdata, 17:00Z and 18:00Z) gives 04:30Z.
    events = read(reader, sample("wrong_offsets_real_name.ics"))

    assert events == [
        ParsedEvent(
            utc(2026, 10, 27, 4, 30),
            utc(2026, 11, 3, 4, 30),
            "november-shift@oncall.test",
            "Primary: Dave",
        )
    ]


@pytest.mark.parametrize(
    "reader",
    [
        "icalendar",
        "vobject",
        pytest.param("recurring", marks=RECURRING_SEES_FIRST_DEFINITION),
        "icaljs",
    ],
)
def test_each_file_gets_its_own_definition_of_a_tzid(reader: str) -> None:
    # Two files define Portal/Redefined differently (+05:45 and -01:30 in daylight time):
    # nothing may leak from the first reading into the second, in one process.
    texts = [sample("redefined_a.ics"), sample("redefined_b.ics")]
    results = read_icaljs(texts) if reader == "icaljs" else [read(reader, text) for text in texts]

    starts = [[event.start for event in events] for events in results]
    assert starts == [[utc(2026, 8, 28, 4, 15)], [utc(2026, 8, 28, 11, 30)]]


def test_read_recurring_expands_a_weekly_rule_across_the_dst_change() -> None:
    text = sample("weekly_rrule.ics")
    weekly = [
        ParsedEvent(
            utc(2026, 10, 20, 17), utc(2026, 10, 27, 17), "weekly@oncall.test", "Weekly primary"
        ),
        ParsedEvent(
            utc(2026, 10, 27, 17), utc(2026, 11, 3, 18), "weekly@oncall.test", "Weekly primary"
        ),
        ParsedEvent(
            utc(2026, 11, 3, 18), utc(2026, 11, 10, 18), "weekly@oncall.test", "Weekly primary"
        ),
        ParsedEvent(
            utc(2026, 11, 10, 18), utc(2026, 11, 17, 18), "weekly@oncall.test", "Weekly primary"
        ),
    ]

    assert read_recurring(text, *WINDOW) == weekly
    # Only occurrences overlapping the window: here the weeks of 3 and 10 November.
    assert read_recurring(text, utc(2026, 11, 5), utc(2026, 11, 12)) == weekly[2:]


@pytest.mark.parametrize("reader", ["icalendar", "vobject", "icaljs"])
def test_the_other_readers_refuse_recurring_events(reader: str) -> None:
    with pytest.raises(FeedReadError, match="recurring"):
        read(reader, sample("weekly_rrule.ics"))


CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//oncall-portal//test//EN\r\n{}END:VCALENDAR\r\n"
)
EVENT = "BEGIN:VEVENT\r\nUID:bad@oncall.test\r\nDTSTAMP:20261120T000000Z\r\n{}SUMMARY:Bad\r\nEND:VEVENT\r\n"
UNREADABLE = {
    "tzid-without-vtimezone": (
        "DTSTART;TZID=Portal/Test:20260828T100000\r\nDTEND;TZID=Portal/Test:20260828T120000\r\n",
        "VTIMEZONE",
    ),
    "floating": ("DTSTART:20260828T100000\r\nDTEND:20260828T120000\r\n", "floating"),
    "all-day": ("DTSTART;VALUE=DATE:20260828\r\nDTEND;VALUE=DATE:20260829\r\n", "DATE"),
}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("case", list(UNREADABLE))
def test_times_without_a_definite_instant_are_refused(reader: str, case: str) -> None:
    # Read right after a file that defines Portal/Test: no reader may borrow that definition.
    lines, message = UNREADABLE[case]
    text = CALENDAR.format(EVENT.format(lines))
    read(reader, sample("made_up_zone.ics"))

    with pytest.raises(FeedReadError, match=message):
        if reader == "icaljs":
            read_icaljs([sample("made_up_zone.ics"), text])
        else:
            read(reader, text)


def local_times_sample() -> str:
    head = sample("los_angeles.ics").split("BEGIN:VEVENT")[0]
    events = [
        ("skipped", "20260308T023000", "20260308T040000"),  # 02:00-03:00 does not exist
        ("repeated", "20261101T013000", "20261101T030000"),  # 01:00-02:00 happens twice
    ]
    return (
        head
        + "".join(
            EVENT.replace("bad", uid).format(
                f"DTSTART;TZID=America/Los_Angeles:{start}\r\nDTEND;TZID=America/Los_Angeles:{end}\r\n"
            )
            for uid, start, end in events
        )
        + "END:VCALENDAR\r\n"
    )


@pytest.mark.parametrize(
    "reader",
    [
        "icalendar",
        pytest.param(
            "vobject",
            marks=pytest.mark.xfail(
                reason="dateutil's tzical reads a skipped local time with the offset after the gap",
                raises=AssertionError,
                strict=True,
            ),
        ),
        "recurring",
        pytest.param(
            "icaljs",
            marks=pytest.mark.xfail(
                reason="ical.js reads a skipped time with the offset after the gap and a repeated"
                " time as its second (standard-time) occurrence",
                raises=AssertionError,
                strict=True,
            ),
        ),
    ],
)
def test_skipped_and_repeated_local_times_follow_rfc_5545(reader: str) -> None:
    # RFC 5545 3.3.5: a repeated time is its first occurrence (01:30 PDT = 08:30Z); a skipped
    # one is read with the offset from before the gap (02:30 PST = 10:30Z). The parsers differ
    # here, so a feed should keep its boundaries out of the night of a change.
    events = read(reader, local_times_sample())

    assert [(event.uid, event.start) for event in events] == [
        ("skipped@oncall.test", utc(2026, 3, 8, 10, 30)),
        ("repeated@oncall.test", utc(2026, 11, 1, 8, 30)),
    ]
