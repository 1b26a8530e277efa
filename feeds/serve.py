"""The calendar feeds a person may subscribe to, and how one is looked up and served.

A feed request costs one query to find the token (with the schedule's change stamp, the
publication's state and when this feed was last fetched in the same statement), one to read the
published events, and, at most every few minutes per feed, one to note the fetch. A request
that the client's ETag shows unchanged is answered after the first query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import connection
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import parse_etags

from feeds import ical
from feeds.actions import publication_is_current
from feeds.models import FeedFetch, FeedToken, Publication, PublishedShift, feed_token_matches
from portal.models import TopicStamp, hash_token
from portal.stamp import Stamps, remember
from rotation.models import Engineer, Role, Rotation
from rotation.schedule import Duty

# A month back and twelve months ahead, counted from the start of the day (UTC), so a feed
# stays the same, ETag included, all day long.
FEED_BACK = timedelta(days=31)
FEED_AHEAD = timedelta(days=366)
# Calendar clients fetch every hour at most; noting each fetch more often is wasted writes.
FETCH_NOTED_EVERY = timedelta(minutes=5)
MY_SHIFTS = "my-shifts"
KINDS = {"all": None, "primary": Role.PRIMARY, "secondary": Role.SECONDARY, "shadow": Role.SHADOW}
# Changes whenever the feed's format does, so that clients fetch the new one.
FORMAT = "2"


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


def feed_links(request: HttpRequest, token: str, feed: Feed) -> dict[str, str]:
    """The feed's https URL, its webcal:// twin (which calendar apps open as a subscription),
    and Google Calendar's "add by URL" link."""
    url = request.build_absolute_uri(reverse("feeds:feed", args=[token, feed.name]))
    webcal = "webcal://" + url.split("://", 1)[1]
    return {
        "url": url,
        "webcal": webcal,
        "google": "https://calendar.google.com/calendar/render?" + urlencode({"cid": webcal}),
    }


def parse_feed_name(name: str) -> Feed | None:
    """The feed a file name asks for (its rotation may not exist); None if it is no feed name."""
    if name == MY_SHIFTS:
        return Feed(MY_SHIFTS, "")
    slug, _, kind = name.rpartition(".")
    if not slug or kind not in KINDS:
        return None
    return Feed(name, "", slug, KINDS[kind])


@dataclass(slots=True)
class FeedRequest:
    """What the first query learnt about a feed request. Its instants stay as the database's
    text until asked for: a 304 needs one of them, a rendered feed all three."""

    token_id: int
    feed: Feed
    stamp: int | None
    published_stamp: int | None
    published_horizon_text: str | None
    published_changed_at_text: str | None
    last_fetch_text: str | None
    engineer_id: int | None
    engineer_name: str | None

    def is_published(self, now: datetime) -> bool:
        horizon = _instant(self.published_horizon_text)
        return publication_is_current(self.stamp, self.published_stamp, horizon, now)

    def etag(self, now: datetime) -> str:
        """Changes whenever the feed's content may: any write to the tables behind the schedule
        (its topic's change stamp), the day (the window moves), the format. Not the people
        topic: the lookup checks the token and its user on every request, 304 included. The
        host, on which the feed's links depend, need not be in it: a client keeps an ETag by
        URL, host included."""
        day = now.astimezone(UTC).date().isoformat()
        key = f"{FORMAT}|{self.stamp}|{day}|{self.feed.name}|{self.token_id}"
        return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'

    def last_modified(self, now: datetime) -> datetime:
        """When the published events last changed, or when today's window began if later."""
        day_start = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
        return max(filter(None, [_instant(self.published_changed_at_text), day_start]))

    def fetch_is_due(self, now: datetime) -> bool:
        last_fetch = _instant(self.last_fetch_text)
        return last_fetch is None or now - last_fetch >= FETCH_NOTED_EVERY


def is_unchanged(if_none_match: str | None, etag: str) -> bool:
    """Whether a GET's ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 asks)."""
    if not if_none_match:
        return False
    if if_none_match == etag:  # what calendar clients send back: checked before any parsing
        return True
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in parse_etags(if_none_match))


def find_feed(token: str, name: str) -> FeedRequest | None:
    """The feed ``name`` of the person whose feed token is ``token``; None (a 404 to the
    client, whichever the reason) if the token is unknown, rotated or the name is no feed."""
    feed = parse_feed_name(name)
    if feed is None or not token:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            _FIND_FEED_SQL, {"feed": name, "active": True, "token_hash": hash_token(token)}
        )
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
        published_horizon_text=horizon,
        published_changed_at_text=changed_at,
        last_fetch_text=last_fetch,
        engineer_id=engineer_id,
        engineer_name=who,
    )


# One statement written out, not built by the ORM: building the equivalent queryset (six
# subqueries) costs ten times what running it does, on the path every calendar poll takes.
# Named parameters: Django's SQLite backend rewrites "%s" placeholders with a regular expression
# on every execution (about 9 µs for this text), named ones with one string format (under 1).
# Instants are read as text, parsed only when needed: the backend's converter would parse all
# three with a regular expression, and a 304 needs one.
_FIND_FEED_SQL = f"""
SELECT token.id, token.seed,
       (SELECT value FROM {TopicStamp._meta.db_table} WHERE topic = 'schedule'),
       publication.stamp,
       CAST(publication.horizon AS TEXT),
       CAST(publication.changed_at AS TEXT),
       (SELECT CAST(fetched_at AS TEXT) FROM {FeedFetch._meta.db_table}
         WHERE token_id = token.id AND feed = %(feed)s),
       engineer.id, engineer.name
  FROM {FeedToken._meta.db_table} token
  JOIN {User._meta.db_table} person
    ON person.id = token.user_id AND person.is_active = %(active)s
  LEFT JOIN {Publication._meta.db_table} publication ON publication.id = 1
  LEFT JOIN {Engineer._meta.db_table} engineer ON engineer.user_id = token.user_id
 WHERE token.token_hash = %(token_hash)s
"""


def _instant(text: str | None) -> datetime | None:
    """A datetime column read as text: SQLite stores naive UTC, PostgreSQL gives "+00"."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


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
        ical.FeedEvent(
            uid=row.uid,
            summary=ical.summary(
                Duty(row.role), row.person_name, row.rotation.name, row.covering_name, row.reason
            ),
            description=ical.describe(
                Duty(row.role),
                row.rotation.name,
                ZoneInfo(row.rotation.time_zone),
                row.starts_at,
                row.ends_at,
                [
                    (Duty(p["role"]), p["name"], datetime.fromisoformat(p["from"]))
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
    return ical.calendar_text(name, description, events, {event.zone for event in events})


def feed_text(request: FeedRequest, now: datetime, link_of: Callable[[str], str]) -> bytes | None:
    """The feed's text (None if its rotation does not exist), remembered in this process while
    the schedule stamp and the day stay the same: every subscriber of a rotation's feed then
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
    schedule: Stamps | None = None if request.stamp is None else (("schedule", request.stamp),)
    return remember(key, schedule, now, compute)
