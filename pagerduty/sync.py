"""Keep each rotation's PagerDuty escalation policy equal to the roster, and read PagerDuty's
schedule feeds to show where they disagree with the portal.

The desired policy: level 1 the effective primary, level 2 the effective secondary (overrides
included), 5 minutes between levels. A run reads the policy (one GET), compares the levels as
sets of (type, id) per level, and writes (one PUT) only when they differ, keeping the policy's
other fields. Every run is recorded as a SyncRun, failures included, so people can see what
happened; a failure never changes the portal's data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from pagerduty import webcal
from pagerduty.client import PagerDuty, PagerDutyError
from pagerduty.models import SyncClaim, SyncRun, WebcalImport
from portal.models import AuditEntry
from rotation.effective import effective_schedule
from rotation.models import Engineer, Rotation
from rotation.oncall import on_call

DELAY_MINUTES = 5
# A run re-reads the policy this often even when the roster says nothing changed, to catch
# edits made in PagerDuty by hand.
RECHECK_EVERY = timedelta(minutes=5)
# A claim outlives any run (the client gives up within its own time cap), so a worker that
# died mid-run blocks the next one for at most this long.
CLAIM_FOR = timedelta(minutes=2)
DRIFT_AHEAD = timedelta(days=90)
USER_TYPES = {"user", "user_reference"}

Level = tuple[int, frozenset[tuple[str, str]]]


# Comparing policies (pure) ------------------------------------------------------------------


def levels_of(policy: dict[str, Any]) -> list[Level]:
    """Each rule as (delay, {(type, id)}), in level order; ``user`` and ``user_reference``
    targets are the same thing, and rule ids and the order of targets do not matter."""
    return [
        (
            int(rule.get("escalation_delay_in_minutes", 0)),
            frozenset(
                ("user" if target["type"] in USER_TYPES else target["type"], target["id"])
                for target in rule.get("targets", [])
            ),
        )
        for rule in policy.get("escalation_rules", [])
    ]


def desired_levels(primary_id: str, secondary_id: str) -> list[Level]:
    return [
        (DELAY_MINUTES, frozenset({("user", primary_id)})),
        (DELAY_MINUTES, frozenset({("user", secondary_id)})),
    ]


def policy_update(policy: dict[str, Any], primary_id: str, secondary_id: str) -> dict[str, Any]:
    """The PUT body's policy: our two rules, and every writable field as it was."""
    kept: dict[str, Any] = {
        key: policy[key]
        for key in ("name", "description", "num_loops", "on_call_handoff_notifications")
        if key in policy
    }
    if policy.get("teams"):
        kept["teams"] = [{"id": team["id"], "type": "team_reference"} for team in policy["teams"]]
    return {
        "type": "escalation_policy",
        **kept,
        "escalation_rules": [
            {
                "escalation_delay_in_minutes": DELAY_MINUTES,
                "targets": [{"id": user_id, "type": "user_reference"}],
            }
            for user_id in (primary_id, secondary_id)
        ],
    }


def describe_levels(levels: list[Level]) -> list[dict[str, Any]]:
    return [
        {"delay": delay, "targets": sorted(f"{kind}:{ident}" for kind, ident in targets)}
        for delay, targets in levels
    ]


# Claims and records -------------------------------------------------------------------------


@contextmanager
def claimed(
    name: str, now: datetime, hold: timedelta = CLAIM_FOR, *, release: bool = True
) -> Iterator[bool]:
    """True for the one worker that holds ``name``; a conditional update decides, so two
    workers starting the same job together never both go on. Without ``release`` the claim
    lasts ``hold``: nobody does that work again before."""
    try:
        with transaction.atomic():
            SyncClaim.objects.create(name=name, held_until=now - timedelta(seconds=1))
    except IntegrityError:
        pass
    won = (
        SyncClaim.objects.filter(name=name, held_until__lte=now).update(held_until=now + hold) == 1
    )
    try:
        yield won
    finally:
        if won and release:
            SyncClaim.objects.filter(name=name).update(held_until=now)


@dataclass
class Recorder:
    """Times a run and notes the client's calls and request ids made during it."""

    client: PagerDuty
    run: SyncRun
    _calls: int = 0
    _ids: int = 0
    _started: float = 0.0

    def __post_init__(self) -> None:
        self._calls, self._ids, self._started = (
            self.client.calls,
            len(self.client.request_ids),
            time.monotonic(),
        )

    def save(self) -> SyncRun:
        self.run.api_calls = self.client.calls - self._calls
        self.run.request_ids = self.client.request_ids[self._ids :]
        self.run.duration_ms = int((time.monotonic() - self._started) * 1000)
        self.run.save()
        return self.run


