"""End to end in Chromium: an engineer reads the schedule as a calendar, their own shifts, and
subscribes to a feed.

Built with the real clock (freezing it would stop the live server's too): the rotation started
three weeks ago with the order Alice, Bob, Dave, Erin, so this week Erin is primary and Alice
secondary. The browser runs in Berlin, the rotation in Los Angeles.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from rotation.actions import create_override
from tests.portal.test_browser import DESKTOP, PHONE, log_in, screenshot, team_three_weeks_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "timezone_id": "Europe/Berlin", "locale": "en-GB"}


def test_engineer_reads_the_schedule_their_shifts_and_subscribes(
    live_server: LiveServer, page: Page, context: BrowserContext
) -> None:
    rotation, people = team_three_weeks_in()
    this_week = rotation.calendar.handoff_day_at_or_before(timezone.now())
    handoff = rotation.calendar.handoff_at(this_week + timedelta(weeks=1))
    create_override(
        rotation,
        role="primary",
        engineer=people["dave"],
        starts_at=handoff + timedelta(days=1),
        ends_at=handoff + timedelta(days=2),
        reason="Alice at a wedding",
        by=None,
    )
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "alice@example.com")

    # The dashboard's rotation name leads to the schedule.
    page.get_by_role("link", name="Platform").click()
    expect(page).to_have_url(f"{live_server.url}/rotations/platform/")
    current = page.locator("tr[aria-current=date]")
    expect(current).to_have_count(1)
    expect(current.locator("th")).to_contain_text("this week")
    expect(current.locator("td.primary")).to_have_text("Erin")
    expect(current.locator("td.secondary")).to_have_text("Alice")
    # The browser's own zone beside the rotation's: 10:00 in Los Angeles is 19:00 in Berlin.
    expect(current.locator(".yours")).to_contain_text("19:00")
    next_week = page.locator("tr[aria-current=date] + tr")
    # The Primary column names who is really on call: Dave, covering Alice for a day.
    expect(next_week.locator("td.primary .holder.covers")).to_have_text(
        "Dave covering Alice Wed 10:00\u2013Thu 10:00"
    )
    expect(next_week.locator(".override")).to_contain_text("Dave: Alice at a wedding")
    screenshot(page, "schedule-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "schedule-phone")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("link", name="Later →").click()
    expect(page.locator("tr[aria-current=date]")).to_have_count(0)
    page.get_by_role("link", name="This week").click()
    expect(page.locator("tr[aria-current=date]")).to_have_count(1)

    page.get_by_role("link", name="My shifts").click()
    expect(page.get_by_role("heading", name="My shifts")).to_be_visible()
    first = page.locator("table.shifts tbody tr").first
    expect(first).to_contain_text("Secondary now")
    expect(first).to_contain_text("Platform")
    expect(page.locator(".fairness")).to_contain_text("The team's average is")
    screenshot(page, "me-desktop")

    page.get_by_role("link", name="Calendars").click()
    row = page.locator("tr", has=page.get_by_role("rowheader", name="Platform: primary"))
    expect(row.get_by_role("link", name="Add to Google Calendar")).to_have_attribute(
        "href", re.compile(r"^https://calendar\.google\.com/calendar/render\?cid=webcal")
    )
    expect(row.locator(".fetched")).to_have_text("not yet")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    row.get_by_role("button", name="Copy link").click()
    expect(row.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f"{live_server.url}/calendars/") and copied.endswith(
        "/platform.primary.ics"
    )
    screenshot(page, "calendars-desktop")

    # What a calendar client gets at that address, and the page then says it was fetched.
    feed = page.request.get(copied, headers={"User-Agent": "Google-Calendar-Importer"})
    assert feed.ok and feed.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "SUMMARY:Primary on call: Erin (Platform)" in feed.text()
    page.reload()
    expect(row.locator(".fetched")).to_contain_text("by Google-Calendar-Importer")
