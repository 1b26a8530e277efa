"""PagerDuty schedule feeds in (iCalendar): read them leniently, compare them with the portal.

Why: PagerDuty pages people from its own final schedule, published as a webcal feed. When the
portal's schedule and that feed disagree, someone is paged who does not expect it, so the
portal reads the feed and shows which hours differ and who each side has. Pure Python: no
Django, no network; the caller fetches the text and maps feed people to portal people.

PagerDuty's feeds bend RFC 5545 (pagerduty/REFERENCE.md section 7). The reader accepts:
- no DTSTAMP; LF, CRLF or CR line endings; folded lines (a leading space or tab continues);
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

It refuses, with a WebcalError that says why, anything that would otherwise look like an empty
or shorter schedule: not a calendar (an HTML login page), empty, garbled or truncated text,
an event without DTSTART or DTEND (DURATION is not read: PagerDuty always writes DTEND), an
event that ends before it starts, a repeating event (RRULE; PagerDuty lists every shift), or
a time zone it cannot resolve.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

# PagerDuty's feed horizon is undocumented; its own pages show 90 days ahead (REFERENCE.md
# section 7). Callers should end a comparison within this of the fetch, or later hours show
# as drift when they are only unknown.
HORIZON = timedelta(days=90)

_NAME = re.compile(r"[A-Za-z0-9-]+")
_PARAM_VALUE = r'(?:"[^"]*"|[^";:,]*)'
_PARAM = re.compile(rf";([A-Za-z0-9-]+)=({_PARAM_VALUE}(?:,{_PARAM_VALUE})*)")
_DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(Z)?)?")
_ON_CALL = re.compile(r"\s*on[ -]?call\s+-\s+(.*)", re.IGNORECASE | re.DOTALL)
_CALNAME = re.compile(r"\s*on[ -]?call schedule for\s+(.*)", re.IGNORECASE | re.DOTALL)
_TEXT_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


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
class _Line:
    number: int  # in the file as written, before unfolding
    name: str  # upper-cased
    params: dict[str, str]  # names upper-cased, quotes removed
    value: str


@dataclass
class _Event:
    number: int
    properties: dict[str, list[_Line]] = field(default_factory=dict)

    def get(self, name: str) -> _Line | None:
        lines = self.properties.get(name)
        return lines[0] if lines else None

    @property
    def label(self) -> str:
        uid = self.get("UID")
        where = f"the event at line {self.number}"
        return f"{where} (UID {uid.value.strip()})" if uid else where


@dataclass
class _Calendar:
    events: list[_Event] = field(default_factory=list)
    zones: dict[str, str] = field(default_factory=dict)  # TZID -> the VTIMEZONE as text
    properties: dict[str, str] = field(default_factory=dict)


def parse_feed(text: str | bytes) -> list[FeedShift]:
    """The feed's shifts in order, duplicates collapsed; WebcalError if it cannot be read."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig", errors="replace")
    calendar = _read(_unfold(text.removeprefix("\ufeff")))
    default = _iana(calendar.properties.get("X-WR-TIMEZONE", "")) or UTC
    schedule_match = _CALNAME.fullmatch(calendar.properties.get("X-WR-CALNAME", ""))
    schedule = schedule_match[1].strip() if schedule_match else None
    resolved: dict[str, tzinfo] = {}
    uids: set[str] = set()
    seen: set[tuple[datetime, datetime, str]] = set()
    shifts: list[FeedShift] = []
    for event in calendar.events:
        uid_line = event.get("UID")
        uid = uid_line.value.strip() if uid_line else ""
        if uid in uids:
            continue
        if uid:
            uids.add(uid)
        start = _instant(event, "DTSTART", calendar.zones, resolved, default)
        end = _instant(event, "DTEND", calendar.zones, resolved, default)
        if end < start:
            raise WebcalError(f"{event.label} ends ({end:%Y-%m-%d %H:%M} UTC) before it starts.")
        if event.get("RRULE") is not None:
            raise WebcalError(
                f"{event.label} repeats (RRULE); PagerDuty lists every shift, so this feed"
                " is not one of its schedule feeds."
            )
        for shift in _shifts(event, start, end, schedule):
            key = (shift.start, shift.end, shift.email or shift.name)
            if key not in seen:
                seen.add(key)
                shifts.append(shift)
    return sorted(shifts)


def _unfold(text: str) -> list[tuple[int, str]]:
    """Logical lines with the number of the line each starts on; blank lines dropped."""
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + line[1:])
        elif line.strip():
            lines.append((number, line))
    return lines


def _content_line(number: int, text: str) -> _Line:
    name = _NAME.match(text)
    position = name.end() if name else 0
    params: dict[str, str] = {}
    while name and text.startswith(";", position):
        param = _PARAM.match(text, position)
        if param is None:
            break
        params[param[1].upper()] = param[2].strip('"')
        position = param.end()
    if name is None or not text.startswith(":", position):
        raise WebcalError(
            f"Line {number} of the feed is garbled (not an iCalendar line): {text[:60]!r}."
        )
    return _Line(number, name[0].upper(), params, text[position + 1 :])


