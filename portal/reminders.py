"""Reminders by email: a week and a day before a stint, an hour before a shift, the day before a
post-mortem or action item falls due.

It lives in portal/ because it gathers rooms (the rotation's effective schedule, incidents'
due items), as /me/ does. The deciding is pure (``due_now`` and the ``*_reminders`` builders);
``send_reminders`` is the periodic job that reads the schedule and writes what is due with
``portal.notices.tell`` under a key naming the reminder, so it is written once.

The window: a run at ``now`` writes every reminder whose moment fell in the last ``LOOKBACK``
and whose event is still ahead. The job runs every five minutes, so each moment falls in
about 24 runs' windows and the key keeps all but the first from writing again; a worker down
for an hour still finds the moments it missed inside two hours. A moment older than that is
let go: a stint added two days ahead (a swap, a roster edit) had its week-before moment five
days ago, and "your stint starts in a week" would be false, so it is never sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from incidents.models import ActionItem, Postmortem, PostmortemStatus
from portal.notices import tell, wants
from rotation.effective import effective_schedules
from rotation.models import Engineer, Rotation
from rotation.schedule import Duty
from rotation.stretches import Reason, Stretch

LOOKBACK = timedelta(hours=2)
WEEK_BEFORE = timedelta(days=7)
DAY_BEFORE = timedelta(days=1)
HOUR_BEFORE = timedelta(hours=1)
# A due item's reminder goes at nine in the morning, the person's time, the day before.
DUE_ITEM_HOUR = time(9, 0)


@dataclass(frozen=True)
class Reminder:
    """One email to write at ``moment``, about something starting or due at ``event``."""

    key: str
    choice: str  # the ReminderChoices switch that stops it
    moment: datetime
    event: datetime
    subject: str
    body: str


@dataclass(frozen=True)
class Held:
    """A person's stretches in one rotation, with the zone their times are told in."""

    rotation: str  # the rotation's slug
    rotation_name: str
    zone: ZoneInfo
    stretches: list[Stretch]


def due_now(reminders: Iterable[Reminder], now: datetime) -> list[Reminder]:
    """The reminders whose moment fell within ``LOOKBACK`` of ``now`` and whose event is ahead."""
    return [r for r in reminders if now - LOOKBACK < r.moment <= now and r.event > now]


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%a %-d %b %H:%M} ({zone.key})"


def stint_starts(stretches: list[Stretch]) -> list[datetime]:
    """Where the person's stints start: the handoffs that open a secondary week they hold as
    rostered or by swap (a cover of someone else's week is a shift, not a stint)."""
    return sorted(
        {
            s.slot_start
            for s in stretches
            if s.role == Duty.SECONDARY
            and s.reason in (Reason.ROSTERED, Reason.SWAP)
            and s.slot_start is not None
        }
    )


def shift_starts(stretches: list[Stretch]) -> list[Stretch]:
    """The stretches that start a shift: each one, but those that carry on the same role from
    a stretch ending as they begin (the schedule splits a week at an override's edges)."""
    ends = {(s.role, s.end) for s in stretches}
    return [s for s in stretches if (s.role, s.start) not in ends]


def schedule_reminders(email: str, held: Held) -> list[Reminder]:
    """Every stint and shift reminder of ``email`` in one rotation, due or not."""
    found = []
    for start in stint_starts(held.stretches):
        for choice, ahead, words in (
            ("week_before", WEEK_BEFORE, "in a week"),
            ("day_before", DAY_BEFORE, "tomorrow"),
        ):
            found.append(
                Reminder(
                    key=f"remind-{choice}:{email}:{held.rotation}:{start.isoformat()}",
                    choice=choice,
                    moment=start - ahead,
                    event=start,
                    subject=f"Your on-call stint in {held.rotation_name} starts {words}",
                    body=f"Your stint in {held.rotation_name} starts {_when(start, held.zone)}: "
                    "a week as secondary, then a week as primary.\n\n"
                    "Your weeks, swaps and covers are on your page (/me/) in the portal.",
                )
            )
    for stretch in shift_starts(held.stretches):
        found.append(
            Reminder(
                key=f"remind-hour:{email}:{held.rotation}:{stretch.role}:{stretch.start.isoformat()}",
                choice="hour_before",
                moment=stretch.start - HOUR_BEFORE,
                event=stretch.start,
                subject=f"You are {stretch.role} in {held.rotation_name} in an hour",
                body=f"You are {stretch.role} in {held.rotation_name} from "
                f"{_when(stretch.start, held.zone)} to {_when(stretch.end, held.zone)}.",
            )
        )
    return found


