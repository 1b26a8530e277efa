"""PagerDuty schedule feeds in: what the reader accepts, what it refuses, and how drift is found.

The cast follows the sample feed: Alice Nguyen, Bob Okafor, Carol Schmidt and Dave Ito, whose
portal keys are alice, bob, carol and dave. Handoffs are at 08:00 UTC (midnight in Los Angeles).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagerduty.webcal import Drift, FeedShift, WebcalError, compare, parse_feed

SAMPLES = Path(__file__).parent / "webcal_samples"
SAMPLE = (SAMPLES / "pagerduty_schedule.ics").read_text()
LOS_ANGELES = ZoneInfo("America/Los_Angeles")

Entry = tuple[datetime, datetime, str]


def utc(month: int, day: int, hour: int = 8, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def dec(day: int, hour: int = 8) -> datetime:
    return utc(12, day, hour)


def feed(*events: str, calname: str = "On Call Schedule for Platform Primary") -> str:
    """A feed in PagerDuty's shape (LF endings, no DTSTAMP) holding ``events``."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", f"X-WR-CALNAME:{calname}"]
    return "\n".join([*head, *events, "END:VCALENDAR", ""])


def event(
    *extra: str,
    start: str = "DTSTART;VALUE=DATE-TIME:20261123T080000Z",
    end: str = "DTEND;VALUE=DATE-TIME:20261130T080000Z",
    attendee: str = "ATTENDEE:alice.nguyen@example.com",
    uid: str = "UID:Q2B7XK4M9PLR0A",
    summary: str = "SUMMARY:On Call - Alice Nguyen - Platform Primary",
) -> str:
    """Alice's week as PagerDuty writes it; pass a line to change it, or '' to leave it out."""
    lines = [end, start, attendee, uid, summary, *extra]
    return "\n".join(["BEGIN:VEVENT", *(line for line in lines if line), "END:VEVENT"])


def only(text: str) -> FeedShift:
    [shift] = parse_feed(text)
    return shift


def keyed(shifts: list[FeedShift]) -> list[Entry]:
    """What the caller does: feed people mapped to portal keys (here by email)."""
    return [(s.start, s.end, s.email.split(".")[0]) for s in shifts]


# The sample feed


def test_sample_feed_reads_as_six_shifts_in_order() -> None:
    shifts = parse_feed(SAMPLE)
    assert len(shifts) == 6
    assert shifts[0] == FeedShift(
        start=utc(11, 23),
        end=utc(11, 30),
        name="Alice Nguyen",
        email="alice.nguyen@example.com",
        summary="On Call - Alice Nguyen - Platform Primary",
    )
    assert [s.name for s in shifts] == [
        "Alice Nguyen", "Bob Okafor", "Carol Schmidt", "Alice Nguyen", "Dave Ito", "Alice Nguyen",
    ]  # fmt: skip
    assert shifts[-1].end == dec(21)


def test_sample_feed_has_no_dtstamp_and_needs_none() -> None:
    assert "DTSTAMP" not in SAMPLE
    with_stamp = SAMPLE.replace("BEGIN:VEVENT\n", "BEGIN:VEVENT\nDTSTAMP:20261120T000000Z\n")
    assert parse_feed(with_stamp) == parse_feed(SAMPLE)


def test_bytes_with_a_byte_order_mark_read_like_text() -> None:
    assert parse_feed(b"\xef\xbb\xbf" + SAMPLE.encode()) == parse_feed(SAMPLE)


# Leniency


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_any_line_ending_reads_like_pagerdutys_lf(ending: str) -> None:
    assert "\r" not in SAMPLE
    assert parse_feed(SAMPLE.replace("\n", ending)) == parse_feed(SAMPLE)


