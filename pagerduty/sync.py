"""Keep each rotation's PagerDuty escalation policy equal to the roster, and read PagerDuty's
schedule feeds to show where they disagree with the portal.

The desired policy: level 1 the effective primary, level 2 the effective secondary (overrides
included), 5 minutes between levels; any further levels (someone to page when both miss it)
are PagerDuty's own and are kept as they are. A run reads the policy (one GET), compares the levels as
sets of (type, id) per level, and writes (one PUT) only when they differ, keeping the policy's
other fields. Every run is recorded as a SyncRun, failures included, so people can see what
happened; a failure never changes the portal's data.

A worker can die at any point (killed, out of memory, its machine gone), so a real run's
record is saved as running before PagerDuty is called, and the audit entry of a change is
written before the PUT that makes it: whatever is left behind says PagerDuty may have changed.
The next run finds such a run, marks it interrupted, and syncs again; since a sync writes only
the difference, doing it twice is harmless. Runs are kept apart by a claim per rotation held as
a short lease (``LEASE``) and renewed before every PagerDuty request, so a dead worker's claim
lapses within the lease and the next run takes over.
"""

from __future__ import annotations

import math
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
# How long a policy sync's claim lasts unless renewed. It is renewed before every PagerDuty
# request, and the client waits at most 30 s in all before a retry, so a live run keeps it; a
# dead worker's claim lapses within it. With the sync scheduled every minute, a sync killed
# midway is finished by another worker within LEASE + a minute (README, "PagerDuty").
LEASE = timedelta(seconds=30)
UNFINISHED = {SyncRun.Outcome.RUNNING, SyncRun.Outcome.INTERRUPTED}
LOOK_AGAIN = 1.0  # seconds between looks at a claim another run holds
MATCH_USERS_EVERY = timedelta(hours=1)
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
    """The PUT body's policy: our two rules, then the policy's further rules and every writable
    field as they were."""
    kept: dict[str, Any] = {
        key: policy[key]
        for key in ("name", "description", "num_loops", "on_call_handoff_notifications")
        if key in policy
    }
    if policy.get("teams"):
        kept["teams"] = [{"id": team["id"], "type": "team_reference"} for team in policy["teams"]]
    further = [
        {
            "escalation_delay_in_minutes": rule.get("escalation_delay_in_minutes", DELAY_MINUTES),
            "targets": [
                {"id": t["id"], "type": t["type"].removesuffix("_reference") + "_reference"}
                for t in rule.get("targets", [])
            ],
        }
        for rule in policy.get("escalation_rules", [])[2:]
    ]
    return {
        "type": "escalation_policy",
        **kept,
        "escalation_rules": [
            {
                "escalation_delay_in_minutes": DELAY_MINUTES,
                "targets": [{"id": user_id, "type": "user_reference"}],
            }
            for user_id in (primary_id, secondary_id)
        ]
        + further,
    }


def describe_levels(levels: list[Level]) -> list[dict[str, Any]]:
    return [
        {"delay": delay, "targets": sorted(f"{kind}:{ident}" for kind, ident in targets)}
        for delay, targets in levels
    ]


# Claims and records -------------------------------------------------------------------------


def worker_name() -> str:
    """This process as claims and runs name it: the host and the process id."""
    return f"{socket.gethostname()} pid {os.getpid()}"


class LeaseLostError(Exception):
    """The claim lapsed and another run took it over: stop before calling PagerDuty again."""


@dataclass(frozen=True)
class Lease:
    """A claim this run holds; ``token`` tells this holding from any later one."""

    name: str
    token: str

    def renew(self) -> None:
        """Hold the claim LEASE longer from now; LeaseLostError if it is no longer ours."""
        held = SyncClaim.objects.filter(name=self.name, token=self.token)
        if not held.update(held_until=timezone.now() + LEASE):
            raise LeaseLostError(
                f"This run lost its claim ({self.name}): it lapsed and another run took over."
            )

    def note_run(self, run: SyncRun) -> None:
        SyncClaim.objects.filter(name=self.name, token=self.token).update(run=run)

    def release(self) -> None:
        SyncClaim.objects.filter(name=self.name, token=self.token).update(
            held_until=timezone.now(), token=""
        )


