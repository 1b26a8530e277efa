"""The heads-up board: anyone signed in posts a planned change, test or downtime; a change needs
a way back and everything ends after it starts; the board lists what is on and coming, soonest
first, then the last 30 days; the dashboard shows the coming week; a customer-facing one offers
a drafted customer notice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents.heads_up import post_heads_up
from incidents.models import HeadsUp
from portal.models import AuditEntry
from rotation.models import Engineer, Rotation
from tests.conftest import NOW, login

pytestmark = pytest.mark.django_db


def form(**changes: Any) -> dict[str, Any]:
    fields = {
        "title": "Postgres 17 upgrade",
        "kind": "change",
        "starts_at": "2026-12-03T10:00",
        "ends_at": "2026-12-03T11:00",
        "services": "checkout, payments",
        "owner": "",
        "rollback": "Fail back to the old primary (runbook: database failover).",
    }
    return fields | changes


def posted(title: str, starts: timedelta, hours: float = 1, **fields: Any) -> HeadsUp:
    """A heads-up starting ``starts`` from NOW, posted by nobody in particular."""
    starts_at = NOW + starts
    values = {"kind": "test", "rollback": "", "services": "", "customer_facing": False}
    values |= fields
    return HeadsUp.objects.create(
        title=title, starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), **values
    )


def test_a_change_needs_a_way_to_roll_it_back(client: Client, cast: dict[str, Engineer]) -> None:
    login(client, "alice")
    response = client.post("/heads-up/new/", form(rollback="  "))
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "rollback": ["A change needs a way to roll it back."]
    }
    page = response.content.decode()
    assert 'value="Postgres 17 upgrade"' in page  # nothing typed is lost
    assert not HeadsUp.objects.exists()


def test_a_test_or_downtime_needs_no_rollback(client: Client, cast: dict[str, Engineer]) -> None:
    login(client, "alice")
    response = client.post("/heads-up/new/", form(kind="test", rollback=""))
    assert response.status_code == 302
    assert HeadsUp.objects.get().kind == "test"


def test_it_must_end_after_it_starts(client: Client, cast: dict[str, Engineer]) -> None:
    login(client, "alice")
    for ends in ("2026-12-03T09:00", "2026-12-03T10:00"):
        response = client.post("/heads-up/new/", form(ends_at=ends))
        assert response.context["form"].errors == {"ends_at": ["It must end after it starts."]}
    assert not HeadsUp.objects.exists()


def test_the_action_refuses_what_the_form_would(cast: dict[str, Engineer]) -> None:
    alice = cast["alice"].user
    assert alice is not None
    with pytest.raises(ValidationError):
        post_heads_up(
            {
                "title": "No way back",
                "kind": "change",
                "starts_at": NOW,
                "ends_at": NOW + timedelta(hours=1),
                "rollback": "",
            },
            by=alice,
        )
    assert not HeadsUp.objects.exists()


def test_times_are_read_in_the_posters_zone(client: Client, cast: dict[str, Engineer]) -> None:
    cast["alice"].time_zone = "America/Los_Angeles"
    cast["alice"].save()
    login(client, "alice")
    form_page = client.get("/heads-up/new/").content.decode()
    assert "In America/Los_Angeles." in form_page
    client.post("/heads-up/new/", form(starts_at="2026-12-03T10:00", ends_at="2026-12-03T11:30"))
    heads_up = HeadsUp.objects.get()
    assert heads_up.starts_at == datetime.fromisoformat("2026-12-03T18:00:00+00:00")
    assert heads_up.ends_at == datetime.fromisoformat("2026-12-03T19:30:00+00:00")
    board = client.get("/heads-up/").content.decode()
    assert "Thu 3 Dec 10:00" in board and "Thu 3 Dec 11:30 PST" in board


def test_anyone_signed_in_posts_and_it_is_audited(
    client: Client, cast: dict[str, Engineer]
) -> None:
    login(client, "mallory")  # no engineer profile, no rights beyond signing in
    response = client.post("/heads-up/new/", form(customer_facing="on"))
    heads_up = HeadsUp.objects.get()
    assert response["Location"] == f"/heads-up/#heads-up-{heads_up.pk}"
    assert heads_up.posted_by == User.objects.get(username="mallory")
    assert heads_up.customer_facing
    entry = AuditEntry.objects.get(action="heads_up.posted")
    assert entry.subject == str(heads_up.pk)
    assert entry.details["customer_facing"] is True


def test_the_board_and_the_form_need_a_login(client: Client, cast: dict[str, Engineer]) -> None:
    for url in ("/heads-up/", "/heads-up/new/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.post("/heads-up/new/", form()).status_code == 302
    assert not HeadsUp.objects.exists()


def test_the_board_lists_now_and_coming_soonest_first_then_the_past_latest_first(
    client: Client, cast: dict[str, Engineer], django_assert_max_num_queries: Any
) -> None:
    posted("In ten days", timedelta(days=10))
    posted("On now", timedelta(hours=-1), hours=3)
    posted("Tomorrow", timedelta(days=1))
    posted("Ended last week", timedelta(days=-7))
    posted("Ended yesterday", timedelta(days=-1))
    posted("Ended in October", timedelta(days=-40))
    login(client, "alice")
    # The session, the user, the viewer's zone, the heads-ups with their owners and posters:
    # as many with six as with one.
    with django_assert_max_num_queries(4):
        page = client.get("/heads-up/").content.decode()
    order = ["On now", "Tomorrow", "In ten days", "Past 30 days", "Ended yesterday"]
    order.append("Ended last week")
    positions = [page.index(text) for text in order]
    assert positions == sorted(positions)
    assert "Ended in October" not in page


def test_a_customer_facing_heads_up_offers_a_drafted_notice(
    client: Client, cast: dict[str, Engineer]
) -> None:
    posted("Payments provider switch", timedelta(days=1), services="payments", customer_facing=True)
    posted("Load test", timedelta(days=2))
    login(client, "alice")
    page = client.get("/heads-up/").content.decode()
    assert page.count("<textarea") == 1
    notice = page.split("<textarea", 1)[1].split("</textarea>", 1)[0]
    assert "Test: Payments provider switch" in notice
    # The portal's zone (UTC) for a reader without one; the same words as a customer update.
    assert "From Thu 3 Dec 17:00 to Thu 3 Dec 18:00 UTC, payments may be" in notice
    assert "We are sorry for the trouble." in notice


def test_the_dashboard_shows_what_is_on_now_or_within_the_week(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    posted("On now", timedelta(hours=-1), hours=3)
    posted("In six days", timedelta(days=6))
    posted("In eight days", timedelta(days=8))
    posted("Ended an hour ago", timedelta(hours=-2))
    login(client, "alice")
    page = client.get("/").content.decode()
    panel = page.split('class="card heads-up-panel"', 1)[1].split("</section>", 1)[0]
    assert "On now" in panel and "In six days" in panel
    assert "In eight days" not in panel and "Ended an hour ago" not in panel


def test_no_panel_when_nothing_is_coming(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    posted("In eight days", timedelta(days=8))
    login(client, "alice")
    assert "heads-up-panel" not in client.get("/").content.decode()


def reads_of_heads_ups(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return sum("incidents_headsup" in q["sql"] for q in queries.captured_queries)


def test_the_dashboard_panel_costs_one_query_cold_and_none_warm(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    posted("On now", timedelta(hours=-1), hours=3)
    login(client, "alice")
    assert reads_of_heads_ups(client) == 1
    assert reads_of_heads_ups(client) == 0
    # A new heads-up renews the incidents stamp: the next dashboard shows it.
    alice = cast["alice"].user
    assert alice is not None
    fields = {"title": "DNS move", "kind": "downtime", "rollback": ""}
    post_heads_up(fields | {"starts_at": NOW, "ends_at": NOW + timedelta(hours=2)}, by=alice)
    assert reads_of_heads_ups(client) == 1
    assert "DNS move" in client.get("/").content.decode()