@pytest.mark.parametrize("fold", ["\n ", "\r\n ", "\n\t"], ids=["lf-space", "crlf-space", "tab"])
def test_folded_summary_is_unfolded(fold: str) -> None:
    folded = event(summary=f"SUMMARY:On Call - Alice Ng{fold}uyen - Platform{fold} Primary")
    shift = only(feed(folded))
    assert shift.name == "Alice Nguyen"
    assert shift.summary == "On Call - Alice Nguyen - Platform Primary"


@pytest.mark.parametrize(
    "attendee",
    [
        "ATTENDEE:alice.nguyen@example.com",
        "ATTENDEE:mailto:alice.nguyen@example.com",
        "ATTENDEE:MAILTO:Alice.Nguyen@Example.COM",
        'ATTENDEE;ROLE=REQ-PARTICIPANT;CN="Nguyen, Alice":mailto:alice.nguyen@example.com',
    ],
)
def test_attendee_email_is_bare_and_lower_case(attendee: str) -> None:
    assert only(feed(event(attendee=attendee))).email == "alice.nguyen@example.com"


def test_attendee_cn_names_the_person_when_the_summary_does_not() -> None:
    shift = only(feed(event(attendee="ATTENDEE;CN=Alice Nguyen:x@y.z", summary="SUMMARY:Primary")))
    assert (shift.name, shift.summary) == ("Alice Nguyen", "Primary")


def test_two_part_summary_names_the_person() -> None:
    assert only(feed(event(summary="SUMMARY:On Call - Alice Nguyen"))).name == "Alice Nguyen"


def test_schedule_suffix_is_cut_by_calendar_name_so_a_dash_in_a_name_survives() -> None:
    summary = "SUMMARY:On Call - Anne - Marie Dupont - Platform Primary"
    assert only(feed(event(summary=summary))).name == "Anne - Marie Dupont"


def test_user_feed_summary_is_split_at_its_first_dash() -> None:
    # A user's own feed names many schedules, and schedule names often contain " - ".
    summary = "SUMMARY:On Call - Alice Nguyen - Platform - Secondary"
    assert only(feed(event(summary=summary), calname="On Call Schedule")).name == "Alice Nguyen"


def test_escaped_summary_text_is_unescaped() -> None:
    shift = only(feed(event(summary=r"SUMMARY:On Call - Nguyen\, Alice - Platform Primary")))
    assert (shift.name, shift.summary) == (
        "Nguyen, Alice",
        "On Call - Nguyen, Alice - Platform Primary",
    )


def test_event_without_a_person_is_kept_with_no_name() -> None:
    shift = only(feed(event(attendee="", summary="SUMMARY:Unassigned")))
    assert shift == FeedShift(utc(11, 23), utc(11, 30), "", "", "Unassigned")


def test_summary_of_another_shape_gives_no_name_but_the_email_stays() -> None:
    shift = only(feed(event(summary="SUMMARY:Alice covers Platform")))
    assert (shift.name, shift.email) == ("", "alice.nguyen@example.com")


def test_repeated_uid_keeps_the_first_event() -> None:
    bob = event(attendee="ATTENDEE:bob.okafor@example.com", summary="SUMMARY:On Call - Bob Okafor")
    assert [s.name for s in parse_feed(feed(event(), bob))] == ["Alice Nguyen"]


def test_events_without_uids_are_told_apart_by_time_and_person() -> None:
    bob = event(uid="", attendee="ATTENDEE:bob.okafor@example.com", summary="SUMMARY:On Call - Bob")
    assert [s.name for s in parse_feed(feed(event(uid=""), bob))] == ["Alice Nguyen", "Bob"]


def test_same_shift_under_two_uids_counts_once() -> None:
    # PagerDuty has been seen listing one shift twice with consecutive UIDs.
    twin = event(uid="UID:Q2B7XK4M9PLR0B", attendee="ATTENDEE:mailto:Alice.Nguyen@example.com")
    assert parse_feed(feed(event(), twin)) == [only(feed(event()))]


