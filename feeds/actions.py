"""Writes of the calendar feeds: publishing the final schedule as events, feed tokens, and
the record of when calendar clients fetched.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from feeds import ical
from feeds.models import FeedFetch, FeedToken, Publication, PublishedShift, derive_feed_token
from portal.keycheck import record_secret_key
from portal.models import Actor, AuditEntry, SecretKeyFingerprint, hash_token
from portal.stamp import stamps
from rotation.effective import effective_schedule
from rotation.models import Rotation
from rotation.stretches import Reason

# Published shifts reach from before the feeds' month back to beyond their year ahead.
PUBLISHED_BACK = timedelta(days=40)
PUBLISHED_AHEAD = timedelta(days=400)


@dataclass(frozen=True)
class _Published:
    rotation_id: int
    role: str
    engineer_id: int
    person_name: str
    covering_name: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    partners: list[dict[str, str]]
    fingerprint: str


def publication_is_current(
    stamp: int | None, published: int | None, horizon: datetime | None, now: datetime
) -> bool:
    """Whether the published shifts reflect the database as of ``stamp`` and reach far enough."""
    return (
        stamp is not None
        and published == stamp
        and horizon is not None
        and horizon >= now + PUBLISHED_AHEAD - timedelta(days=30)
    )


@transaction.atomic
def publish_calendars(*, now: datetime | None = None) -> Publication:
    """Make the published shifts (what calendar feeds serve) equal the final schedule.

    An event whose content changed gets SEQUENCE + 1 and a new modified time; one that left the
    schedule is withdrawn. Returns the publication row. Two processes may call this at
    once: the first statement takes the write lock, and the second then finds nothing to do.
    """
    now = now or timezone.now()
    # Write first: on SQLite a transaction that has read cannot write once another has.
    if not Publication.objects.filter(pk=1).update(stamp=F("stamp")):
        Publication.objects.create(pk=1)
    publication = Publication.objects.select_for_update().get(pk=1)
    # The stamp before the schedule it stands for: a write committing while the schedule is read
    # (PostgreSQL reads each statement afresh) then leaves the publication under the older stamp,
    # and the next feed request publishes again. Read after, it would vouch for a schedule that
    # was never published.
    schedule = stamps("schedule")
    start, end = now - PUBLISHED_BACK, now + PUBLISHED_AHEAD
    desired = {
        published_uid: entry
        for rotation in Rotation.objects.all()
        for published_uid, entry in _final_schedule(rotation, start, end).items()
    }
    stored = {row.uid: row for row in PublishedShift.objects.filter(ends_at__gt=start)}
    changed: list[PublishedShift] = []
    for uid, entry in desired.items():
        row = stored.get(uid)
        if row is None:
            changed.append(
                PublishedShift(
                    uid=uid, **dataclasses.asdict(entry), created_at=now, modified_at=now
                )
            )
        elif row.fingerprint != entry.fingerprint or row.is_withdrawn:
            for name, value in dataclasses.asdict(entry).items():
                setattr(row, name, value)
            row.sequence, row.modified_at, row.is_withdrawn = row.sequence + 1, now, False
            changed.append(row)
    for uid, row in stored.items():
        if uid not in desired and not row.is_withdrawn:
            row.sequence, row.modified_at, row.is_withdrawn = row.sequence + 1, now, True
            changed.append(row)
    # One statement each for the new events and the changed ones, however many there are.
    updates = [row for row in changed if row.pk]
    PublishedShift.objects.bulk_create(row for row in changed if row.pk is None)
    PublishedShift.objects.bulk_update(
        updates, [*_PUBLISHED_FIELDS, "sequence", "modified_at", "is_withdrawn"]
    )
    publication.stamp, publication.horizon = schedule[0][1] if schedule else None, end
    if changed or publication.changed_at is None:
        publication.changed_at = now
    publication.save()
    return publication


_PUBLISHED_FIELDS = [field.name for field in dataclasses.fields(_Published)]


def _final_schedule(rotation: Rotation, start: datetime, end: datetime) -> dict[str, _Published]:
    """The rotation's final schedule over [start, end) as rows to publish, by UID."""
    effective = effective_schedule(rotation, start, end)
    final, people = effective.stretches, effective.people
    published = {}
    for shift in final:
        beside = [
            {"role": p.role.value, "name": people[p.member].name, "from": p.start.isoformat()}
            for p in ical.partners(shift, final)
        ]
        person = people[shift.member]
        covering = people[shift.covering].name if shift.covering else ""
        content = [
            rotation.name,
            rotation.time_zone,
            shift.role.value,
            person.pk,
            person.name,
            shift.start.isoformat(),
            shift.end.isoformat(),
            beside,
            # Only when set, so that rostered events keep the fingerprints they had.
            *([covering] if covering else []),
            *(["swap"] if shift.reason == Reason.SWAP else []),
        ]
        published[ical.event_uid(rotation.pk, shift)] = _Published(
            rotation_id=rotation.pk,
            role=shift.role.value,
            engineer_id=person.pk,
            person_name=person.name,
            covering_name=covering,
            reason=shift.reason.value if covering else "",
            starts_at=shift.start,
            ends_at=shift.end,
            partners=beside,
            fingerprint=hashlib.sha256(json.dumps(content).encode()).hexdigest(),
        )
    return published


