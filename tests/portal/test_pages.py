"""The dashboard, login, health check and API token page, for each role of the cast."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.views import defaults

from rotation.actions import save_roster
from rotation.models import Engineer, Rotation
from tests.conftest import PASSWORD, login, shadowed

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_login(client: Client, platform: Rotation) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/")


def test_login_form_lets_an_engineer_in(client: Client, platform: Rotation) -> None:
    response = client.post("/login/", {"username": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_with_a_message(client: Client, platform: Rotation) -> None:
    response = client.post("/login/", {"username": "alice@example.com", "password": "nope"})
    assert response.status_code == 200
    assert "correct" in response.content.decode()


def test_dashboard_shows_who_is_on_call_now_and_next(client: Client, platform: Rotation) -> None:
    login(client, "erin")
    page = client.get("/").content.decode()
    assert "Platform" in page
    assert 'class="person primary"' in page and "Alice" in page
    assert "mailto:alice@example.com" in page
    assert "Shadow" in page and "Bob" in page
    assert "Handoff in" in page and "6 days" in page
    assert "Tue 8 Dec 10:00 PST" in page
    assert "Next: <strong>Erin</strong> primary, <strong>Bob</strong> secondary" in page


def test_dashboard_shows_handoff_in_the_viewers_zone_too(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["erin"].pk).update(time_zone="Europe/Berlin")
    login(client, "erin")
    assert "your time Tue 8 Dec 19:00 CET" in client.get("/").content.decode()


def test_dashboard_tells_the_primary_they_are_on_call(client: Client, platform: Rotation) -> None:
    login(client, "alice")
    assert (
        "You are <strong>primary on call</strong> for Platform until"
        in client.get("/").content.decode()
    )


def test_dashboard_tells_a_newcomer_they_are_shadowing(client: Client, platform: Rotation) -> None:
    login(client, "bob")
    assert (
        "You are <strong>shadowing</strong> the Platform primary until Tue 8 Dec"
        in client.get("/").content.decode()
    )


def test_dashboard_shows_the_viewers_next_shift(client: Client, platform: Rotation) -> None:
    login(client, "dave")
    page = client.get("/").content.decode()
    assert "Your next shift: <strong>secondary</strong> for Platform from Tue 15 Dec" in page


def test_my_shift_line_counts_down_and_turns_at_the_shift_start(
    client: Client, platform: Rotation
) -> None:
    login(client, "dave")
    assert "(in 13 days 1 hour)" in client.get("/").content.decode()
    with time_machine.travel(datetime(2026, 12, 15, 17, 30, tzinfo=UTC), tick=False):
        assert "(in 30 minutes)" in client.get("/").content.decode()
    with time_machine.travel(datetime(2026, 12, 15, 18, 0, 1, tzinfo=UTC), tick=False):
        page = client.get("/").content.decode()
    assert "You are <strong>secondary on call</strong> for Platform until Tue 22 Dec" in page


def test_manager_sees_edit_links_and_engineer_does_not(client: Client, platform: Rotation) -> None:
    login(client, "carol")
    assert "Edit roster" in client.get("/").content.decode()
    login(client, "alice")
    assert "Edit roster" not in client.get("/").content.decode()


def test_dashboard_query_count_is_flat(
    client: Client,
    platform: Rotation,
    cast: dict[str, Engineer],
    django_assert_max_num_queries: Any,
) -> None:
    for number in range(6):
        rotation = Rotation.objects.create(
            slug=f"r{number}", name=f"R{number}", starts_on=platform.starts_on
        )
        save_roster(rotation, [cast["carol"], cast["dave"], cast["alice"]], by=None)
    login(client, "alice")
    # The session, 2 change-stamp reads, user, engineer, 5 on-call reads (rotations, then the
    # effective schedule: eras, shadows, people, overrides), 5 for my shift's line (the same,
    # over a year), 3 for the incident panel, 2 for the runbooks due for review (alice is
    # primary), the accepted swaps, 2 for the covers that no longer apply (is she a
    # manager; the covers), her time off, the swaps waiting for her answer, and the heads-ups
    # on now or within the week, and 4 for this week's panel (releases, week setups, holidays,
    # triage ticks)
    with django_assert_max_num_queries(30):
        response = client.get("/")
    assert response.content.decode().count('class="card rotation"') == 7
    with django_assert_max_num_queries(3):  # nothing changed: the session, the stamp twice
        again = client.get("/")
    assert again.content.decode().count('class="card rotation"') == 7


def test_dashboard_is_fresh_the_moment_a_roster_changes(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "alice")
    assert (
        "<strong>Erin</strong> primary, <strong>Bob</strong> secondary"
        in client.get("/").content.decode()
    )
    shadowed(platform, cast["carol"])
    save_roster(
        platform, [cast["dave"], cast["alice"], cast["erin"], cast["carol"], cast["bob"]], by=None
    )
    assert (
        "<strong>Erin</strong> primary, <strong>Carol</strong> secondary"
        in client.get("/").content.decode()
    )


def test_dashboard_moves_on_at_the_handoff_without_any_write(
    client: Client, platform: Rotation, frozen_now: datetime
) -> None:
    login(client, "alice")
    assert 'class="person primary"' in client.get("/").content.decode()
    with time_machine.travel(datetime(2026, 12, 8, 18, tzinfo=UTC), tick=False):
        page = client.get("/").content.decode()
    assert "<strong>Bob</strong> primary, <strong>Dave</strong> secondary" in page


def test_healthz_needs_no_login(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_api_token_page_shows_a_new_token_once(client: Client, platform: Rotation) -> None:
    login(client, "alice")
    assert "You have no token yet" in client.get("/account/api-token/").content.decode()
    page = client.post("/account/api-token/rotate/").content.decode()
    assert "shown only once" in page
    token = page.split('<pre class="token">')[1].split("</pre>")[0]
    assert len(token) >= 40
    assert "shown only once" not in client.get("/account/api-token/").content.decode()
    anonymous = Client()
    assert anonymous.get("/api/v1/oncall", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def token_on(page: str) -> str:
    return page.split('<pre class="token">')[1].split("</pre>")[0]


def test_reloading_the_new_token_page_keeps_the_token_it_showed(
    client: Client, platform: Rotation
) -> None:
    login(client, "alice")
    form = client.get("/account/api-token/").content.decode()
    assert 'name="replacing" value="none"' in form
    shown = token_on(
        client.post("/account/api-token/rotate/", {"replacing": "none"}).content.decode()
    )

    # A reload sends the same form again.
    again = client.post("/account/api-token/rotate/", {"replacing": "none"}, follow=True)

    assert "already used" in again.content.decode()
    assert '<pre class="token">' not in again.content.decode()
    anonymous = Client()
    assert anonymous.get("/api/v1/oncall", HTTP_AUTHORIZATION=f"Bearer {shown}").status_code == 200


def test_the_first_token_speaks_of_no_old_one(client: Client, platform: Rotation) -> None:
    login(client, "alice")
    first = client.post("/account/api-token/rotate/", {"replacing": "none"}).content.decode()
    assert "Your API token was created." in first
    assert "old one" not in first
    form = client.get("/account/api-token/").content.decode()
    version = re.search(r'name="replacing" value="([^"]+)"', form)
    assert version is not None
    second = client.post("/account/api-token/rotate/", {"replacing": version[1]})
    assert "the old one no longer works" in second.content.decode()


def test_api_token_page_needs_login(client: Client) -> None:
    assert client.get("/account/api-token/").status_code == 302
    assert client.post("/account/api-token/rotate/").status_code == 302


def test_pages_send_a_strict_content_security_policy(client: Client, platform: Rotation) -> None:
    login(client, "alice")
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert "object-src 'none'" in policy


def test_every_top_bar_link_opens_its_page(client: Client, platform: Rotation) -> None:
    login(client, "carol")  # staff: the admin link too
    page = client.get("/").content.decode()
    nav = page.split('<nav id="site-nav"', 1)[1].split("</nav>", 1)[0]
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav)
    assert [label for _, label in links] == [
        *("Dashboard", "Incidents", "Heads-up", "Runbooks", "My shifts", "Calendars"),
        *("Admin", "API token"),
    ]
    for href, label in links:
        assert client.get(href).status_code == 200, label
    assert 'action="/logout/"' in nav
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_the_favicon_and_the_app_manifest_need_no_login(client: Client) -> None:
    icon = client.get("/favicon.ico", follow=True)
    assert icon.status_code == 200
    assert icon.redirect_chain[0][0] == "/static/icons/favicon.ico"
    manifest = client.get("/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    assert manifest.json()["start_url"] == "/"
    for icon_entry in manifest.json()["icons"]:
        assert client.get(icon_entry["src"]).status_code == 200, icon_entry["src"]


def test_every_page_links_the_icon_and_the_manifest(client: Client, platform: Rotation) -> None:
    page = client.get("/login/").content.decode()
    assert 'rel="icon" href="/static/icons/favicon.svg"' in page
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page


def test_a_missing_page_keeps_the_top_bar_and_offers_ways_on(
    client: Client, platform: Rotation
) -> None:
    response = login(client, "alice").get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert '<nav id="site-nav"' in page
    assert "Page not found" in page and 'href="/runbooks/"' in page


def test_a_missing_page_offers_an_anonymous_visitor_the_front_page(client: Client) -> None:
    # Not a login link: a calendar client asking for a retired feed reads this page too.
    page = client.get("/no-such-page/").content.decode()
    assert "front page</a>" in page and "login" not in page.lower()


def test_refusals_and_failures_have_a_way_back(rf: RequestFactory, platform: Rotation) -> None:
    request = rf.get("/somewhere/")
    request.user = User.objects.get(username="alice@example.com")
    refused = defaults.permission_denied(request, PermissionDenied()).content.decode()
    assert "Not allowed" in refused and '<nav id="site-nav"' in refused
    failed = defaults.server_error(request).content.decode()
    assert "Something went wrong" in failed and 'href="/"' in failed
    assert "css/portal.css" in failed