def test_two_people_at_the_same_time_are_both_kept() -> None:
    bob = event(
        uid="UID:Q0J5WQ8ZD3TY6C",
        attendee="ATTENDEE:bob.okafor@example.com",
        summary="SUMMARY:On Call - Bob Okafor - Platform Primary",
    )
    assert [s.name for s in parse_feed(feed(bob, event()))] == ["Alice Nguyen", "Bob Okafor"]


def test_text_after_the_calendar_is_ignored() -> None:
    # A proxy or an error handler may append to the body; the calendar itself is whole.
    assert parse_feed(SAMPLE + "<!-- served by edge-7 -->\n") == parse_feed(SAMPLE)


@pytest.mark.parametrize(
    "extra",
    [
        "LAST-MODIFIED:yesterday",  # a calendar property the reader does not use
        "BEGIN:VTODO\nDUE:soon\nEND:VTODO",  # a component it does not read
        "BEGIN:VTIMEZONE\nTZID:Portal/Unused\nBEGIN:STANDARD\nTZOFFSETTO:x\nEND:STANDARD"
        "\nEND:VTIMEZONE",  # a zone no event uses
    ],
    ids=["calendar-property", "other-component", "unused-vtimezone"],
)
def test_a_bad_value_the_reader_does_not_need_is_ignored(extra: str) -> None:
    assert parse_feed(feed(extra, event())) == parse_feed(feed(event()))


def test_a_bad_value_in_an_unused_event_property_or_alarm_is_ignored() -> None:
    noisy = event(
        "DTSTAMP:yesterday", "SEQUENCE:first", "BEGIN:VALARM", "TRIGGER:soon", "END:VALARM"
    )
    assert parse_feed(feed(noisy)) == parse_feed(feed(event()))


def test_trailing_blanks_and_a_line_of_blanks_do_not_spoil_a_time() -> None:
    # A line of spaces after a line reads as a fold that adds a space to it.
    blanks = event(start="DTSTART;VALUE=DATE-TIME:20261123T080000Z \n   ")
    assert parse_feed(feed(blanks)) == parse_feed(feed(event()))


# Time zones


def test_los_angeles_shift_across_the_dst_change_is_a_week_and_an_hour() -> None:
    # Clocks go back on Sunday 1 November 2026: midnight handoffs are 07:00Z, then 08:00Z.
    shift = only(
        feed(
            event(
                start="DTSTART;TZID=America/Los_Angeles:20261030T000000",
                end="DTEND;TZID=America/Los_Angeles:20261106T000000",
            )
        )
    )
    assert (shift.start, shift.end) == (utc(10, 30, 7), utc(11, 6, 8))
    assert shift.end - shift.start == timedelta(days=7, hours=1)


def test_zone_that_is_not_iana_is_read_from_the_feeds_vtimezone() -> None:
    # Portal/Test is -07:13 in winter and -06:13 from May to September; the VTIMEZONE comes
    # after the events that use it.
    alice, bob = parse_feed((SAMPLES / "made_up_zone.ics").read_text())
    assert (alice.start, alice.end) == (datetime(2026, 1, 15, 15, 13, tzinfo=UTC), datetime(2026, 1, 22, 15, 13, tzinfo=UTC))  # fmt: skip
    assert (bob.start, bob.end) == (datetime(2026, 8, 28, 16, 13, tzinfo=UTC), datetime(2026, 9, 4, 17, 13, tzinfo=UTC))  # fmt: skip


def test_iana_zone_name_uses_its_real_rules_over_the_feeds_vtimezone() -> None:
    wrong = "\n".join(
        ["BEGIN:VTIMEZONE", "TZID:America/Los_Angeles", "BEGIN:STANDARD", "DTSTART:20250101T000000",
         "TZOFFSETFROM:+0530", "TZOFFSETTO:+0530", "END:STANDARD", "END:VTIMEZONE"]
    )  # fmt: skip
    pacific = event(
        start="DTSTART;TZID=America/Los_Angeles:20261123T000000",
        end="DTEND;TZID=America/Los_Angeles:20261130T000000",
    )
    assert (only(feed(wrong, pacific)).start, only(feed(pacific)).start) == (
        utc(11, 23),
        utc(11, 23),
    )


