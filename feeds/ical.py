"""Calendar feeds: published shifts in, an iCalendar (RFC 5545) document out. Pure Python.

What calendar clients need, and why each choice:
- Every time is written in the rotation's own zone with a VTIMEZONE that lists one observance
  per clock change (no RRULE or multi-value RDATE: Mozilla's ical.js misreads those), so a
  shift that spans a change ends at the same wall-clock handoff in every client.
- Except an instant whose wall time is ambiguous (the repeated hour of a fall-back) or does not
  exist (a spring-forward gap): a TZID time cannot say which 01:30 it means, and parsers guess
  differently (ical.js takes the second 01:30, RFC 5545 the first), so that event is written
  in UTC.
- UID, SEQUENCE, LAST-MODIFIED and DTSTAMP come from the publication record, so a feed that
  did not change is byte-for-byte the same, and an event's SEQUENCE rises only when it changed.
- TRANSP:TRANSPARENT: being on call must not block anyone's calendar as busy.
- REFRESH-INTERVAL and X-PUBLISHED-TTL of an hour: clients that honour them refresh hourly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import icalendar

from rotation.schedule import Duty
from rotation.stretches import Stretch
from rotation.zones import transitions

PRODID = "-//On-call portal//Calendar feeds//EN"
REFRESH = timedelta(hours=1)
# The VTIMEZONE covers the feed's span with this much to spare either side.
ZONE_MARGIN = timedelta(days=60)


@dataclass(frozen=True)
class FeedEvent:
    """One shift as a calendar event; ``start`` and ``end`` are UTC, shown in ``zone``."""

    uid: str
    summary: str
    description: str
    start: datetime
    end: datetime
    zone: ZoneInfo
    sequence: int
    modified: datetime
    url: str


def calendar_text(
    name: str, description: str, events: Sequence[FeedEvent], zones: Iterable[ZoneInfo]
) -> bytes:
    """The whole feed: CRLF line endings, folded lines, UTF-8."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-caldesc", description)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    # No X-WR-TIMEZONE: it only names a zone for floating times, which a feed never has, and
    # recurring-ical-events would move the UTC times (see _vevent) onto that zone's wall clock,
    # where an end in a repeated hour comes out an hour early.
    zones = sorted(set(zones), key=lambda zone: zone.key)
    if events:
        first = min(event.start for event in events) - ZONE_MARGIN
        last = max(event.end for event in events) + ZONE_MARGIN
    else:
        first = last = datetime(2000, 1, 1, tzinfo=UTC)
    for zone in zones:
        calendar.add_component(vtimezone(zone, first, last))
    for event in events:
        calendar.add_component(_vevent(event))
    text: bytes = calendar.to_ical()
    return text


def vtimezone(zone: ZoneInfo, start: datetime, end: datetime) -> icalendar.Timezone:
    """``zone`` from ``start`` to ``end``: the offset in force at ``start`` as an observance that
    begins in 1970, then one observance per clock change, each with its own DTSTART."""
    component = icalendar.Timezone()
    component.add("tzid", zone.key)
    local = start.astimezone(zone)
    offset = local.utcoffset()
    assert offset is not None
    component.add_component(
        _observance(
            bool(local.dst()), datetime(1970, 1, 1), offset, offset, local.tzname() or zone.key
        )
    )
    for change in transitions(zone, start, end):
        component.add_component(
            _observance(
                change.is_dst_after,
                change.local_before,
                change.offset_before,
                change.offset_after,
                change.name_after,
            )
        )
    return component


def _observance(
    is_dst: bool, onset: datetime, offset_from: timedelta, offset_to: timedelta, name: str
) -> icalendar.cal.Component:
    observance = icalendar.TimezoneDaylight() if is_dst else icalendar.TimezoneStandard()
    observance.add("dtstart", onset)
    observance.add("tzoffsetfrom", offset_from)
    observance.add("tzoffsetto", offset_to)
    observance.add("tzname", name)
    return observance