# Users --------------------------------------------------------------------------------------


def pagerduty_user_of(client: PagerDuty, engineer: Engineer) -> str | None:
    """The engineer's PagerDuty user: the id set on them, or else the one user whose email is
    exactly theirs (case aside) among the search results, remembered. Never a guess."""
    if engineer.pagerduty_user_id:
        return engineer.pagerduty_user_id
    found = [
        user
        for user in client.find_users(engineer.email)
        if str(user.get("email", "")).strip().lower() == engineer.email
    ]
    if len(found) != 1:
        return None
    engineer.pagerduty_user_id = found[0]["id"]
    Engineer.objects.filter(pk=engineer.pk).update(pagerduty_user_id=found[0]["id"])
    AuditEntry.record(
        "pagerduty.user_matched", engineer.email, by=None, pagerduty_user_id=found[0]["id"]
    )
    return engineer.pagerduty_user_id


def match_roster_users(rotation: Rotation, client: PagerDuty) -> list[Engineer]:
    """Look up the PagerDuty user of every rostered engineer who has none yet (before their
    turn, so a missing one shows as a problem a week early); the ones still missing."""
    members = Engineer.objects.filter(
        memberships__rotation=rotation, pagerduty_user_id="", is_active=True
    )
    return [engineer for engineer in members if pagerduty_user_of(client, engineer) is None]


# The escalation policy ----------------------------------------------------------------------


def policy_sync_is_due(rotation: Rotation, now: datetime) -> bool:
    """Due when who should be paged differs from what the last run saw (a handoff or an
    override edge passed), or when the last run is older than RECHECK_EVERY."""
    last = SyncRun.objects.filter(
        kind=SyncRun.Kind.POLICY, rotation=rotation, dry_run=False
    ).first()
    if last is None or now - last.started_at >= RECHECK_EVERY:
        return True
    return bool(last.found.get("roster") != roster_now(rotation, now))


def roster_now(rotation: Rotation, now: datetime) -> list[str]:
    """Who should be paged now: [primary email, secondary email], [] before the first shift."""
    (answer,) = on_call([rotation], now)
    if answer.primary is None or answer.secondary is None:
        return []
    return [answer.primary.email, answer.secondary.email]


def sync_policy(
    rotation: Rotation,
    client: PagerDuty,
    *,
    dry_run: bool = False,
    match_roster: bool = False,
    now: datetime | None = None,
) -> SyncRun:
    """One run for one rotation; always returns the recorded run, failed or not.

    A dry run writes nothing at all, neither the run nor a matched user id nor an audit entry:
    it runs in a transaction that is rolled back, and returns the run unsaved."""
    if not dry_run:
        return _sync_policy(rotation, client, dry_run=False, match_roster=match_roster, now=now)
    with transaction.atomic():
        run = _sync_policy(rotation, client, dry_run=True, match_roster=match_roster, now=now)
        transaction.set_rollback(True)
    run.pk = None
    return run


def _sync_policy(
    rotation: Rotation,
    client: PagerDuty,
    *,
    dry_run: bool,
    match_roster: bool,
    now: datetime | None,
) -> SyncRun:
    """``sync_policy``'s run, recorded.

    With ``match_roster`` it first looks up the PagerDuty user of every rostered engineer who
    has none yet, so that one missing shows as a problem before their turn (no calls once
    everyone is matched)."""
    now = now or timezone.now()
    run = SyncRun(kind=SyncRun.Kind.POLICY, rotation=rotation, started_at=now, dry_run=dry_run)
    record = Recorder(client, run)
    policy_id = rotation.pagerduty_escalation_policy_id
    try:
        if match_roster:
            run.found["unmapped"] = [e.email for e in match_roster_users(rotation, client)]
        (answer,) = on_call([rotation], now)
        if answer.primary is None or answer.secondary is None:
            raise SyncBlockedError("the rotation has nobody on call yet")
        run.found["roster"] = [answer.primary.email, answer.secondary.email]
        people = {"primary": answer.primary, "secondary": answer.secondary}
        ids = {role: pagerduty_user_of(client, person) for role, person in people.items()}
        missing = [f"{people[r].name} ({people[r].email})" for r, i in ids.items() if i is None]
        if missing:
            unmapped = run.found.get("unmapped", []) + [
                people[r].email for r, i in ids.items() if i is None
            ]
            run.found["unmapped"] = sorted(set(unmapped))
            raise SyncBlockedError(
                "no PagerDuty user for "
                + " and ".join(missing)
                + ": set the engineer's PagerDuty user id in the admin"
            )
        primary_id, secondary_id = str(ids["primary"]), str(ids["secondary"])
        policy = client.get_escalation_policy(policy_id)
        current, desired = levels_of(policy), desired_levels(primary_id, secondary_id)
        run.found |= {"policy": policy_id, "levels": describe_levels(current)}
        if sorted_levels(current) == sorted_levels(desired):
            run.outcome = SyncRun.Outcome.IN_SYNC
            return record.save()
        body = policy_update(policy, primary_id, secondary_id)
        run.changed = {"levels": describe_levels(desired), "body": body}
        if dry_run:
            run.outcome = SyncRun.Outcome.WOULD_CHANGE
            return record.save()
        client.put_escalation_policy(policy_id, body)
        run.outcome = SyncRun.Outcome.CHANGED
        AuditEntry.record(
            "pagerduty.policy_updated",
            rotation.slug,
            by=None,
            policy=policy_id,
            primary=answer.primary.email,
            secondary=answer.secondary.email,
        )
    except (PagerDutyError, SyncBlockedError) as error:
        run.outcome, run.error = SyncRun.Outcome.FAILED, str(error)
    return record.save()


