"""PagerDuty's escalation policy follows the roster: level 1 the primary, level 2 the
secondary, 5 minutes apart; every run is recorded, and a failure changes nothing here."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import httpx
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from pagerduty import sync as pagerduty_sync
from pagerduty.client import PagerDuty
from pagerduty.fake import FakePagerDuty
from pagerduty.jobs import sync_pagerduty_policies
from pagerduty.models import SyncClaim, SyncRun
from pagerduty.sync import LEASE
from portal.models import AuditEntry
from rotation.actions import create_override
from rotation.models import Engineer, Override, Rotation, Shift
from tests.conftest import NOW, fake_client, login
from tests.pagerduty.conftest import POLICY

pytestmark = pytest.mark.django_db

IDS = {"alice": "PALICE1", "dave": "PDAVE01", "erin": "PERIN01", "bob": "PBOB001"}


@pytest.fixture
def fake(cast: dict[str, Engineer]) -> FakePagerDuty:
    fake = FakePagerDuty(token="test-token")
    for name, user_id in IDS.items():
        fake.add_user(name.title(), f"{name.upper()}@Example.com", user_id)
    fake.add_escalation_policy(
        POLICY,
        "Platform On-Call",
        [[IDS["dave"]], [IDS["alice"]]],
        delay_minutes=30,
        description="Pages the platform team",
        num_loops=2,
        on_call_handoff_notifications="always",
    )
    return fake


def calls(fake: FakePagerDuty) -> list[str]:
    return [f"{r.method} {r.url.path}" for r in fake.requests]


def level_ids(fake: FakePagerDuty) -> list[tuple[int, list[str]]]:
    rules = fake.escalation_policies[POLICY]["escalation_rules"]
    return [
        (rule["escalation_delay_in_minutes"], [t["id"] for t in rule["targets"]]) for rule in rules
    ]


def test_drift_is_one_get_and_one_put_making_primary_then_secondary(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty
) -> None:
    run = pagerduty_sync.sync_policy(linked, pagerduty, now=NOW)
    assert run.outcome == SyncRun.Outcome.CHANGED
    # Alice and Erin were matched by email first (their ids are remembered from now on).
    assert calls(fake)[-2:] == [
        f"GET /escalation_policies/{POLICY}",
        f"PUT /escalation_policies/{POLICY}",
    ]
    assert level_ids(fake) == [(5, [IDS["alice"]]), (5, [IDS["erin"]])]
    body = json.loads(fake.requests[-1].content)["escalation_policy"]
    assert {
        k: body[k] for k in ("name", "description", "num_loops", "on_call_handoff_notifications")
    } == {
        "name": "Platform On-Call",
        "description": "Pages the platform team",
        "num_loops": 2,
        "on_call_handoff_notifications": "always",
    }
    assert run.api_calls == len(fake.requests)
    assert len(run.request_ids) == run.api_calls
    assert run.found["levels"] == [
        {"delay": 30, "targets": [f"user:{IDS['dave']}"]},
        {"delay": 30, "targets": [f"user:{IDS['alice']}"]},
    ]


def test_levels_after_the_second_are_pagerdutys_own_and_are_kept(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty
) -> None:
    fake.add_user("Head of Ops", "ops@example.com", "POPSHEAD")
    rules = fake.escalation_policies[POLICY]["escalation_rules"]
    rules.append(
        {**rules[0], "id": "R3", "targets": [{"id": "POPSHEAD", "type": "user_reference"}]}
    )
    run = pagerduty_sync.sync_policy(linked, pagerduty, now=NOW)
    assert run.outcome == SyncRun.Outcome.CHANGED
    assert level_ids(fake) == [(5, [IDS["alice"]]), (5, [IDS["erin"]]), (30, ["POPSHEAD"])]
    again = pagerduty_sync.sync_policy(linked, pagerduty, now=NOW + timedelta(minutes=5))
    assert again.outcome == SyncRun.Outcome.IN_SYNC


def test_in_sync_is_one_call_and_no_write(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty
) -> None:
    pagerduty_sync.sync_policy(linked, pagerduty, now=NOW)
    fake.requests.clear()
    run = pagerduty_sync.sync_policy(linked, pagerduty, now=NOW + timedelta(minutes=5))
    assert run.outcome == SyncRun.Outcome.IN_SYNC
    assert calls(fake) == [f"GET /escalation_policies/{POLICY}"]
    assert run.api_calls == 1


def test_user_and_user_reference_targets_are_the_same_and_rule_ids_do_not_matter() -> None:
    policy = {
        "escalation_rules": [
            {
                "id": "R1",
                "escalation_delay_in_minutes": 5,
                "targets": [{"id": "PA", "type": "user"}],
            },
            {
                "id": "R9",
                "escalation_delay_in_minutes": 5,
                "targets": [{"id": "PB", "type": "user_reference"}],
            },
        ]
    }
    assert pagerduty_sync.levels_of(policy) == pagerduty_sync.desired_levels("PA", "PB")
    assert pagerduty_sync.levels_of(policy) != pagerduty_sync.desired_levels("PB", "PA")


def test_an_override_is_what_pagerduty_pages(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty, cast: dict[str, Engineer]
) -> None:
    create_override(
        linked,
        role="primary",
        engineer=cast["dave"],
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(hours=5),
        by=None,
    )
    pagerduty_sync.sync_policy(linked, pagerduty, now=NOW)
    assert level_ids(fake) == [(5, [IDS["dave"]]), (5, [IDS["erin"]])]


def test_users_are_matched_by_exact_email_once_and_remembered(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty, cast: dict[str, Engineer]
) -> None:
    fake.add_user("Alice Impostor", "alice@example.com.evil", "PEVIL01")
    pagerduty_sync.sync_policy(linked, pagerduty, now=NOW)
    assert Engineer.objects.get(pk=cast["alice"].pk).pagerduty_user_id == IDS["alice"]
    fake.requests.clear()
    pagerduty_sync.sync_policy(linked, pagerduty, now=NOW + timedelta(minutes=6))
    assert not [c for c in calls(fake) if c.startswith("GET /users")]


def test_someone_with_no_pagerduty_user_stops_the_sync_and_shows_on_the_dashboard(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty
) -> None:
    del fake.users[IDS["erin"]]
    run = pagerduty_sync.sync_policy(linked, pagerduty, now=NOW)
    assert run.outcome == SyncRun.Outcome.FAILED
    assert run.error == (
        "no PagerDuty user for Erin (erin@example.com): set the engineer's PagerDuty user id in the admin"
    )
    assert not [c for c in calls(fake) if c.startswith("PUT")]
    page = login(Client(), "carol").get("/").content.decode()
    assert "No PagerDuty user for <strong>Erin</strong> (erin@example.com)" in page


def test_a_dry_run_says_what_would_change_and_writes_nothing(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty
) -> None:
    before = portal_data(), AuditEntry.objects.count()
    run = pagerduty_sync.sync_policy(linked, pagerduty, dry_run=True, match_roster=True, now=NOW)
    assert run.outcome == SyncRun.Outcome.WOULD_CHANGE
    assert run.changed["levels"] == [
        {"delay": 5, "targets": [f"user:{IDS['alice']}"]},
        {"delay": 5, "targets": [f"user:{IDS['erin']}"]},
    ]
    assert level_ids(fake) == [(30, [IDS["dave"]]), (30, [IDS["alice"]])]
    # Nothing written in the portal either: no run, no matched user ids, no audit entries.
    assert (portal_data(), AuditEntry.objects.count()) == before
    assert not SyncRun.objects.exists()


def portal_data() -> list[Any]:
    return [
        list(Shift.objects.values_list("role", "engineer_id", "starts_at")),
        list(Override.objects.values_list("id")),
        list(Engineer.objects.values_list("email", "pagerduty_user_id")),
    ]


@pytest.mark.parametrize(
    ("status", "headers", "as_object"),
    [
        (500, None, False),
        (408, None, False),
        (429, {"ratelimit-reset": "1"}, False),
        (429, None, False),
        (403, None, True),
    ],
)
def test_every_fault_is_recorded_as_failed_and_changes_nothing(
    linked: Rotation,
    fake: FakePagerDuty,
    pagerduty: PagerDuty,
    status: int,
    headers: dict[str, str] | None,
    as_object: bool,
) -> None:
    pagerduty_sync.sync_policy(linked, pagerduty, dry_run=True, now=NOW)  # users matched
    before = portal_data()
    fake.fail_next(status, headers=headers, errors_as_object=as_object, times=50)
    run = pagerduty_sync.sync_policy(linked, pagerduty, now=NOW)
    assert run.outcome == SyncRun.Outcome.FAILED
    assert str(status) in run.error
    assert portal_data() == before
    assert level_ids(fake) == [(30, [IDS["dave"]]), (30, [IDS["alice"]])]


def test_a_passing_rate_limit_is_waited_out(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty
) -> None:
    fake.fail_next(429, headers={"ratelimit-reset": "2"})
    run = pagerduty_sync.sync_policy(linked, pagerduty, now=NOW)
    assert run.outcome == SyncRun.Outcome.CHANGED


def test_an_invalid_token_stops_at_once(linked: Rotation, fake: FakePagerDuty) -> None:
    with fake_client(fake, token="wrong") as wrong:
        run = pagerduty_sync.sync_policy(linked, wrong, now=NOW)
    assert run.outcome == SyncRun.Outcome.FAILED
    assert run.api_calls == 1
    assert "401" in run.error


def test_a_claim_is_held_by_one_run_until_it_lapses_then_taken_over() -> None:
    first = pagerduty_sync.take_lease("job", holder="worker-a", now=NOW)
    assert first is not None
    busy = pagerduty_sync.take_lease("job", holder="worker-b", now=NOW + timedelta(seconds=29))
    assert busy is None
    later = pagerduty_sync.take_lease("job", holder="worker-b", now=NOW + LEASE)
    assert later is not None
    # The first holder learns it lost the claim at its next renewal, before any request.
    with pytest.raises(pagerduty_sync.LeaseLostError):
        first.renew()
    later.renew()


def test_a_released_claim_is_free_at_once() -> None:
    lease = pagerduty_sync.take_lease("job", holder="worker-a", now=NOW)
    assert lease is not None
    lease.release()
    assert pagerduty_sync.take_lease("job", holder="worker-b", now=NOW) is not None


def test_the_job_runs_at_a_handoff_and_every_five_minutes_besides(
    linked: Rotation, fake: FakePagerDuty, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PAGERDUTY_API_TOKEN = "test-token"
    monkeypatch.setattr(
        "pagerduty.jobs.client_from_settings",
        lambda: fake_client(fake),
    )
    assert sync_pagerduty_policies() == "Platform: Changed"
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert sync_pagerduty_policies() == "none due"
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        assert sync_pagerduty_policies() == "Platform: In sync"
    handoff = datetime(2026, 12, 8, 18, 0, 30, tzinfo=NOW.tzinfo)  # half a minute after
    with time_machine.travel(handoff, tick=False):
        assert sync_pagerduty_policies() == "Platform: Changed"
    assert level_ids(fake) == [(5, [IDS["erin"]]), (5, [IDS["bob"]])]


def test_the_command_dry_run_prints_the_levels(
    linked: Rotation, fake: FakePagerDuty, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PAGERDUTY_API_TOKEN = "test-token"
    monkeypatch.setattr(
        "pagerduty.management.commands.sync_pagerduty.client_from_settings",
        lambda: fake_client(fake),
    )
    out = StringIO()
    call_command("sync_pagerduty", "--dry-run", stdout=out)
    assert "platform: Would change (dry run)" in out.getvalue()
    assert f"user:{IDS['alice']}" in out.getvalue()
    fake.fail_next(500, times=50)
    with pytest.raises(CommandError, match="failed to sync"):
        call_command("sync_pagerduty", stdout=StringIO())


def test_the_sync_page_lists_runs_with_their_details(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty
) -> None:
    pagerduty_sync.sync_policy(linked, pagerduty, now=NOW)
    fake.fail_next(500, times=50)
    pagerduty_sync.sync_policy(linked, pagerduty, now=NOW + timedelta(minutes=5))
    assert Client().get("/sync/").status_code == 302
    page = login(Client(), "erin").get("/sync/").content.decode()
    assert "Changed" in page and "Failed" in page
    assert "Failing since" in page
    dashboard = login(Client(), "erin").get("/").content.decode()
    assert "Escalation policy last in sync" in dashboard


def test_the_panel_says_since_when_the_sync_has_been_failing(
    linked: Rotation, fake: FakePagerDuty, pagerduty: PagerDuty
) -> None:
    pagerduty_sync.sync_policy(linked, pagerduty, now=NOW - timedelta(hours=3))
    fake.fail_next(500, times=100)
    for hours in (2, 1):
        pagerduty_sync.sync_policy(linked, pagerduty, now=NOW - timedelta(hours=hours))
    page = " ".join(login(Client(), "erin").get("/").content.decode().split())
    assert "last in sync 3 hours ago" in page
    assert "Failing since 2 hours ago:</strong> PagerDuty GET" in page


# -- faults: a worker killed mid-sync, a claim left behind, two workers at once ------------------


class WorkerKilled(BaseException):
    """A kill seen from inside the worker: no ``except Exception`` runs, nothing is recorded."""


def client_killed_at(
    fake: FakePagerDuty, method: str, *, after_answer: bool, seen: list[Any] | None = None
) -> PagerDuty:
    """A client whose worker dies at its first ``method`` on the escalation policy: before
    PagerDuty answers, or after PagerDuty applied it. ``seen`` gets what other database
    connections could read at that moment."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method != method or "/escalation_policies/" not in request.url.path:
            return fake.handler(request)
        if seen is not None:
            seen.append(committed_records())
        if not after_answer:
            raise WorkerKilled
        fake.handler(request)
        raise WorkerKilled

    return PagerDuty(
        "test-token",
        transport=httpx.MockTransport(handler),
        sleep=lambda _: None,
        resolve=fake.resolve,
    )


