"""The calendar feeds a person may subscribe to, and how one is looked up and served.

A feed request costs one query to find the token (with the database's change stamp, the
publication's state and when this feed was last fetched in the same statement), one to read the
published events, and, at most every few minutes per feed, one to note the fetch. A request
that the client's ETag shows unchanged is answered after the first query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import connection
from django.utils.dateparse import parse_datetime

from portal.models import ChangeStamp, hash_token
from portal.stamp import remember
from rotation import feeds
from rotation.feed_actions import publication_is_current
from rotation.models import (
    Engineer,
    FeedFetch,
    FeedToken,
    Publication,
    PublishedShift,
    Role,
    Rotation,
    feed_token_matches,
)
from rotation.schedule import Role as ScheduleRole

# A month back and twelve months ahead, counted from the start of the day (UTC), so a feed
# stays the same, ETag included, all day long.
FEED_BACK = timedelta(days=31)
FEED_AHEAD = timedelta(days=366)
# Calendar clients fetch every hour at most; noting each fetch more often is wasted writes.
FETCH_NOTED_EVERY = timedelta(minutes=5)
MY_SHIFTS = "my-shifts"
KINDS = {"all": None, "primary": Role.PRIMARY, "secondary": Role.SECONDARY, "shadow": Role.SHADOW}
# Changes whenever the feed's format does, so that clients fetch the new one.
FORMAT = "1"


@dataclass(frozen=True)
class Feed:
    """One subscribable feed: ``name`` is its file name without ``.ics``."""

    name: str
    title: str
    rotation_slug: str | None = None
    role: str | None = None

    @property
    def file_name(self) -> str:
        return f"{self.name}.ics"


def feeds_for(rotations: Sequence[Rotation], engineer: Engineer | None) -> list[Feed]:
    """Every feed a person may subscribe to: theirs first, then each rotation's."""
    mine = [Feed(MY_SHIFTS, f"On call: {engineer.name}")] if engineer else []
    return mine + [
        Feed(
            f"{r.slug}.{kind}",
            f"{r.name}: {'every role' if role is None else role.label.lower()}",
            r.slug,
            role,
        )
        for r in rotations
        for kind, role in KINDS.items()
    ]


def parse_feed_name(name: str) -> Feed | None:
    """The feed a file name asks for (its rotation may not exist); None if it is no feed name."""
    if name == MY_SHIFTS:
        return Feed(MY_SHIFTS, "")
    slug, _, kind = name.rpartition(".")
    if not slug or kind not in KINDS:
        return None
    return Feed(name, "", slug, KINDS[kind])


@dataclass(frozen=True)
class FeedRequest:
    """What the first query learnt about a feed request."""

    token_id: int
    feed: Feed
    stamp: int | None
    published_stamp: int | None
    published_horizon: datetime | None
    published_changed_at: datetime | None
    last_fetch: datetime | None
    engineer_id: int | None
    engineer_name: str | None

    def is_published(self, now: datetime) -> bool:
        return publication_is_current(self.stamp, self.published_stamp, self.published_horizon, now)

    def etag(self, now: datetime, host: str) -> str:
        """Changes whenever the feed's content may: any write to the tables behind the schedule
        (the change stamp), the day (the window moves), the host (the links), the format."""
        day = now.astimezone(UTC).date().isoformat()
        key = f"{FORMAT}|{self.stamp}|{day}|{self.feed.name}|{self.token_id}|{host}"
        return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'

    def last_modified(self, now: datetime) -> datetime:
        """When the published events last changed, or when today's window began if later."""
        day_start = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
        return max(filter(None, [self.published_changed_at, day_start]))

    def fetch_is_due(self, now: datetime) -> bool:
        return self.last_fetch is None or now - self.last_fetch >= FETCH_NOTED_EVERY


def find_feed(token: str, name: str) -> FeedRequest | None:
    """The feed ``name`` of the person whose feed token is ``token``; None (a 404 to the
    client, whichever the reason) if the token is unknown, rotated or the name is no feed."""
    feed = parse_feed_name(name)
    if feed is None or not token:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_FIND_FEED_SQL, [name, True, hash_token(token)])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, seed, stamp, published, horizon, changed_at, last_fetch, engineer_id, who = row
    # The hash lookup found the row; the constant-time check also proves the token is the one
    # the current server key derives from the row's seed.
    if not feed_token_matches(seed, token):
        return None
    if feed.name == MY_SHIFTS and engineer_id is None:
        return None
    return FeedRequest(
        token_id=token_id,
        feed=feed,
        stamp=stamp,
        published_stamp=published,
        published_horizon=_instant(horizon),
        published_changed_at=_instant(changed_at),
        last_fetch=_instant(last_fetch),
        engineer_id=engineer_id,
        engineer_name=who,
    )