def test_floating_times_and_dates_are_in_the_calendars_zone_or_else_utc() -> None:
    floating = event(start="DTSTART:20261123T000000", end="DTEND;VALUE=DATE:20261130")
    assert (only(feed(floating)).start, only(feed(floating)).end) == (
        utc(11, 23, 0),
        utc(11, 30, 0),
    )
    in_pacific = feed(floating).replace("VERSION:2.0", "X-WR-TIMEZONE:America/Los_Angeles")
    assert (only(in_pacific).start, only(in_pacific).end) == (utc(11, 23), utc(11, 30))


def test_unknown_zone_without_a_vtimezone_is_refused_by_name() -> None:
    windows = event(start="DTSTART;TZID=Pacific Standard Time:20261123T000000")
    with pytest.raises(WebcalError, match="'Pacific Standard Time', which is neither an IANA"):
        parse_feed(feed(windows))


# Feeds that cannot be read


def test_html_login_page_is_not_a_calendar() -> None:
    page = "<!DOCTYPE html>\n<html><head><title>Log In | PagerDuty</title></head></html>\n"
    with pytest.raises(WebcalError, match=r"^The feed is a web page \(HTML\), not a calendar"):
        parse_feed(page)


@pytest.mark.parametrize("text", ["", b"", " \r\n\n\t\n"], ids=["text", "bytes", "whitespace"])
def test_empty_feed_is_refused(text: str | bytes) -> None:
    with pytest.raises(WebcalError, match=r"^The feed is empty"):
        parse_feed(text)


@pytest.mark.parametrize("text", ['{"error": "Not Found"}', b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_other_text_is_not_a_calendar(text: str | bytes) -> None:
    with pytest.raises(WebcalError, match=r"^This is not a calendar: its first line is not BEGIN"):
        parse_feed(text)


def test_text_that_is_not_a_calendar_is_never_quoted_back() -> None:
    # Error messages reach pages; the text may be whatever a URL answered.
    with pytest.raises(WebcalError) as raised:
        parse_feed('{"password": "hunter2"}')
    assert "hunter2" not in str(raised.value)


def test_garbled_line_is_named_by_number_and_not_quoted() -> None:
    with pytest.raises(WebcalError, match=r"^Line 4 of the feed is garbled") as raised:
        parse_feed(feed("SECRET??\x00"))
    assert "SECRET" not in str(raised.value)


@pytest.mark.parametrize("missing", ["start", "end"])
def test_event_without_dtstart_or_dtend_is_refused(missing: str) -> None:
    name = {"start": "DTSTART", "end": "DTEND"}[missing]
    with pytest.raises(
        WebcalError, match=rf"^the event at line 4 \(UID Q2B7XK4M9PLR0A\) has no {name}, so"
    ):
        parse_feed(feed(event(**{missing: ""})))


def test_truncated_feed_is_refused_rather_than_read_short() -> None:
    with pytest.raises(WebcalError, match=r"^The feed stops before END:VEVENT \(a truncated"):
        parse_feed(SAMPLE[: SAMPLE.index("UID:Q1M8RV2HN7FS4E")])


def test_mismatched_end_is_garbled() -> None:
    with pytest.raises(WebcalError, match=r"^Line 10 .* END:VTODO where END:VEVENT was due"):
        parse_feed(feed(event().replace("END:VEVENT", "END:VTODO")))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("DTSTART:2026-11-23", r"has DTSTART '2026-11-23', which is not a date or time"),
        ("DTSTART:20261323T080000Z", r"has DTSTART '20261323T080000Z', which is not a date"),
        ("DTSTART:20261201T080000Z", r"ends \(2026-11-30 08:00 UTC\) before it starts"),
    ],
)
def test_impossible_times_are_refused(line: str, message: str) -> None:
    with pytest.raises(WebcalError, match=message):
        parse_feed(feed(event(start=line)))