@transaction.atomic
def rotate_feed_token(user: User, *, by: Actor) -> FeedToken:
    """A new calendar-feed token for ``user``: every old feed URL stops working at once."""
    seed = FeedToken.new_seed()
    token, _ = FeedToken.objects.update_or_create(
        user=user,
        defaults={"seed": seed, "token_hash": hash_token(derive_feed_token(seed))},
        create_defaults={
            "seed": seed,
            "token_hash": hash_token(derive_feed_token(seed)),
            "created_at": timezone.now(),
        },
    )
    token.fetches.all().delete()
    record_secret_key()  # the first token: every one after is made with the same key
    AuditEntry.record("feed_token.rotated", user.get_username(), by=by)
    return token


def feed_token_of(user: User) -> FeedToken:
    """``user``'s feed token, made on first use. If the server's secret key changed, the
    token it derives no longer matches the stored hash: store the new one, so the URLs shown
    are the ones that work."""
    token = FeedToken.objects.filter(user=user).first()
    if token is None:
        return rotate_feed_token(user, by=user)
    if token.token_hash != hash_token(token.token):
        FeedToken.objects.filter(pk=token.pk).update(token_hash=hash_token(token.token))
        AuditEntry.record("feed_token.rekeyed", user.get_username(), by=None)
    return token


@transaction.atomic
def rekey_feed_tokens(*, by: Actor) -> int:
    """Derive every feed token again with this process's secret key, and remember that key
    (portal/keycheck.py): for a database whose tokens another key made, when that key is lost.
    Every feed URL changes, so every subscriber must subscribe again; the number of tokens."""
    previous = SecretKeyFingerprint.objects.values_list("fingerprint", flat=True).first()
    tokens = list(FeedToken.objects.select_for_update().only("pk", "seed"))
    for token in tokens:
        token.token_hash = hash_token(derive_feed_token(token.seed))
    FeedToken.objects.bulk_update(tokens, ["token_hash"], batch_size=500)
    # The fetches were of the old URLs; none of the new ones has been fetched yet.
    FeedFetch.objects.all().delete()
    fingerprint = record_secret_key(replacing=True)
    AuditEntry.record(
        "feed_tokens.rekeyed",
        f"{len(tokens)} feed tokens",
        by=by,
        fingerprint=fingerprint,
        previous=previous,
    )
    return len(tokens)


def record_feed_fetch(token_id: int, feed: str, user_agent: str, now: datetime) -> None:
    """Note that a calendar client fetched ``feed``: one statement, an insert or an update."""
    FeedFetch.objects.bulk_create(
        [FeedFetch(token_id=token_id, feed=feed, fetched_at=now, user_agent=user_agent[:200])],
        update_conflicts=True,
        unique_fields=["token", "feed"],
        update_fields=["fetched_at", "user_agent"],
    )
