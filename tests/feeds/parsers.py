"""Read an iCalendar feed with four independent parsers, into the same normalised events.

The feeds are written by icalendar; reading them back with icalendar alone would hide its own
mistakes, so the tests compare what these four readers make of the same text. Each returns
`ParsedEvent`s sorted, with start and end as aware UTC datetimes (seconds kept).

Where each reader takes a TZID's offsets from:

- `read_icalendar`: the file's VTIMEZONE, read by icalendar's own code
  (`Timezone.to_tz(lookup_tzid=False)` through a private pytz-backed provider, which builds the
  zone from `Timezone.get_transitions()`; the default provider would hand the VTIMEZONE to
  dateutil's `tzical`, the same code vobject uses). icalendar's parser itself attaches the
  system tzdata zone to an IANA name (ignoring the VTIMEZONE) and caches the VTIMEZONE of an
  unknown name process-wide, first definition wins: both are discarded, the wall time is re-read
  in this file's zone. Skipped and repeated local times follow RFC 5545 3.3.5.
- `read_vobject`: the file's VTIMEZONE, as vobject's `TimezoneComponent.tzinfo` (dateutil's
  `tzical`). vobject's TZID registry is process-wide, first definition wins, and falls back to
  pytz's own zone database for other names, so the wall time is re-read in this file's zone.
- `read_recurring`: NOT the VTIMEZONE for an IANA name. recurring-ical-events uses the
  datetimes icalendar's parser made: the system tzdata (the `tzdata` package) for names it
  knows, and for other names the first VTIMEZONE with that TZID icalendar parsed in this
  process (a later redefinition is ignored). The library has no way to change that.
- `read_icaljs`: the file's VTIMEZONE, by Mozilla's ical.js (an independent implementation)
  in node. ical.js 2 looks a TZID up in the calendar's own VTIMEZONEs first; each one is also
  registered with `ICAL.TimezoneService`, which is reset for every calendar so that nothing
  leaks from one calendar to the next in the shared process.

Every reader refuses, rather than guesses: a TZID with no VTIMEZONE in the file, floating or
all-day (DATE) times, and (except `read_recurring`, which expands them between two instants)
recurring events. The Python readers add DURATION as RFC 5545 says: days and weeks on the wall
clock, the rest as exact time (a timedelta cannot tell P1D from PT24H: both count as a day);
recurring-ical-events and ical.js apply their own rules.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import icalendar
import pytz
import recurring_ical_events
import vobject
from icalendar.prop import vDDDTypes
from icalendar.timezone.tzp import TZP

ICALJS_DIR = Path(__file__).resolve().parent.parent / "icaljs"
ICALJS_SCRIPT = ICALJS_DIR / "read_feeds.mjs"
RECURRENCE_PROPERTIES = ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")


@dataclass(frozen=True, order=True)
class ParsedEvent:
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC
    uid: str
    summary: str


class FeedReadError(ValueError):
    """The feed cannot be read to definite instants (or a parser failed)."""


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _end_after(
    start_wall: datetime,
    zone: tzinfo,
    duration: timedelta,
    to_utc: Callable[[datetime, tzinfo], datetime],
) -> datetime:
    """DTSTART + DURATION: whole days on the wall clock, the rest as exact time."""
    if duration < timedelta(0):
        raise FeedReadError(f"negative DURATION {duration}")
    days = timedelta(days=duration.days)
    return to_utc(start_wall + days, zone) + (duration - days)


# icalendar --------------------------------------------------------------------------------------

# A private provider: the pytz one builds a zone from icalendar's own reading of a VTIMEZONE
# (get_transitions), where the default one delegates to dateutil's tzical like vobject does.
_ICALENDAR_TZP = TZP("pytz")


def read_icalendar(text: str) -> list[ParsedEvent]:
    calendar = icalendar.Calendar.from_ical(text)
    zones: dict[str, tzinfo] = {
        vtimezone.tz_name: vtimezone.to_tz(tzp=_ICALENDAR_TZP, lookup_tzid=False)
        for vtimezone in calendar.timezones
    }

    def wall_and_zone(event: icalendar.Event, name: str) -> tuple[datetime, tzinfo]:
        prop = _icalendar_property(event, name)
        value = prop.dt
        if not isinstance(value, datetime):
            raise FeedReadError(f"{name} of {event.get('UID')} is a DATE (all-day)")
        tzid = prop.params.get("TZID")
        if tzid is not None:
            if tzid not in zones:
                raise FeedReadError(f"TZID {tzid} of {event.get('UID')} has no VTIMEZONE")
            return value.replace(tzinfo=None), zones[tzid]
        if value.tzinfo is None:
            raise FeedReadError(f"{name} of {event.get('UID')} is a floating time")
        return _utc(value).replace(tzinfo=None), UTC

    def to_utc(wall: datetime, zone: tzinfo) -> datetime:
        if zone is UTC:
            return wall.replace(tzinfo=UTC)
        # RFC 5545 3.3.5: a repeated local time is its first occurrence, a skipped one is read
        # with the offset from before the gap. (pytz's own default, is_dst=False, is neither.)
        pytz_zone: Any = zone  # a pytz DstTzInfo subclass made by the provider
        try:
            return _utc(pytz_zone.localize(wall, is_dst=None))
        except pytz.AmbiguousTimeError:
            return _utc(pytz_zone.localize(wall, is_dst=True))
        except pytz.NonExistentTimeError:
            return _utc(pytz_zone.localize(wall, is_dst=False))

    events = []
    for event in calendar.events:
        _refuse_recurrence(
            event.get("UID"), [name for name in RECURRENCE_PROPERTIES if name in event]
        )
        start_wall, start_zone = wall_and_zone(event, "DTSTART")
        start = to_utc(start_wall, start_zone)
        if "DTEND" in event:
            end = to_utc(*wall_and_zone(event, "DTEND"))
        elif "DURATION" in event:
            duration = _icalendar_property(event, "DURATION").dt
            if not isinstance(duration, timedelta):
                raise FeedReadError(f"DURATION of {event.get('UID')} is not a duration")
            end = _end_after(start_wall, start_zone, duration, to_utc)
        else:
            raise FeedReadError(f"{event.get('UID')} has neither DTEND nor DURATION")
        events.append(
            ParsedEvent(start, end, str(event.get("UID", "")), str(event.get("SUMMARY", "")))
        )
    return sorted(events)


def _icalendar_property(event: icalendar.Event, name: str) -> vDDDTypes:
    prop = event.get(name)
    if not isinstance(prop, vDDDTypes):
        raise FeedReadError(f"{name} of {event.get('UID')} is missing, repeated or malformed")
    return prop


# vobject ----------------------------------------------------------------------------------------


def read_vobject(text: str) -> list[ParsedEvent]:
    calendar = vobject.readOne(text)
    zones: dict[str, tzinfo] = {
        vtimezone.tzid.value: vtimezone.tzinfo
        for vtimezone in calendar.contents.get("vtimezone", [])
    }

    def wall_and_zone(event: Any, name: str) -> tuple[datetime, tzinfo]:
        line = event.contents[name][0]
        value = line.value
        if not isinstance(value, datetime):
            raise FeedReadError(f"{name} of {_vobject_uid(event)} is a DATE (all-day)")
        # vobject moves TZID here once it has attached a tzinfo: its registry's, not the file's.
        tzid = (line.params.get("X-VOBJ-ORIGINAL-TZID") or line.params.get("TZID") or [None])[0]
        if tzid is not None:
            if tzid not in zones:
                raise FeedReadError(f"TZID {tzid} of {_vobject_uid(event)} has no VTIMEZONE")
            return value.replace(tzinfo=None), zones[tzid]
        if value.tzinfo is None:
            raise FeedReadError(f"{name} of {_vobject_uid(event)} is a floating time")
        return _utc(value).replace(tzinfo=None), UTC

    def to_utc(wall: datetime, zone: tzinfo) -> datetime:
        return _utc(wall.replace(tzinfo=zone))

    events = []
    for event in calendar.contents.get("vevent", []):
        _refuse_recurrence(
            _vobject_uid(event),
            [name for name in RECURRENCE_PROPERTIES if name.lower() in event.contents],
        )
        start_wall, start_zone = wall_and_zone(event, "dtstart")
        start = to_utc(start_wall, start_zone)
        if "dtend" in event.contents:
            end = to_utc(*wall_and_zone(event, "dtend"))
        elif "duration" in event.contents:
            duration = event.duration.value
            end = _end_after(start_wall, start_zone, duration, to_utc)
        else:
            raise FeedReadError(f"{_vobject_uid(event)} has neither DTEND nor DURATION")
        summary = event.summary.value if "summary" in event.contents else ""
        events.append(ParsedEvent(start, end, _vobject_uid(event), str(summary)))
    return sorted(events)


def _vobject_uid(event: Any) -> str:
    return str(event.uid.value) if "uid" in event.contents else ""


# recurring-ical-events --------------------------------------------------------------------------


def read_recurring(text: str, start: datetime, end: datetime) -> list[ParsedEvent]:
    """Occurrences between start and end, expanded by recurring-ical-events.

    Zones are icalendar's (see the module docstring): tzdata for IANA names, not the VTIMEZONE.
    """
    calendar = icalendar.Calendar.from_ical(text)
    defined = {vtimezone.tz_name for vtimezone in calendar.timezones}
    for event in calendar.events:
        for name in ("DTSTART", "DTEND"):
            tzid = _icalendar_property(event, name).params.get("TZID") if name in event else None
            if tzid is not None and tzid not in defined:
                raise FeedReadError(f"TZID {tzid} of {event.get('UID')} has no VTIMEZONE")
    events = []
    for occurrence in recurring_ical_events.of(calendar).between(start, end):
        instants = []
        for value in (occurrence.start, occurrence.end):
            if not isinstance(value, datetime):
                raise FeedReadError(f"{occurrence.get('UID')} is all-day (DATE)")
            if value.tzinfo is None:
                raise FeedReadError(f"{occurrence.get('UID')} has a floating time")
            instants.append(_utc(value))
        events.append(
            ParsedEvent(
                instants[0],
                instants[1],
                str(occurrence.get("UID", "")),
                str(occurrence.get("SUMMARY", "")),
            )
        )
    return sorted(events)


# ical.js ----------------------------------------------------------------------------------------


def read_icaljs(texts: Sequence[str]) -> list[list[ParsedEvent]]:
    """Read each calendar with ical.js; all of them in one node process (start-up is slow)."""
    node = shutil.which("node")
    if node is None:
        raise FeedReadError("node is not on PATH: ical.js cannot run")
    if not (ICALJS_DIR / "node_modules" / "ical.js").is_dir():
        raise FeedReadError(
            f"ical.js is not installed in {ICALJS_DIR}: run "
            "`make tests/icaljs/node_modules/.package-lock.json` (make test does)"
        )
    result = subprocess.run(
        [node, str(ICALJS_SCRIPT)],
        input=json.dumps(list(texts)),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise FeedReadError(result.stderr.strip() or f"node exited {result.returncode}")
    calendars: list[list[dict[str, Any]]] = json.loads(result.stdout)
    return [
        sorted(
            ParsedEvent(
                datetime.fromtimestamp(event["start"], UTC),
                datetime.fromtimestamp(event["end"], UTC),
                str(event["uid"]),
                str(event["summary"]),
            )
            for event in events
        )
        for events in calendars
    ]


def _refuse_recurrence(uid: object, found: list[str]) -> None:
    if found:
        raise FeedReadError(
            f"{uid} is recurring ({', '.join(found)}): only read_recurring expands occurrences"
        )