def test_repeating_event_is_refused() -> None:
    with pytest.raises(WebcalError, match=r"repeats \(RRULE\); PagerDuty lists every shift"):
        parse_feed(feed(event("RRULE:FREQ=WEEKLY")))


# Comparing with the portal


def test_no_drift_when_the_portal_matches_the_feed() -> None:
    portal = [(utc(11, 23), utc(11, 30), "alice"), (utc(11, 30), dec(7), "bob"),
              (dec(7), dec(14), "carol"), (dec(14), dec(16), "alice"),
              (dec(16), dec(18), "dave"), (dec(18), dec(21), "alice")]  # fmt: skip
    assert compare(portal, keyed(parse_feed(SAMPLE)), utc(11, 23), dec(21)) == []


def test_override_in_the_feed_shows_as_its_hours_with_both_people() -> None:
    portal = [(dec(14), dec(21), "alice")]
    drifts = compare(portal, keyed(parse_feed(SAMPLE)), dec(14), dec(21))
    assert drifts == [Drift(dec(16), dec(18), portal="alice", pagerduty="dave")]
    assert drifts[0].hours == 48.0


def test_swapped_days_are_two_drifts() -> None:
    portal = [(dec(7), dec(8), "alice"), (dec(8), dec(9), "bob")]
    feed_side = [(dec(7), dec(8), "bob"), (dec(8), dec(9), "alice")]
    assert compare(portal, feed_side, dec(7), dec(9)) == [
        Drift(dec(7), dec(8), "alice", "bob"),
        Drift(dec(8), dec(9), "bob", "alice"),
    ]


def test_gap_in_the_feed_shows_pagerduty_none() -> None:
    portal = [(dec(7), dec(14), "carol")]
    feed_side = [(dec(7), dec(9), "carol"), (dec(9, 20), dec(14), "carol")]
    assert compare(portal, feed_side, dec(7), dec(14)) == [
        Drift(dec(9), dec(9, 20), portal="carol", pagerduty=None)
    ]


def test_gap_in_the_portal_shows_portal_none() -> None:
    drifts = compare([], [(dec(7), dec(8), "carol")], dec(7, 20), dec(9))
    assert drifts == [Drift(dec(7, 20), dec(8), portal=None, pagerduty="carol")]


def test_drift_is_clipped_to_the_window() -> None:
    portal = [(utc(11, 30), dec(7), "bob")]
    feed_side = [(utc(11, 30), dec(7), "alice")]
    assert compare(portal, feed_side, dec(2, 17), dec(3, 17)) == [
        Drift(dec(2, 17), dec(3, 17), "bob", "alice")
    ]


def test_adjacent_intervals_with_the_same_people_are_merged() -> None:
    # The portal splits the week at an override boundary; the feed splits it elsewhere.
    portal = [(dec(7), dec(9), "carol"), (dec(9), dec(14), "carol")]
    feed_side = [(dec(7), dec(11), "dave"), (dec(11), dec(14), "dave")]
    assert compare(portal, feed_side, dec(7), dec(14)) == [Drift(dec(7), dec(14), "carol", "dave")]


def test_two_people_at_once_are_named_together_in_sorted_order() -> None:
    feed_side = [(dec(7), dec(14), "dave"), (dec(9), dec(10), "bob"), (dec(9), dec(10), "dave")]
    assert compare([(dec(7), dec(14), "dave")], feed_side, dec(7), dec(14)) == [
        Drift(dec(9), dec(10), portal="dave", pagerduty="bob, dave")
    ]