def sorted_levels(levels: list[Level]) -> list[tuple[int, list[tuple[str, str]]]]:
    return [(delay, sorted(targets)) for delay, targets in levels]


class SyncBlockedError(Exception):
    """The portal's side stops the sync (nobody on call, a person with no PagerDuty user)."""


# Schedule feeds -----------------------------------------------------------------------------


def import_feed(
    rotation: Rotation, role: str, url: str, client: PagerDuty, *, now: datetime | None = None
) -> SyncRun:
    """Read one PagerDuty schedule feed and record where it differs from the portal over the
    next 90 days. A feed that cannot be read keeps the last good import and says why."""
    now = now or timezone.now()
    run = SyncRun(kind=SyncRun.Kind.WEBCAL, rotation=rotation, started_at=now)
    record = Recorder(client, run)
    imported, _ = WebcalImport.objects.get_or_create(
        rotation=rotation, role=role, defaults={"url": url}
    )
    imported.url, imported.attempted_at = url, now
    run.found = {"role": role, "url": _without_key(url)}
    try:
        shifts = webcal.parse_feed(client.get_feed(url))
    except (PagerDutyError, webcal.WebcalError) as error:
        imported.error = run.error = f"{_without_key(url)}: {error}"
        imported.save(update_fields=["url", "attempted_at", "error"])
        run.outcome = SyncRun.Outcome.FAILED
        return record.save()
    drift = feed_drift(rotation, role, shifts, now)
    imported.shifts = [
        {"start": s.start.isoformat(), "end": s.end.isoformat(), "name": s.name, "email": s.email}
        for s in shifts
    ]
    imported.drift = [
        {
            "start": d.start.isoformat(),
            "end": d.end.isoformat(),
            "portal": d.portal,
            "pagerduty": d.pagerduty,
            "hours": round(d.hours, 2),
        }
        for d in drift
    ]
    imported.imported_at, imported.error = now, ""
    imported.save()
    run.found |= {"events": len(shifts), "drift": imported.drift}
    run.outcome = SyncRun.Outcome.DRIFT if drift else SyncRun.Outcome.IN_SYNC
    return record.save()


def feed_drift(
    rotation: Rotation, role: str, shifts: list[webcal.FeedShift], now: datetime
) -> list[webcal.Drift]:
    """Where the feed and the portal's final schedule name different people for ``role``."""
    end = now + DRIFT_AHEAD
    by_email = dict(Engineer.objects.values_list("email", "name"))
    final = effective_schedule(rotation, now, end).stretches
    portal = [(s.start, s.end, by_email[s.member]) for s in final if s.role.value == role]
    by_name = {name.lower(): name for name in by_email.values()}
    feed = [
        (s.start, s.end, by_email.get(s.email) or by_name.get(s.name.lower()) or s.name or s.email)
        for s in shifts
    ]
    return webcal.compare(portal, feed, now, end)


def _without_key(url: str) -> str:
    """A feed URL for records and pages: PagerDuty's private key is a credential."""
    head, sep, rest = url.partition("/private/")
    if not sep:
        return url
    _, slash, tail = rest.partition("/")
    return f"{head}/private/…{slash}{tail}"
