"""End to end in Chromium: Alice posts a customer-facing change on the heads-up board, after a
field error, and it shows on the board with its drafted notice and on the dashboard; the pages
fit a phone without sideways scrolling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from tests.portal.test_browser import PHONE, log_in, screenshot, team_three_weeks_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = ViewportSize(width=1366, height=800)


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_post_a_heads_up_and_see_it_on_the_board_and_dashboard(
    live_server: LiveServer, page: Page
) -> None:
    team_three_weeks_in()
    page.set_viewport_size(WIDE)
    log_in(page, live_server, "alice@example.com")
    page.get_by_role("link", name="Heads-up", exact=True).click()
    page.get_by_role("link", name="Post a heads-up").click()
    page.get_by_label("What").fill("Payments provider switch")
    page.get_by_label("Disruptive change").check()
    tomorrow = timezone.localtime() + timedelta(days=1)
    page.get_by_label("Starts").fill(f"{tomorrow:%Y-%m-%d}T10:00")
    page.get_by_label("Ends").fill(f"{tomorrow:%Y-%m-%d}T11:00")
    page.get_by_label("Affected services").fill("payments")
    page.get_by_label("Customers will notice").check()
    page.get_by_role("button", name="Post the heads-up").click()
    expect(page.locator(".field-rollback .error")).to_have_text(
        "A change needs a way to roll it back."
    )
    expect(page.get_by_label("What")).to_have_value("Payments provider switch")
    screenshot(page, "heads-up-new")
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    screenshot(page, "heads-up-new-phone")
    page.get_by_label("How to roll back").fill("Switch the provider flag back.")
    page.get_by_role("button", name="Post the heads-up").click()
    expect(page.locator(".messages")).to_contain_text("Heads-up posted.")
    expect(page.locator(".heads-ups").first).to_contain_text("Payments provider switch")
    expect(page.locator("textarea")).to_contain_text("payments may be briefly unavailable")
    no_sideways_scroll(page)
    screenshot(page, "heads-up-board-phone")
    page.set_viewport_size(WIDE)
    screenshot(page, "heads-up-board")

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator(".heads-up-panel")).to_contain_text("Payments provider switch")
    screenshot(page, "heads-up-dashboard")
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    screenshot(page, "heads-up-dashboard-phone")