def due_item_reminder(
    kind: str, pk: int, title: str, due_on: date, zone: ZoneInfo, email: str
) -> Reminder:
    """The reminder, at nine the day before, that ``title`` falls due on ``due_on``."""
    due_at = datetime.combine(due_on, time(0, 0), zone)
    return Reminder(
        key=f"remind-{kind}:{pk}:{email}:{due_on.isoformat()}",
        choice="due_items",
        moment=datetime.combine(due_on - timedelta(days=1), DUE_ITEM_HOUR, zone),
        event=due_at,
        subject=f"Due tomorrow: {title}"[:200],
        body=f"{title} is due on {due_on:%a %-d %b %Y}.",
    )


def _zone(name: str, fallback: str) -> ZoneInfo:
    return ZoneInfo(name or fallback)


def _schedule_candidates(now: datetime) -> list[tuple[str, Reminder]]:
    rotations = list(Rotation.objects.all())
    # Far enough ahead to see a stint starting a week from the window's end.
    schedules = effective_schedules(rotations, now - LOOKBACK, now + WEEK_BEFORE + HOUR_BEFORE)
    found = []
    for effective in schedules:
        rotation = effective.rotation
        for email in sorted({s.member for s in effective.stretches}):
            person = effective.person(email)
            zone = _zone(person.time_zone if person else "", rotation.time_zone)
            held = Held(rotation.slug, rotation.name, zone, effective.of(email))
            found += [(email, r) for r in schedule_reminders(email, held)]
    return found


def _due_item_candidates(now: datetime) -> list[tuple[str, Reminder]]:
    # Items due within two days of today, whatever anyone's zone: the pure filter picks.
    days = [(now + timedelta(days=n)).date() for n in (-1, 0, 1, 2)]
    found = []
    for pm in (
        Postmortem.objects.filter(due_on__in=days)
        .exclude(status=PostmortemStatus.PUBLISHED)
        .select_related("owner", "incident")
    ):
        zone = _zone(pm.owner.time_zone, timezone.get_default_timezone_name())
        title = f"the post-mortem of {pm.incident}"
        found.append(
            (pm.owner.email, due_item_reminder("pm", pm.pk, title, pm.due_on, zone, pm.owner.email))
        )
    for item in ActionItem.objects.filter(due_on__in=days, done_at__isnull=True).select_related(
        "owner"
    ):
        zone = _zone(item.owner.time_zone, timezone.get_default_timezone_name())
        title = f"the action item {item.title!r}"
        found.append(
            (
                item.owner.email,
                due_item_reminder("action", item.pk, title, item.due_on, zone, item.owner.email),
            )
        )
    return found


def send_reminders(now: datetime | None = None) -> str:
    """Write every reminder due at ``now`` that its person wants; each is written once (its key),
    however often or on however many workers this runs."""
    now = now or timezone.now()
    active = set(Engineer.objects.filter(is_active=True).values_list("email", flat=True))
    candidates = _schedule_candidates(now) + _due_item_candidates(now)
    written = 0
    for email, reminder in candidates:
        if reminder not in due_now([reminder], now) or email not in active:
            continue
        if wants(email, reminder.choice):
            written += tell(reminder.key, email, reminder.subject, reminder.body)
    return f"reminders: {written} written"