def committed_records() -> dict[str, Any]:
    """The policy runs and PagerDuty audit entries as another connection sees them."""
    found: dict[str, Any] = {}

    def read() -> None:
        try:
            found["runs"] = list(SyncRun.objects.values_list("outcome", "changed"))
            found["audit"] = list(
                AuditEntry.objects.filter(action__startswith="pagerduty.policy").values_list(
                    "action", "details"
                )
            )
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    return found


def run_job(monkeypatch: pytest.MonkeyPatch, client: PagerDuty, **options: Any) -> str:
    monkeypatch.setattr("pagerduty.jobs.client_from_settings", lambda: client)
    return sync_pagerduty_policies(**options)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_writing_pagerduty_leaves_a_record_the_next_run_reports(
    linked: Rotation, fake: FakePagerDuty, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PAGERDUTY_API_TOKEN = "test-token"
    seen: list[Any] = []
    with pytest.raises(WorkerKilled):
        run_job(monkeypatch, client_killed_at(fake, "PUT", after_answer=True, seen=seen))
    # PagerDuty changed, and before it did the run and its audit entry were committed.
    assert level_ids(fake) == [(5, [IDS["alice"]]), (5, [IDS["erin"]])]
    ((outcome, changed),) = seen[0]["runs"]
    assert outcome == SyncRun.Outcome.RUNNING and changed["levels"][0]["targets"] == [
        f"user:{IDS['alice']}"
    ]
    killed = SyncRun.objects.get()
    assert seen[0]["audit"] == [
        (
            "pagerduty.policy_update",
            {
                "run": killed.pk,
                "policy": POLICY,
                "primary": "alice@example.com",
                "secondary": "erin@example.com",
            },
        )
    ]
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        summary = run_job(monkeypatch, fake_client(fake))
    assert summary == f"Platform: In sync (after interrupted run {killed.pk})"
    killed.refresh_from_db()
    assert killed.outcome == SyncRun.Outcome.INTERRUPTED
    assert killed.error.startswith("Interrupted: its worker stopped after it began writing")
    assert AuditEntry.objects.filter(
        action="pagerduty.sync_interrupted", details__run=killed.pk
    ).exists()
    assert level_ids(fake) == [(5, [IDS["alice"]]), (5, [IDS["erin"]])]
    page = login(Client(), "erin").get("/sync/").content.decode()
    finder = SyncRun.objects.exclude(pk=killed.pk).get()
    assert "Interrupted" in page and f"run {finder.pk} found it" in page


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_reading_is_reported_and_the_next_run_writes_the_policy(
    linked: Rotation, fake: FakePagerDuty, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PAGERDUTY_API_TOKEN = "test-token"
    with pytest.raises(WorkerKilled):
        run_job(monkeypatch, client_killed_at(fake, "GET", after_answer=False))
    killed = SyncRun.objects.get()
    assert killed.outcome == SyncRun.Outcome.RUNNING
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        summary = run_job(monkeypatch, fake_client(fake))
    assert summary == f"Platform: Changed (after interrupted run {killed.pk})"
    killed.refresh_from_db()
    assert killed.error.startswith("Interrupted: its worker stopped before writing")
    assert level_ids(fake) == [(5, [IDS["alice"]]), (5, [IDS["erin"]])]


def abandoned_claim(rotation: Rotation, holder: str) -> SyncRun:
    """What a worker killed outright (SIGKILL) leaves: its claim held and its run running."""
    lease = pagerduty_sync.take_lease(f"pagerduty-policy:{rotation.pk}", holder=holder, now=NOW)
    assert lease is not None
    run = SyncRun.objects.create(
        kind=SyncRun.Kind.POLICY,
        rotation=rotation,
        started_at=NOW,
        outcome=SyncRun.Outcome.RUNNING,
        worker=holder,
    )
    lease.note_run(run)
    return run


def test_a_dead_workers_claim_is_taken_over_when_its_lease_lapses(
    linked: Rotation, fake: FakePagerDuty, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PAGERDUTY_API_TOKEN = "test-token"
    killed = abandoned_claim(linked, "worker-a pid 41")
    with time_machine.travel(NOW + timedelta(seconds=10), tick=False) as clock:
        waited: list[float] = []

        def sleep(seconds: float) -> None:
            waited.append(seconds)
            clock.shift(seconds)

        summary = run_job(monkeypatch, fake_client(fake), sleep=sleep)
        # The run that started 10 s after the claim was taken waited out the rest of the
        # 30-second lease, and no more, before it took over.
        assert sum(waited) == (LEASE - timedelta(seconds=10)).total_seconds()
    assert summary == f"Platform: Changed (after interrupted run {killed.pk})"
    assert level_ids(fake) == [(5, [IDS["alice"]]), (5, [IDS["erin"]])]
    claim = SyncClaim.objects.get(name=f"pagerduty-policy:{linked.pk}")
    assert claim.claimed_at == NOW + LEASE
    assert claim.held_until <= NOW + LEASE  # released when the run finished


def test_a_run_that_finds_the_claim_held_by_a_live_run_says_who_holds_it(
    linked: Rotation, fake: FakePagerDuty, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PAGERDUTY_API_TOKEN = "test-token"
    running = abandoned_claim(linked, "worker-a pid 41")
    claim = SyncClaim.objects.get(name=f"pagerduty-policy:{linked.pk}")
    alive = pagerduty_sync.Lease(claim.name, claim.token)
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False) as clock:

        def sleep(seconds: float) -> None:
            clock.shift(seconds)
            alive.renew()  # the other run is alive: it renews between its requests

        summary = run_job(monkeypatch, fake_client(fake), sleep=sleep)
    assert summary == (
        f"Platform: skipped: run {running.pk} by worker-a pid 41 in progress"
        " since 2026-12-02 17:00:00 UTC"
    )
    assert fake.requests == []
    assert SyncRun.objects.get().outcome == SyncRun.Outcome.RUNNING


@pytest.mark.django_db(transaction=True)
def test_two_workers_syncing_at_once_write_pagerduty_once(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    start = threading.Barrier(2)
    results: list[Any] = []

    def worker() -> None:
        try:
            with fake_client(fake) as client:
                start.wait()
                results.append(
                    pagerduty_sync.sync_policy_claimed(
                        linked, client, only_if_due=True, sleep=lambda _: time.sleep(0.05)
                    )
                )
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert [r.outcome for r in results if isinstance(r, SyncRun)] == [SyncRun.Outcome.CHANGED]
    assert calls(fake).count(f"PUT /escalation_policies/{POLICY}") == 1
    assert level_ids(fake) == [(5, [IDS["alice"]]), (5, [IDS["erin"]])]


def test_sync_runs_read_in_the_viewers_zone(
    linked: Rotation, pagerduty: PagerDuty, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["erin"].pk).update(time_zone="Europe/Berlin")
    pagerduty_sync.sync_policy(linked, pagerduty, now=NOW)  # 17:00 UTC
    page = login(Client(), "erin").get("/sync/").content.decode()
    assert "Wed 2 Dec 18:00:00 CET" in page
