"""End to end in Chromium: Alice proposes a swap with Bob on the page, Bob accepts on his; then
both calendar feeds, the schedule API and PagerDuty (the fake) follow.

Built with the real clock (team_three_weeks_in): the order is Alice, Bob, Dave, Erin and this
week Erin is primary, Alice secondary. Alice's next stint begins four weeks from this week's
handoff (week 7), Bob's second one a week later (week 8). She offers hers for that one of his.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from feeds.actions import feed_token_of
from pagerduty.fake import FakePagerDuty
from pagerduty.sync import sync_policy
from rotation.models import Engineer, Rotation, Swap, SwapStatus
from tests.conftest import fake_client, login
from tests.feeds.test_feeds import event_at
from tests.portal.test_browser import DESKTOP, PHONE, log_in, screenshot, team_three_weeks_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLICY = "PEPLAT1"


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "timezone_id": "Europe/Berlin", "locale": "en-GB"}


def day_label(rotation: Rotation, when: datetime) -> str:
    local = when.astimezone(rotation.zone)
    return f"{local:%a} {local.day} {local:%b}"


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def feed_summary(engineer: Engineer, at: datetime) -> str:
    assert engineer.user is not None
    token = feed_token_of(engineer.user).token
    body = Client().get(f"/calendars/{token}/my-shifts.ics").content
    return str(event_at(body, at)["SUMMARY"])


def test_alice_proposes_bob_accepts_and_everything_follows(
    live_server: LiveServer, page: Page, context: BrowserContext
) -> None:
    rotation, people = team_three_weeks_in()
    this_week = rotation.calendar.handoff_day_at_or_before(timezone.now())
    week = {n: rotation.calendar.handoff_at(this_week + timedelta(weeks=n - 3)) for n in (7, 8, 9)}
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "alice@example.com")

    page.get_by_role("link", name="My shifts").click()
    page.get_by_role("link", name="Swap…").first.click()
    expect(page.get_by_role("heading", name="Swap a stint")).to_be_visible()
    expect(page.locator(".swap-mine")).to_contain_text(
        f"Secondary from {day_label(rotation, week[7])}"
    )
    bobs = f"Bob — secondary from {day_label(rotation, week[8])}, primary from {day_label(rotation, week[9])}"
    page.get_by_label("For whose stint").select_option(label=bobs)
    page.get_by_label("Note (optional)").fill("Family wedding")
    page.get_by_role("button", name="Preview the weeks that move").click()
    preview = page.locator(".swap-preview")
    expect(preview).to_contain_text(
        f"Bob gains secondary from {day_label(rotation, week[7])}, primary from {day_label(rotation, week[8])}"
    )
    expect(preview).to_contain_text(
        f"Alice gains secondary from {day_label(rotation, week[8])}, primary from {day_label(rotation, week[9])}"
    )
    assert not Swap.objects.exists()
    screenshot(page, "swap-new-desktop")
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    screenshot(page, "swap-new-phone")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Send proposal to Bob").click()
    expect(page.locator(".messages")).to_contain_text("Proposal sent to Bob")
    expect(page.locator(".my-swaps")).to_contain_text("waiting for Bob")

    context.clear_cookies()
    log_in(page, live_server, "bob@example.com")
    page.get_by_role("link", name="My shifts").click()
    asked = page.locator(".my-swaps li").filter(has_text="Family wedding")
    expect(asked).to_contain_text(f"Bob gains secondary from {day_label(rotation, week[7])}")
    screenshot(page, "swap-me-desktop")
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    screenshot(page, "swap-me-phone")
    page.set_viewport_size(DESKTOP)
    asked.get_by_role("button", name="Accept").click()
    expect(page.locator(".messages")).to_contain_text("Swap accepted")
    assert Swap.objects.get().status == SwapStatus.ACCEPTED

    page.goto(f"{live_server.url}/rotations/platform/")
    swapped = page.locator("td.secondary .holder").filter(has_text="swap with Alice")
    expect(swapped).to_have_text("Bob (swap with Alice)")
    screenshot(page, "swap-schedule-desktop")

    # Both calendars follow.
    assert feed_summary(people["bob"], week[7] + timedelta(days=1)).startswith(
        "Secondary on call: Bob"
    )
    assert feed_summary(people["alice"], week[8] + timedelta(days=1)).startswith(
        "Secondary on call: Alice"
    )
    # The schedule API names the swap and whom it replaced.
    api = login(Client(), "erin")
    stretches = api.get(
        "/api/v1/schedule",
        {"rotation": "platform", "from": week[7].isoformat(), "to": week[8].isoformat()},
    ).json()
    secondary = next(s for s in stretches if s["role"] == "secondary")
    assert (secondary["person"]["name"], secondary["reason"]) == ("Bob", "swap")
    assert secondary["covering"]["name"] == "Alice"
    # PagerDuty: in week 8, level 1 is Bob (primary, swapped in) and level 2 Alice.
    fake = FakePagerDuty(token="test-token")
    ids = {"alice": "PALICE1", "bob": "PBOB001", "dave": "PDAVE01", "erin": "PERIN01"}
    for name, user_id in ids.items():
        fake.add_user(name.title(), f"{name}@example.com", user_id)
    fake.add_escalation_policy(POLICY, "Platform On-Call", [[ids["dave"]], [ids["erin"]]])
    rotation.pagerduty_escalation_policy_id = POLICY
    rotation.save()
    with fake_client(fake) as client:
        sync_policy(rotation, client, now=week[8] + timedelta(days=1))
    rules = fake.escalation_policies[POLICY]["escalation_rules"]
    assert [[t["id"] for t in rule["targets"]] for rule in rules] == [
        [ids["bob"]],
        [ids["alice"]],
    ]
