"""PagerDuty's escalation policy follows the roster: level 1 the primary, level 2 the
secondary, 5 minutes apart; every run is recorded, and a failure changes nothing here."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client

from pagerduty import sync as pagerduty_sync
from pagerduty.client import PagerDuty
from pagerduty.fake import FakePagerDuty
from pagerduty.jobs import sync_pagerduty_policies
from pagerduty.models import SyncRun
from portal.models import AuditEntry
from rotation.actions import create_override
from rotation.models import Engineer, Override, Rotation, Shift
from tests.conftest import NOW, fake_client, login

pytestmark = pytest.mark.django_db

POLICY = "PEPLAT1"
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


@pytest.fixture
def linked(platform: Rotation) -> Rotation:
    platform.pagerduty_escalation_policy_id = POLICY
    platform.save()
    return platform


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


def test_two_workers_at_once_do_not_both_run() -> None:
    with (
        pagerduty_sync.claimed("job", NOW) as first,
        pagerduty_sync.claimed("job", NOW) as second,
    ):
        assert (first, second) == (True, False)
    with pagerduty_sync.claimed("job", NOW + timedelta(seconds=1)) as later:
        assert later


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


def test_sync_runs_read_in_the_viewers_zone(
    linked: Rotation, pagerduty: PagerDuty, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["erin"].pk).update(time_zone="Europe/Berlin")
    pagerduty_sync.sync_policy(linked, pagerduty, now=NOW)  # 17:00 UTC
    page = login(Client(), "erin").get("/sync/").content.decode()
    assert "Wed 2 Dec 18:00:00 CET" in page