@dataclass(frozen=True)
class Busy:
    """Another run holds the claim: who, which run, since when."""

    holder: str
    run_id: int | None
    since: datetime | None

    def __str__(self) -> str:
        run = f"run {self.run_id}" if self.run_id else "a run"
        since = f" since {self.since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if self.since else ""
        return f"skipped: {run} by {self.holder or 'another worker'} in progress{since}"


def take_lease(name: str, *, holder: str, now: datetime | None = None) -> Lease | None:
    """The claim ``name`` for LEASE if it is free or has lapsed, else None. A conditional
    update decides, so of two workers asking at once exactly one gets it."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            SyncClaim.objects.create(name=name, held_until=now - timedelta(seconds=1))
    except IntegrityError:
        pass
    token = uuid.uuid4().hex
    won = SyncClaim.objects.filter(name=name, held_until__lte=now).update(
        held_until=now + LEASE, holder=holder, token=token, claimed_at=now, run=None
    )
    return Lease(name, token) if won else None


def wait_for_lease(
    name: str,
    *,
    holder: str,
    up_to: timedelta = LEASE,
    sleep: Callable[[float], None] = time.sleep,
) -> Lease | Busy:
    """The claim ``name``: at once if free, else as soon as its holder releases it or it
    lapses within ``up_to``; else who holds it. Waiting out a lapsing claim means a run that
    starts just after a worker died finishes its sync, instead of leaving it a minute more."""
    looks = math.ceil(up_to.total_seconds() / LOOK_AGAIN) + 1
    for look in range(looks):
        lease = take_lease(name, holder=holder)
        if lease is not None:
            return lease
        if look < looks - 1:
            sleep(LOOK_AGAIN)
    claim = SyncClaim.objects.get(name=name)
    return Busy(claim.holder, claim.run_id, claim.claimed_at)


def due_once_every(name: str, every: timedelta, now: datetime) -> bool:
    """True for the one run that finds ``name`` not done within ``every``; done until then."""
    try:
        with transaction.atomic():
            SyncClaim.objects.create(name=name, held_until=now - timedelta(seconds=1))
    except IntegrityError:
        pass
    return (
        SyncClaim.objects.filter(name=name, held_until__lte=now).update(held_until=now + every) == 1
    )


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
    override edge passed), when the last run did not finish (it may have been killed before or
    during its write), or when it is older than RECHECK_EVERY."""
    last = SyncRun.objects.filter(
        kind=SyncRun.Kind.POLICY, rotation=rotation, dry_run=False
    ).first()
    if last is None or now - last.started_at >= RECHECK_EVERY or last.outcome in UNFINISHED:
        return True
    return bool(last.found.get("roster") != roster_now(rotation, now))


def roster_now(rotation: Rotation, now: datetime) -> list[str]:
    """Who should be paged now: [primary email, secondary email], [] before the first shift."""
    (answer,) = on_call([rotation], now)
    if answer.primary is None or answer.secondary is None:
        return []
    return [answer.primary.email, answer.secondary.email]