# One statement written out, not built by the ORM: building the equivalent queryset (six
# subqueries) costs ten times what running it does, on the path every calendar poll takes.
_FIND_FEED_SQL = f"""
SELECT token.id, token.seed,
       (SELECT value FROM {ChangeStamp._meta.db_table} WHERE id = 1),
       publication.stamp, publication.horizon, publication.changed_at,
       (SELECT fetched_at FROM {FeedFetch._meta.db_table}
         WHERE token_id = token.id AND feed = %s),
       engineer.id, engineer.name
  FROM {FeedToken._meta.db_table} token
  JOIN {User._meta.db_table} person ON person.id = token.user_id AND person.is_active = %s
  LEFT JOIN {Publication._meta.db_table} publication ON publication.id = 1
  LEFT JOIN {Engineer._meta.db_table} engineer ON engineer.user_id = token.user_id
 WHERE token.token_hash = %s
"""


def _instant(value: datetime | str | None) -> datetime | None:
    """A datetime column read by a raw cursor: SQLite gives text or naive UTC, PostgreSQL aware."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def feed_window(now: datetime) -> tuple[datetime, datetime]:
    day_start = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    return day_start - FEED_BACK, day_start + FEED_AHEAD


def published_events(request: FeedRequest, now: datetime) -> list[PublishedShift] | None:
    """The feed's events; None if it names a rotation that does not exist."""
    start, end = feed_window(now)
    rows = PublishedShift.objects.filter(
        is_withdrawn=False, ends_at__gt=start, starts_at__lt=end
    ).select_related("rotation")
    feed = request.feed
    if feed.rotation_slug is None:
        assert request.engineer_id is not None  # find_feed refuses "my-shifts" without one
        rows = rows.filter(engineer_id=request.engineer_id)
    else:
        rows = rows.filter(rotation__slug=feed.rotation_slug)
        if feed.role is not None:
            rows = rows.filter(role=feed.role)
    found = list(rows.order_by("starts_at", "rotation_id", "role", "uid"))
    missing = not found and feed.rotation_slug is not None
    if missing and not Rotation.objects.filter(slug=feed.rotation_slug).exists():
        return None
    return found


def feed_title(request: FeedRequest, rows: Sequence[PublishedShift]) -> tuple[str, str]:
    """The calendar's name and description."""
    feed = request.feed
    if feed.rotation_slug is None:
        return "My on-call shifts", f"The on-call shifts of {request.engineer_name}"
    rotation = rows[0].rotation.name if rows else feed.rotation_slug
    which = "on call" if feed.role is None else Role(feed.role).label.lower()
    return f"{rotation} {which}", f"Who is {which} for {rotation}, from the on-call portal"


def render_feed(
    request: FeedRequest, rows: Sequence[PublishedShift], link_of: dict[str, str]
) -> bytes:
    """The iCalendar text; ``link_of`` maps a rotation slug to its schedule page's URL."""
    events = [
        feeds.FeedEvent(
            uid=row.uid,
            summary=feeds.summary(ScheduleRole(row.role), row.person_name, row.rotation.name),
            description=feeds.describe(
                ScheduleRole(row.role),
                row.rotation.name,
                ZoneInfo(row.rotation.time_zone),
                row.starts_at,
                row.ends_at,
                [
                    (ScheduleRole(p["role"]), p["name"], datetime.fromisoformat(p["from"]))
                    for p in row.partners
                ],
                link_of[row.rotation.slug],
            ),
            start=row.starts_at,
            end=row.ends_at,
            zone=ZoneInfo(row.rotation.time_zone),
            sequence=row.sequence,
            modified=row.modified_at,
            url=link_of[row.rotation.slug],
        )
        for row in rows
    ]
    name, description = feed_title(request, rows)
    return feeds.calendar_text(name, description, events, {event.zone for event in events})


def feed_text(request: FeedRequest, now: datetime, link_of: Callable[[str], str]) -> bytes | None:
    """The feed's text (None if its rotation does not exist), remembered in this process while
    the change stamp and the day stay the same: every subscriber of a rotation's feed then
    costs one query. ``link_of`` gives a rotation's schedule URL on the requested host."""

    def compute() -> tuple[bytes | None, datetime]:
        rows = published_events(request, now)
        tomorrow = feed_window(now)[0] + FEED_BACK + timedelta(days=1)
        if rows is None:
            return None, tomorrow
        links = {slug: link_of(slug) for slug in {row.rotation.slug for row in rows}}
        return render_feed(request, rows, links), tomorrow

    person = request.engineer_id if request.feed.rotation_slug is None else None
    key = ("calendar_feed", FORMAT, request.feed.name, person, link_of(""))
    return remember(key, request.stamp, now, compute)
