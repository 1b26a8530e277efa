"""PagerDuty schedule feeds in (iCalendar): read them leniently, compare them with the portal.

Why: PagerDuty pages people from its own final schedule, published as a webcal feed. When the
portal's schedule and that feed disagree, someone is paged who does not expect it, so the
portal reads the feed and shows which hours differ and who each side has. Pure Python: no
Django, no network; the caller fetches the text and maps feed people to portal people.

icalendar reads the text (content lines, parameters, escapes, dates and VTIMEZONEs); this
module first checks the text's outline (``_outline``), so that a bad download is refused with
a message that names the line, and adds PagerDuty's rules on top. PagerDuty's feeds bend
RFC 5545 (pagerduty/REFERENCE.md section 7). The reader accepts:
- no DTSTAMP; LF, CRLF or CR line endings; folded lines (a leading space or tab continues);
  trailing blanks; anything after END:VCALENDAR; a bad value in any property, component or
  VTIMEZONE it does not need;
- ATTENDEE as a bare email or a ``mailto:`` URI, in any case (emails are lower-cased);
  a CN parameter, when present, names the person;
- SUMMARY ``On Call - <Name> - <Schedule>`` or ``On Call - <Name>``. Names may contain " - ",
  so the schedule suffix is removed using X-WR-CALNAME (``On Call Schedule for <Schedule>``);
  a user feed (plain ``On Call Schedule``) names many schedules, so there the summary is split
  at its first " - " (schedule names contain " - " far more often than people's names do);
- duplicates: a repeated UID, or a repeated (start, end, person), keeps the first listed;
- events without a person, kept with name '' and email ''.
Times in UTC (``Z``) are taken as they are. A TZID that is an IANA name uses zoneinfo's
rules, even if the file also defines it (a real zone name means its real rules; hand-written
VTIMEZONEs go stale); any other TZID uses the file's VTIMEZONE, converted by icalendar.
Floating times and all-day dates are in X-WR-TIMEZONE when that is an IANA name, else UTC.

It refuses, with a WebcalError that says why (quoting no text that is not yet known to be a
calendar, since errors are shown on pages), anything that would otherwise look like an empty
or shorter schedule: not a calendar (an HTML login page), empty, garbled or truncated text,
an event without DTSTART or DTEND (DURATION is not read: PagerDuty always writes DTEND), an
event that ends before it starts, a repeating event (RRULE; PagerDuty lists every shift), or
a time zone it cannot resolve.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from icalendar.parser import Contentline, unescape_backslash
from icalendar.prop import vDDDTypes

# PagerDuty's feed horizon is undocumented; its own pages show 90 days ahead (REFERENCE.md
# section 7). Callers should end a comparison within this of the fetch, or later hours show
# as drift when they are only unknown.
HORIZON = timedelta(days=90)

_ON_CALL = re.compile(r"\s*on[ -]?call\s+-\s+(.*)", re.IGNORECASE | re.DOTALL)
_CALNAME = re.compile(r"\s*on[ -]?call schedule for\s+(.*)", re.IGNORECASE | re.DOTALL)


class WebcalError(ValueError):
    """A feed we cannot read; the message says why, for people."""


@dataclass(frozen=True, order=True)
class FeedShift:
    """One person on call in the feed, from ``start`` to ``end`` (aware, UTC)."""

    start: datetime
    end: datetime
    name: str  # the person as the feed names them ('' if unknown)
    email: str  # lower-cased, '' if the feed gives none
    summary: str  # as written (iCalendar escapes undone)


@dataclass(frozen=True)
class Drift:
    """Hours in ``[start, end)`` (UTC) when the portal and PagerDuty hold different people."""

    start: datetime
    end: datetime
    portal: str | None  # who the portal has, None if nobody
    pagerduty: str | None  # who the feed has, None if nobody

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True)
class _Outline:
    text: str  # the calendar's X-WR- names and its events' own lines, unfolded
    event_lines: list[int]  # where each top-level VEVENT begins in the file as written
    zones: dict[str, str]  # TZID -> its VTIMEZONE as text, read only if an event uses it


def parse_feed(text: str | bytes) -> list[FeedShift]:
    """The feed's shifts in order, duplicates collapsed; WebcalError if it cannot be read."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig", errors="replace")
    outline = _outline(text.removeprefix("\ufeff"))
    try:
        calendar = icalendar.Calendar.from_ical(outline.text)
    except ValueError as error:  # not expected: events and X- properties are read leniently
        raise WebcalError(f"The feed cannot be read as iCalendar: {error}.") from None
    events = [c for c in calendar.subcomponents if isinstance(c, icalendar.Event)]
    if not isinstance(calendar, icalendar.Calendar) or len(events) != len(outline.event_lines):
        raise WebcalError(
            f"icalendar read {len(events)} events where the feed has"
            f" {len(outline.event_lines)}, so shifts may be missing; it was not read."
        )
    default = _iana(_calendar_text(calendar, "X-WR-TIMEZONE")) or UTC
    schedule_match = _CALNAME.fullmatch(_calendar_text(calendar, "X-WR-CALNAME"))
    schedule = schedule_match[1].strip() if schedule_match else None
    zones = _Zones(outline.zones)
    uids: set[str] = set()
    seen: set[tuple[datetime, datetime, str]] = set()
    shifts: list[FeedShift] = []
    for event, number in zip(events, outline.event_lines, strict=True):
        uid = str(_first(event, "UID") or "").strip()
        if uid in uids:
            continue
        if uid:
            uids.add(uid)
        label = f"the event at line {number}" + (f" (UID {uid})" if uid else "")
        start = _instant(event, "DTSTART", label, zones, default)
        end = _instant(event, "DTEND", label, zones, default)
        if end < start:
            raise WebcalError(f"{label} ends ({end:%Y-%m-%d %H:%M} UTC) before it starts.")
        if "RRULE" in event:
            raise WebcalError(
                f"{label} repeats (RRULE); PagerDuty lists every shift, so this feed"
                " is not one of its schedule feeds."
            )
        for shift in _shifts(event, start, end, schedule):
            key = (shift.start, shift.end, shift.email or shift.name)
            if key not in seen:
                seen.add(key)
                shifts.append(shift)
    return sorted(shifts)