def sync_policy_claimed(
    rotation: Rotation,
    client: PagerDuty,
    *,
    only_if_due: bool,
    match_roster: bool | None = None,
    wait: timedelta = LEASE,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncRun | Busy | None:
    """A real sync of ``rotation``'s policy, as the job and the command run it: under the
    rotation's claim, waiting up to ``wait`` for another run to finish or lapse.

    Busy when another run still holds the claim; None when ``only_if_due`` and, once the
    claim was had, nothing is due (the run that held it has just synced). ``match_roster``
    None matches the whole roster to PagerDuty users at most hourly."""
    claim = wait_for_lease(
        f"pagerduty-policy:{rotation.pk}", holder=worker_name(), up_to=wait, sleep=sleep
    )
    if isinstance(claim, Busy):
        return claim
    try:
        now = timezone.now()
        if only_if_due and not policy_sync_is_due(rotation, now):
            return None
        if match_roster is None:
            match_roster = due_once_every(f"pagerduty-users:{rotation.pk}", MATCH_USERS_EVERY, now)
        return sync_policy(rotation, client, match_roster=match_roster, now=now, lease=claim)
    finally:
        claim.release()


def sync_policy(
    rotation: Rotation,
    client: PagerDuty,
    *,
    dry_run: bool = False,
    match_roster: bool = False,
    now: datetime | None = None,
    lease: Lease | None = None,
) -> SyncRun:
    """One run for one rotation; always returns the recorded run, failed or not.

    A real run is saved as running before PagerDuty is called, marks the rotation's runs left
    running as interrupted, and renews ``lease`` before each request: callers that may run
    beside another worker hold the rotation's claim (``sync_policy_claimed``).

    A dry run writes nothing at all, neither the run nor a matched user id nor an audit entry:
    it runs in a transaction that is rolled back, and returns the run unsaved."""
    if not dry_run:
        return _sync_policy(
            rotation, client, dry_run=False, match_roster=match_roster, now=now, lease=lease
        )
    with transaction.atomic():
        run = _sync_policy(
            rotation, client, dry_run=True, match_roster=match_roster, now=now, lease=None
        )
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
    lease: Lease | None,
) -> SyncRun:
    """``sync_policy``'s run, recorded.

    With ``match_roster`` it first looks up the PagerDuty user of every rostered engineer who
    has none yet, so that one missing shows as a problem before their turn (no calls once
    everyone is matched)."""
    now = now or timezone.now()
    run = SyncRun(
        kind=SyncRun.Kind.POLICY,
        rotation=rotation,
        started_at=now,
        dry_run=dry_run,
        outcome=SyncRun.Outcome.RUNNING,
        worker=worker_name(),
    )
    record = Recorder(client, run)
    if not dry_run:
        run.save()  # before any PagerDuty call: from here on a dead worker leaves this row
        if lease is not None:
            lease.note_run(run)
        interrupted = note_interrupted_runs(rotation, found_by=run)
        if interrupted:
            run.found["interrupted"] = interrupted
    client.before_request = lease.renew if lease is not None else None
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
        current = levels_of(policy)
        # Levels after the second (a manager, a team schedule) are PagerDuty's own: kept.
        desired = desired_levels(primary_id, secondary_id) + current[2:]
        run.found |= {"policy": policy_id, "levels": describe_levels(current)}
        if sorted_levels(current) == sorted_levels(desired):
            run.outcome = SyncRun.Outcome.IN_SYNC
            return record.save()
        body = policy_update(policy, primary_id, secondary_id)
        run.changed = {"levels": describe_levels(desired), "body": body}
        if dry_run:
            run.outcome = SyncRun.Outcome.WOULD_CHANGE
            return record.save()
        # Recorded before it is sent: a worker killed during the PUT leaves the audit entry
        # and the running run saying PagerDuty may have changed.
        with transaction.atomic():
            run.save(update_fields=["found", "changed"])
            AuditEntry.record(
                "pagerduty.policy_update",
                rotation.slug,
                by=None,
                run=run.pk,
                policy=policy_id,
                primary=answer.primary.email,
                secondary=answer.secondary.email,
            )
        client.put_escalation_policy(policy_id, body)
        run.outcome = SyncRun.Outcome.CHANGED
    except (PagerDutyError, SyncBlockedError, LeaseLostError) as error:
        run.outcome, run.error = SyncRun.Outcome.FAILED, str(error)
    finally:
        client.before_request = None
    return record.save()


def note_interrupted_runs(rotation: Rotation, *, found_by: SyncRun) -> list[int]:
    """Mark the rotation's policy runs left running by a worker that died as interrupted, each
    with an audit entry; their ids. Called by a run that holds the rotation's claim (or runs
    alone), so no run still running elsewhere is among them."""
    left = SyncRun.objects.filter(
        kind=SyncRun.Kind.POLICY,
        rotation=rotation,
        outcome=SyncRun.Outcome.RUNNING,
        dry_run=False,
    ).exclude(pk=found_by.pk)
    marked = []
    for run in left:
        began = "after it began writing the policy" if run.changed else "before writing"
        error = (
            f"Interrupted: its worker stopped {began}; run {found_by.pk} found it and synced"
            " the policy again."
        )
        with transaction.atomic():
            still_running = SyncRun.objects.filter(pk=run.pk, outcome=SyncRun.Outcome.RUNNING)
            if still_running.update(outcome=SyncRun.Outcome.INTERRUPTED, error=error):
                AuditEntry.record(
                    "pagerduty.sync_interrupted",
                    rotation.slug,
                    by=None,
                    run=run.pk,
                    found_by=found_by.pk,
                    worker=run.worker,
                    began_writing=bool(run.changed),
                )
                marked.append(run.pk)
    return marked


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