def test_handoff_an_hour_off_after_the_clocks_change_is_an_hour_of_drift() -> None:
    # A portal that kept the summer 07:00Z handoff after 1 November, against PagerDuty's feed.
    pacific = event(
        start="DTSTART;TZID=America/Los_Angeles:20261030T000000",
        end="DTEND;TZID=America/Los_Angeles:20261106T000000",
    )
    feed_side = [*keyed(parse_feed(feed(pacific))), (utc(11, 6), utc(11, 13), "bob")]
    naive_portal = [(utc(10, 30, 7), utc(11, 6, 7), "alice"), (utc(11, 6, 7), utc(11, 13), "bob")]
    assert compare(naive_portal, feed_side, utc(10, 30, 7), utc(11, 13)) == [
        Drift(utc(11, 6, 7), utc(11, 6, 8), portal="bob", pagerduty="alice")
    ]
    in_pacific = datetime(2026, 11, 6, tzinfo=LOS_ANGELES)
    right_portal = [(utc(10, 30, 7), in_pacific, "alice"), (in_pacific, utc(11, 13), "bob")]
    assert compare(right_portal, feed_side, utc(10, 30, 7), utc(11, 13)) == []


def test_drift_times_are_utc_whatever_zone_the_sides_use() -> None:
    start = datetime(2026, 12, 7, tzinfo=LOS_ANGELES)
    [drift] = compare(
        [(start, start + timedelta(hours=2), "erin")], [], start, start + timedelta(days=1)
    )
    assert (drift.start, drift.start.tzinfo, drift.hours) == (dec(7), UTC, 2.0)


def test_empty_or_backwards_window_has_no_drift() -> None:
    assert compare([(dec(7), dec(8), "alice")], [], dec(8), dec(7)) == []


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware datetimes"):
        compare([], [(datetime(2026, 12, 7), datetime(2026, 12, 8), "alice")], dec(7), dec(8))


# Invariants, checked hour by hour against a direct reading of both sides

hours = st.integers(min_value=0, max_value=48)
entries = st.lists(
    st.tuples(
        hours, st.integers(min_value=1, max_value=24), st.sampled_from(["alice", "bob", "carol"])
    ),
    max_size=6,
)


def at(hour: int) -> datetime:
    return dec(7, 0) + timedelta(hours=hour)


def as_entries(side: list[tuple[int, int, str]]) -> list[Entry]:
    return [(at(start), at(start + length), key) for start, length, key in side]


def holder(side: list[Entry], when: datetime) -> str | None:
    return ", ".join(sorted({key for start, end, key in side if start <= when < end})) or None


@given(entries, entries, hours, hours)
def test_drift_is_exactly_the_hours_where_the_sides_differ(
    portal_side: list[tuple[int, int, str]], feed_side: list[tuple[int, int, str]], a: int, b: int
) -> None:
    portal, pagerduty = as_entries(portal_side), as_entries(feed_side)
    start, end = at(min(a, b)), at(max(a, b))
    drifts = compare(portal, pagerduty, start, end)
    assert compare(portal, portal, start, end) == []
    for earlier, later in pairwise(drifts):
        assert earlier.end <= later.start  # in order, never overlapping
        merged = earlier.end == later.start
        assert not (
            merged and (earlier.portal, earlier.pagerduty) == (later.portal, later.pagerduty)
        )
    for drift in drifts:
        assert start <= drift.start < drift.end <= end
    hour = start
    while hour < end:
        covering = [d for d in drifts if d.start <= hour < d.end]
        sides = (holder(portal, hour), holder(pagerduty, hour))
        assert [(d.portal, d.pagerduty) for d in covering] == (
            [sides] if sides[0] != sides[1] else []
        )
        hour += timedelta(hours=1)


def test_sample_feed_times_agree_with_icalendar() -> None:
    # An independent parser: icalendar reads PagerDuty's shape too, though less leniently.
    events: list[Any] = icalendar.Calendar.from_ical(SAMPLE).walk("VEVENT")  # a wide union
    assert [(s.start, s.end) for s in parse_feed(SAMPLE)] == sorted(
        (e.start, e.end) for e in events
    )
