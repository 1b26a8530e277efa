"""The dashboard's "This week" panel: each rotation's release steps done and today's triage,
fresh the moment either is ticked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.test import Client

from handoff.models import Holiday
from rotation.models import Engineer, Rotation
from tests.conftest import login

WEEK_1 = (datetime(2026, 12, 1, 18, 0, tzinfo=UTC), datetime(2026, 12, 8, 18, 0, tzinfo=UTC))


def panel(client: Client) -> str:
    page = client.get("/").content.decode()
    return page.split('<section class="card week-panel"', 1)[1].split("</section>", 1)[0]


def test_the_panel_shows_release_steps_and_todays_triage_due_in_my_zone(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["erin"].pk).update(time_zone="Europe/Berlin")
    login(client, "erin")
    shown = panel(client)
    assert "release 0 of 5 steps done" in shown and 'href="/rotations/platform/release/"' in shown
    assert "due at" in shown and "20:00 CET" in shown  # 11:00 in Los Angeles
    assert 'href="/rotations/platform/triage/#triage-2026-12-02"' in shown


def test_the_panel_is_fresh_the_moment_a_step_or_the_day_is_ticked(
    client: Client, platform: Rotation
) -> None:
    login(client, "erin")
    assert "0 of 5" in panel(client)
    client.post("/rotations/platform/release/", {"position": "1", "done": "on"})
    client.post("/rotations/platform/triage/", {"day": "2026-12-02", "note": "Quiet."})
    shown = panel(client)
    assert "release 1 of 5 steps done" in shown and "triage today done by Erin" in shown


def test_past_the_due_hour_the_day_is_overdue_and_on_a_holiday_it_is_off(
    client: Client, platform: Rotation
) -> None:
    login(client, "erin")
    with time_machine.travel(datetime(2026, 12, 2, 19, 30, tzinfo=UTC), tick=False):
        assert "overdue" in panel(client)
    Holiday.objects.create(rotation=platform, day=WEEK_1[0].date() + timedelta(days=2), name="Off")
    with time_machine.travel(datetime(2026, 12, 3, 19, 30, tzinfo=UTC), tick=False):
        assert "not a business day" in panel(client)
