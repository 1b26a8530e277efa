"""On a phone and from the keyboard, in Chromium: the top bar stays one row with its links
behind a menu button, a skip link leads past it, focus is plainly visible, and the incident
list puts results, not filters, on the first screen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from incidents.actions import open_incident
from tests.portal.test_browser import PHONE, log_in, team_three_weeks_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_top_bar_is_one_row_on_a_phone_and_its_links_are_behind_a_menu(
    live_server: LiveServer, page: Page
) -> None:
    team_three_weeks_in()
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "alice@example.com")
    bar = page.locator("header.topbar")
    menu = page.get_by_role("button", name="Menu")
    box = bar.bounding_box()
    assert box is not None and box["height"] < 64, box  # one row (it was three, 160 px)
    expect(page.get_by_role("link", name="Runbooks")).to_be_hidden()

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.get_by_role("link", name="Runbooks").click()
    expect(page).to_have_url(f"{live_server.url}/runbooks/")

    page.get_by_role("button", name="Menu").click()
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Incidents")).to_be_hidden()
    expect(page.get_by_role("button", name="Menu")).to_be_focused()


def test_a_keyboard_user_skips_the_top_bar_and_always_sees_the_focus(
    live_server: LiveServer, page: Page
) -> None:
    team_three_weeks_in()
    log_in(page, live_server, "alice@example.com")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0, "the skip link shows when focused"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    page.keyboard.press("Tab")  # the first link of the page itself
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert ring[0] == "solid" and ring[1] >= 3, ring


def test_the_incident_list_shows_results_first_on_a_phone(
    live_server: LiveServer, page: Page
) -> None:
    _, people = team_three_weeks_in()
    assert people["alice"].user is not None
    for number in range(3):
        open_incident(
            {
                "title": f"Checkout slow {number}",
                "severity": "SEV3",
                "status": "investigating",
                "started_at": timezone.now() - timedelta(hours=number + 1),
            },
            by=people["alice"].user,
        )
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "alice@example.com")
    page.goto(f"{live_server.url}/incidents/")
    first = page.locator("table.incidents tbody tr").first
    box = first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
    expect(page.get_by_label("Severity")).to_be_hidden()  # folded under "More filters"
    page.get_by_text("More filters").click()
    expect(page.get_by_label("Severity")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