def _read(lines: list[tuple[int, str]]) -> _Calendar:
    if not lines:
        raise WebcalError("The feed is empty: PagerDuty sent no calendar at all.")
    first = lines[0][1].strip()
    if first.upper() != "BEGIN:VCALENDAR":
        if first.startswith("<"):
            raise WebcalError(
                "The feed is a web page (HTML), not a calendar: probably a login or error"
                " page. Check the feed URL; its private key may have been regenerated."
            )
        raise WebcalError(
            f"This is not a calendar: it starts with {first[:60]!r}, not BEGIN:VCALENDAR."
        )
    calendar = _Calendar()
    stack: list[str] = []
    zone: list[str] = []  # the VTIMEZONE being read, as text for icalendar
    tzid = ""
    for number, text in lines:
        line = _content_line(number, text)
        component = line.value.strip().upper()
        if line.name == "BEGIN":
            stack.append(component)
            if component == "VEVENT" and len(stack) == 2:
                calendar.events.append(_Event(number))
        elif line.name == "END" and stack[-1] != component:
            raise WebcalError(
                f"Line {number} of the feed is garbled: END:{component} where END:{stack[-1]}"
                " was due."
            )
        elif line.name == "END":
            stack.pop()
        elif stack == ["VCALENDAR"]:
            calendar.properties.setdefault(line.name, _unescape(line.value))
        elif stack == ["VCALENDAR", "VEVENT"]:
            calendar.events[-1].properties.setdefault(line.name, []).append(line)
        elif stack == ["VCALENDAR", "VTIMEZONE"] and line.name == "TZID":
            tzid = line.value.strip()
        if stack[1:2] == ["VTIMEZONE"] or (line.name, component) == ("END", "VTIMEZONE"):
            zone.append(text)
        if stack == ["VCALENDAR"] and zone:  # a VTIMEZONE just ended
            calendar.zones[tzid] = "\r\n".join(zone) + "\r\n"
            zone, tzid = [], ""
        if not stack:
            return calendar  # anything after END:VCALENDAR is not ours to read
    raise WebcalError(
        f"The feed stops before END:{stack[-1]} (a truncated download?), so shifts may be"
        " missing; it was not read."
    )


def _unescape(value: str) -> str:
    return _TEXT_ESCAPE.sub(lambda m: "\n" if m[1] in "nN" else m[1], value)


def _iana(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name.strip()) if name.strip() else None
    except (LookupError, ValueError, OSError):  # unknown, malformed, or a directory
        return None


def _instant(
    event: _Event, name: str, zones: dict[str, str], resolved: dict[str, tzinfo], default: tzinfo
) -> datetime:
    line = event.get(name)
    if line is None:
        raise WebcalError(f"{event.label} has no {name}, so its shift cannot be placed.")
    match = _DATE_TIME.fullmatch(line.value.strip())
    try:
        if match is None:
            raise ValueError(line.value)
        year, month, day, hour, minute, second = (int(part or 0) for part in match.groups()[:6])
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError:  # not in the pattern, or no such date (month 13, 25 o'clock)
        raise WebcalError(
            f"{event.label} has {name} {line.value.strip()!r}, which is not a date or time."
        ) from None
    if match[7]:
        return naive.replace(tzinfo=UTC)
    tzid = line.params.get("TZID")
    zone = default if tzid is None else _zone(tzid, event, zones, resolved)
    # zoneinfo picks the earlier reading of a repeated hour (fold=0) and the offset before
    # a skipped one; a handoff written in such an hour is ambiguous in the feed itself.
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _zone(tzid: str, event: _Event, zones: dict[str, str], resolved: dict[str, tzinfo]) -> tzinfo:
    if tzid in resolved:
        return resolved[tzid]
    zone: tzinfo | None = _iana(tzid)
    if zone is None and tzid in zones:
        try:
            definition: Any = icalendar.Timezone.from_ical(zones[tzid])
            zone = definition.to_tz(lookup_tzid=False)
        except Exception as error:  # icalendar and dateutil raise many kinds
            raise WebcalError(f"The feed's VTIMEZONE {tzid!r} cannot be read: {error}.") from None
    if zone is None:
        raise WebcalError(
            f"{event.label} uses the time zone {tzid!r}, which is neither an IANA name nor"
            " defined by a VTIMEZONE in the feed."
        )
    resolved[tzid] = zone
    return zone


def _shifts(event: _Event, start: datetime, end: datetime, schedule: str | None) -> list[FeedShift]:
    line = event.get("SUMMARY")
    summary = _unescape(line.value) if line else ""
    from_summary = _person_in(summary, schedule)
    attendees = event.properties.get("ATTENDEE", [])
    if not attendees:
        return [FeedShift(start, end, from_summary, "", summary)]
    shifts = []
    for attendee in attendees:
        email = re.sub(r"^\s*mailto:", "", attendee.value, flags=re.IGNORECASE).strip().lower()
        # With several attendees the summary cannot say which of them it names.
        name = attendee.params.get("CN", "").strip() or (
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
