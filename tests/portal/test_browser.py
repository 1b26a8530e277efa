"""End to end in Chromium: a manager logs in, reads the dashboard and reorders the roster.

The data is built with the real clock (time freezing would stop the live server's clock too):
the rotation started on the handoff three weeks ago, so this is week 3 of the order
Alice, Bob, Dave, Erin: Erin is primary, Alice secondary, and Alice then Bob take over next.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from portal.actions import ensure_managers_group
from rotation.actions import save_roster
from rotation.models import Engineer, Rotation
from tests.conftest import PASSWORD, make_engineer

SCREENSHOTS = Path(settings.BASE_DIR) / "screenshots"  # git-ignored
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)


def screenshot(page: Page, name: str) -> None:
    """A full-page PNG for people to look at, only when SCREENSHOTS is set (CI doesn't)."""
    if os.environ.get("SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def log_in(page: Page, live_server: LiveServer, email: str) -> None:
    """Log in through the form, as a person would; lands on the dashboard."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email or username").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")


def team_three_weeks_in() -> tuple[Rotation, dict[str, Engineer]]:
    """Alice, Bob, Dave and Erin, three weeks into their rotation (built with the real clock):
    this week Erin is primary and Alice secondary."""
    people = {name: make_engineer(name) for name in ["alice", "bob", "dave", "erin"]}
    rotation = Rotation(slug="platform", name="Platform")
    this_week = rotation.calendar.handoff_day_at_or_before(timezone.now())
    rotation.starts_on = this_week - timedelta(weeks=3)
    rotation.save()
    save_roster(rotation, [people[n] for n in ["alice", "bob", "dave", "erin"]], by=None)
    return rotation, people


def roster_rows(page: Page) -> list[tuple[str, str]]:
    """(position, engineer name) of each saved row of the admin's roster order inline."""
    rows = page.locator("#memberships-group tr.has_original")
    return [
        (
            row.locator("td.field-position input").input_value(),
            row.locator("td.field-engineer select option:checked").inner_text(),
        )
        for row in rows.all()
    ]


def set_position(page: Page, name: str, position: int) -> None:
    row = page.locator("#memberships-group tr.has_original").filter(
        has=page.locator("td.field-engineer select option:checked", has_text=name)
    )
    row.locator("td.field-position input").fill(str(position))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_manager_reorders_the_roster_and_the_dashboard_follows(
    live_server: LiveServer, page: Page
) -> None:
    people = {name: make_engineer(name) for name in ["alice", "bob", "dave", "erin"]}
    carol = make_engineer("carol", staff=True)
    assert carol.user is not None
    carol.user.groups.add(ensure_managers_group())
    rotation = Rotation(slug="platform", name="Platform")
    this_week = rotation.calendar.handoff_day_at_or_before(timezone.now())
    rotation.starts_on = this_week - timedelta(weeks=3)
    rotation.save()
    order = [people[name] for name in ["alice", "bob", "dave", "erin"]]
    save_roster(rotation, order, by=None)

    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    page.get_by_label("Email or username").fill("carol@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_server.url}/")
    card = page.locator("section.rotation", has=page.get_by_role("heading", name="Platform"))
    expect(card.locator(".person.primary .name")).to_have_text("Erin")
    expect(card.locator(".person.secondary .name")).to_have_text("Alice")
    expect(card.locator(".handoff")).to_contain_text("Handoff in")
    expect(card.locator(".next")).to_have_text("Next: Alice primary, Bob secondary")
    screenshot(page, "dashboard-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "dashboard-phone")
    page.set_viewport_size(DESKTOP)

    # The card leads to the portal's roster page; the admin's edits the same roster.
    card.get_by_role("link", name="Edit roster").click()
    expect(page).to_have_url(f"{live_server.url}/rotations/platform/roster/")
    page.goto(f"{live_server.url}/admin/rotation/rotation/{rotation.pk}/change/")
    expect(page.locator("#memberships-group")).to_contain_text("Roster order")
    assert roster_rows(page) == [("1", "Alice"), ("2", "Bob"), ("3", "Dave"), ("4", "Erin")]
    screenshot(page, "admin-roster")

    # Dave before Bob. Alice still takes over as primary (the chain rule), now with Dave.
    set_position(page, "Bob", 3)
    set_position(page, "Dave", 2)
    page.get_by_role("button", name="Save", exact=True).click()

    messages = page.locator("ul.messagelist")
    expect(messages.locator("li.success")).to_contain_text("was changed successfully")
    expect(messages).to_contain_text("Dave gains weeks of")
    screenshot(page, "admin-saved")
    page.goto(f"{live_server.url}/admin/rotation/rotation/{rotation.pk}/change/")
    assert roster_rows(page) == [("1", "Alice"), ("2", "Dave"), ("3", "Bob"), ("4", "Erin")]

    page.goto(f"{live_server.url}/")
    expect(card.locator(".person.primary .name")).to_have_text("Erin")
    expect(card.locator(".person.secondary .name")).to_have_text("Alice")
    expect(card.locator(".next")).to_have_text("Next: Alice primary, Dave secondary")
    response = page.request.get(f"{live_server.url}/api/v1/oncall?rotation=platform")
    assert response.ok
    [answer] = response.json()
    assert (answer["primary"]["name"], answer["secondary"]["name"]) == ("Erin", "Alice")
    assert answer["next"] == {
        "primary": {"name": "Alice", "email": "alice@example.com"},
        "secondary": {"name": "Dave", "email": "dave@example.com"},
    }