def _outline(text: str) -> _Outline:
    """Check that ``text`` is one whole calendar, line by line, and pick what icalendar reads.

    icalendar raises on a garbled line without saying where, takes any END as the end of the
    open component, and reports a truncated file as "no components"; a person fixing a feed
    needs the line number and the reason, so the outline is checked here. icalendar reads an
    event's bad values leniently but refuses a whole calendar for one bad value elsewhere, so
    it gets only the events and the two X-WR- names; a VTIMEZONE is kept aside, read only
    when an event uses it (as the one bad part of a feed that does not, it must not stop it).
    """
    lines: list[tuple[int, str]] = []  # logical lines, unfolded, with their first line number
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + line[1:])
        elif line.strip():
            lines.append((number, line))
    if not lines:
        raise WebcalError("The feed is empty: PagerDuty sent no calendar at all.")
    first = lines[0][1].strip()
    if first.upper() != "BEGIN:VCALENDAR":
        if first.startswith("<"):
            raise WebcalError(
                "The feed is a web page (HTML), not a calendar: probably a login or error"
                " page. Check the feed URL; its private key may have been regenerated."
            )
        # Never quoted: what came back may be anything the URL reached, and error messages
        # are shown on pages.
        raise WebcalError("This is not a calendar: its first line is not BEGIN:VCALENDAR.")
    stack: list[str] = []
    event_lines: list[int] = []
    kept: list[str] = []
    zones: dict[str, str] = {}
    zone: list[str] = []  # the VTIMEZONE being read
    tzid = ""
    for number, line in lines:
        try:
            name, _, value = Contentline(line).parts()  # type: ignore[no-untyped-call]
        except ValueError:
            raise WebcalError(
                f"Line {number} of the feed is garbled (not an iCalendar line)."
            ) from None
        name, component = name.upper(), value.strip().upper()
        # Trailing blanks go: a value that ends in a space (or a line of spaces, read as a
        # fold) would stop icalendar reading a time or a component's name.
        line = line.rstrip()
        if name == "BEGIN":
            stack.append(component)
            if component == "VEVENT" and len(stack) == 2:
                event_lines.append(number)
        elif name == "END" and stack[-1] != component:
            raise WebcalError(
                f"Line {number} of the feed is garbled: END:{component} where"
                f" END:{stack[-1]} was due."
            )
        # An event's own lines (not its alarms'), and the calendar's bounds and names.
        if stack == ["VCALENDAR", "VEVENT"] or (
            len(stack) == 1 and name in ("BEGIN", "END", "X-WR-CALNAME", "X-WR-TIMEZONE")
        ):
            kept.append(line)
        elif stack[:2] == ["VCALENDAR", "VTIMEZONE"]:
            zone.append(line)
            if len(stack) == 2 and name == "TZID":
                tzid = value.strip()
        if name == "END":
            stack.pop()
            if stack == ["VCALENDAR"] and component == "VTIMEZONE":
                zones.setdefault(tzid, "".join(f"{text}\r\n" for text in zone))
                zone, tzid = [], ""
            if not stack:  # anything after END:VCALENDAR is not ours to read
                return _Outline("".join(f"{text}\r\n" for text in kept), event_lines, zones)
    raise WebcalError(
        f"The feed stops before END:{stack[-1]} (a truncated download?), so shifts may be"
        " missing; it was not read."
    )