def _wall_time_is_unique(instant: datetime, zone: ZoneInfo) -> bool:
    """Whether ``instant``'s wall time in ``zone`` names ``instant`` and nothing else."""
    wall = instant.astimezone(zone).replace(tzinfo=None)
    # Read the wall time back as a parser would, both ways round a repeated hour: the two folds
    # differ in a repeated hour, and neither gives the instant back in a skipped one.
    readings = {wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
    return readings == {instant.astimezone(UTC)}


def _vevent(event: FeedEvent) -> icalendar.Event:
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", event.modified.astimezone(UTC))
    vevent.add("last-modified", event.modified.astimezone(UTC))
    vevent.add("sequence", event.sequence)
    # Both ends in UTC when either is: recurring-ical-events adds DTEND - DTSTART to the start
    # on its wall clock, which is an hour off across a change when only one end is in the zone.
    unique = all(_wall_time_is_unique(instant, event.zone) for instant in (event.start, event.end))
    shown_in: tzinfo = event.zone if unique else UTC
    vevent.add("dtstart", event.start.astimezone(shown_in))
    vevent.add("dtend", event.end.astimezone(shown_in))
    vevent.add("summary", event.summary)
    vevent.add("description", event.description)
    vevent.add("url", event.url)
    vevent.add("transp", "TRANSPARENT")
    vevent.add("status", "CONFIRMED")
    return vevent


# What each role's event names as its partners, in the description.
PARTNER_ROLES = {
    Duty.PRIMARY: (Duty.SECONDARY, Duty.SHADOW),
    Duty.SECONDARY: (Duty.PRIMARY,),
    Duty.SHADOW: (Duty.PRIMARY, Duty.SECONDARY),
}
UID_DOMAIN = "oncall-portal"


@dataclass(frozen=True)
class Partner:
    """``member`` holds ``role`` beside the event's person from ``start`` (UTC)."""

    role: Duty
    member: str
    start: datetime


def partners(shift: Stretch, final: Sequence[Stretch]) -> list[Partner]:
    """Who holds the partner roles while ``shift`` lasts, in order: a week's secondary, then
    whoever covers part of it by an override. ``final`` is the effective schedule."""
    found = [
        Partner(other.role, other.member, max(other.start, shift.start))
        for other in final
        if other.role in PARTNER_ROLES[shift.role]
        and other.start < shift.end
        and other.end > shift.start
        and other is not shift
    ]
    return sorted(found, key=lambda p: (list(Duty).index(p.role), p.start))


def event_uid(rotation_id: int, shift: Stretch) -> str:
    """Stable per rotation, role and start: a shift whose person or end changes keeps its UID
    (a calendar updates the event in place); shadows add the person, as two may share a week."""
    start = shift.start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    who = f"-{shift.member}" if shift.role == Duty.SHADOW else ""
    return f"r{rotation_id}-{shift.role.value}-{start}{who}@{UID_DOMAIN}"


ROLE_TITLES = {Duty.PRIMARY: "Primary", Duty.SECONDARY: "Secondary", Duty.SHADOW: "Shadow"}


def summary(role: Duty, person: str, rotation: str, covering: str = "", reason: str = "") -> str:
    """ "Primary on call: Alice Nguyen (Platform)", and ", covering Bob Okafor" for a cover or
    override, ", swap with Bob Okafor" for a swapped stint."""
    word = "swap with" if reason == "swap" else "covering"
    whom = f", {word} {covering}" if covering else ""
    return f"{ROLE_TITLES[role]} on call: {person} ({rotation}){whom}"


def describe(
    role: Duty,
    rotation: str,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    partner_names: Sequence[tuple[Duty, str, datetime]],
    link: str,
) -> str:
    """The event's description: when it starts and hands off, who is beside, and a link back."""

    def when(instant: datetime) -> str:
        return f"{instant.astimezone(zone):%a %-d %b %Y %H:%M %Z}"

    lines = [
        f"{ROLE_TITLES[role]} on call for {rotation} ({zone.key}).",
        f"Starts {when(start)}; hands off {when(end)}.",
    ]
    for partner_role in PARTNER_ROLES[role]:
        named = [(name, since) for r, name, since in partner_names if r == partner_role]
        if not named:
            continue
        first, *later = named
        text = first[0] + "".join(f"; {name} from {when(since)}" for name, since in later)
        lines.append(f"{ROLE_TITLES[partner_role]}: {text}.")
    lines.append(f"Schedule: {link}")
    return "\n".join(lines)