def _first(component: icalendar.cal.Component, name: str) -> Any:
    """The first of a property given more than once (icalendar then holds a list)."""
    value = component.get(name)
    return value[0] if isinstance(value, list) else value


def _calendar_text(calendar: icalendar.Calendar, name: str) -> str:
    # icalendar keeps an X- property as written (escaped); these two are text.
    value = _first(calendar, name)
    return unescape_backslash(str(value)) if value is not None else ""


def _iana(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name.strip()) if name.strip() else None
    except (LookupError, ValueError, OSError):  # unknown, malformed, or a directory
        return None


class _Zones:
    """A TZID's rules: zoneinfo's for an IANA name, else this file's own VTIMEZONE."""

    def __init__(self, defined: dict[str, str]) -> None:
        self._defined = defined  # TZID -> the VTIMEZONE as text
        self._resolved: dict[str, tzinfo] = {}

    def get(self, tzid: str, label: str) -> tzinfo:
        if tzid in self._resolved:
            return self._resolved[tzid]
        zone: tzinfo | None = _iana(tzid)
        if zone is None and tzid in self._defined:
            try:
                # lookup_tzid=False: this file's definition, not one icalendar cached earlier
                # in the process under the same name.
                definition: Any = icalendar.Timezone.from_ical(self._defined[tzid])
                zone = definition.to_tz(lookup_tzid=False)
            except Exception as error:  # icalendar and dateutil raise many kinds
                raise WebcalError(
                    f"The feed's VTIMEZONE {tzid!r} cannot be read: {error}."
                ) from None
        if zone is None:
            raise WebcalError(
                f"{label} uses the time zone {tzid!r}, which is neither an IANA name nor"
                " defined by a VTIMEZONE in the feed."
            )
        self._resolved[tzid] = zone
        return zone


def _instant(
    event: icalendar.Event, name: str, label: str, zones: _Zones, default: tzinfo
) -> datetime:
    prop = _first(event, name)
    if prop is None:
        raise WebcalError(f"{label} has no {name}, so its shift cannot be placed.")
    # icalendar keeps a value it cannot read as vBroken (a str of the text as written).
    value = prop.dt if isinstance(prop, vDDDTypes) else None
    if not isinstance(value, date):  # a datetime is a date too
        raise WebcalError(f"{label} has {name} {str(prop).strip()!r}, which is not a date or time.")
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    tzid = prop.params.get("TZID")
    if value.tzinfo is not None and tzid is None:
        return value.astimezone(UTC)
    # The wall time as written, in the zone these rules choose (icalendar would use its own).
    # fold=0: zoneinfo then picks the earlier reading of a repeated hour and the offset before
    # a skipped one; a handoff written in such an hour is ambiguous in the feed itself.
    zone = default if tzid is None else zones.get(str(tzid), label)
    return value.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _shifts(
    event: icalendar.Event, start: datetime, end: datetime, schedule: str | None
) -> list[FeedShift]:
    summary = str(_first(event, "SUMMARY") or "")
    from_summary = _person_in(summary, schedule)
    attendees = event.get("ATTENDEE", [])
    if not isinstance(attendees, list):
        attendees = [attendees]
    if not attendees:
        return [FeedShift(start, end, from_summary, "", summary)]
    shifts = []
    for attendee in attendees:
        email = re.sub(r"^\s*mailto:", "", str(attendee), flags=re.IGNORECASE).strip().lower()
        # With several attendees the summary cannot say which of them it names.
        name = str(attendee.params.get("CN", "")).strip() or (
            from_summary if len(attendees) == 1 else ""
        )
        shifts.append(FeedShift(start, end, name, email, summary))
    return shifts


def _person_in(summary: str, schedule: str | None) -> str:
    """The person a PagerDuty summary names, or '' for a summary in any other shape."""
    on_call = _ON_CALL.fullmatch(summary)
    if on_call is None:
        return ""
    rest = on_call[1].strip()
    if schedule:
        return rest.removesuffix(f" - {schedule}").strip()
    return rest.split(" - ", 1)[0].strip()


def compare(
    portal: Sequence[tuple[datetime, datetime, str]],
    feed: Sequence[tuple[datetime, datetime, str]],
    start: datetime,
    end: datetime,
) -> list[Drift]:
    """The hours in ``[start, end)`` when the two sides of one role hold different people.

    Each side is ``(start, end, person key)`` entries with aware datetimes; the caller maps
    feed people to portal keys first (by email, then by exact name). Entries may overlap: a
    side then holds a set of people, written as their sorted keys joined with ", " (so keys
    should not contain ", "), and a person listed twice at once counts once. An empty side
    is None. The result is the maximal intervals, clipped to ``[start, end)``, in order and
    never overlapping; neighbours with the same pair of holders are merged. Drift times are UTC.
    """
    start, end = _utc(start), _utc(end)
    if start >= end:
        return []
    changes: list[tuple[datetime, int, int, str]] = []  # (when, side, +1 on / -1 off, key)
    for side, entries in enumerate((portal, feed)):
        for entry_start, entry_end, key in entries:
            on, off = max(_utc(entry_start), start), min(_utc(entry_end), end)
            if on < off:
                changes += [(on, side, 1, key), (off, side, -1, key)]
    changes.sort(key=lambda change: change[0])
    holding: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    drifts: list[Drift] = []
    applied = 0
    for since, until in pairwise(sorted({start, end, *(change[0] for change in changes)})):
        while applied < len(changes) and changes[applied][0] <= since:
            _, side, step, key = changes[applied]
            holding[side][key] += step
            applied += 1
        pair = (_holder(holding[0]), _holder(holding[1]))
        if pair[0] == pair[1]:
            continue
        if drifts and drifts[-1].end == since and (drifts[-1].portal, drifts[-1].pagerduty) == pair:
            since = drifts.pop().start
        drifts.append(Drift(since, until, *pair))
    return drifts


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"compare needs aware datetimes, not the naive {when.isoformat()}")
    return when.astimezone(UTC)


def _holder(holding: Counter[str]) -> str | None:
    return ", ".join(sorted(key for key, count in holding.items() if count > 0)) or None
