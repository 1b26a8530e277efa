"""End to end in Chromium: Erin asks for cover of part of her primary week, Dave takes it
from the rotation page, and the page then shows Dave covering Erin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from rotation.effective import effective_schedule
from rotation.forms import wall_clock
from rotation.models import Override
from rotation.schedule import Duty
from tests.portal.test_browser import DESKTOP, PHONE, log_in, screenshot, team_three_weeks_in


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] if page.viewport_size else True


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_engineer_asks_for_cover_and_a_colleague_takes_it(
    live_server: LiveServer, page: Page
) -> None:
    rotation, people = team_three_weeks_in()
    now = timezone.now()
    erins = effective_schedule(rotation, now, now).holder(Duty.PRIMARY, now)
    assert erins is not None and erins.member == "erin@example.com"
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    end = min(start + timedelta(hours=3), erins.end)

    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "erin@example.com")
    page.goto(f"{live_server.url}/me/")
    page.get_by_role("link", name="Ask for cover").first.click()
    expect(page.get_by_role("heading", name="Cover in Platform")).to_be_visible()
    expect(page.get_by_label("From")).to_have_value(wall_clock(start, rotation.zone))
    page.get_by_label("Until").fill(wall_clock(end, rotation.zone))
    page.get_by_label("Note (why)").fill("school play")
    screenshot(page, "cover-form-desktop")
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    screenshot(page, "cover-form-phone")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".messages")).to_contain_text("Done")
    asks = page.locator("section.open-asks")
    expect(asks).to_contain_text("Erin")
    expect(asks).to_contain_text("school play")

    page.context.clear_cookies()
    log_in(page, live_server, "dave@example.com")
    page.goto(f"{live_server.url}/rotations/platform/")
    screenshot(page, "cover-wanted-desktop")
    page.get_by_role("button", name="Take it").click()
    expect(page.locator(".messages")).to_contain_text("Accepted")
    expect(page.locator("table.weeks")).to_contain_text("Dave covering Erin")
    expect(page.locator("section.open-asks")).to_contain_text("Nobody is asking for cover")
    screenshot(page, "cover-taken-desktop")
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    screenshot(page, "cover-taken-phone")
    override = Override.objects.get()
    assert (override.engineer, override.covers) == (people["dave"], people["erin"])
    assert (override.starts_at, override.ends_at) == (start, end)

    page.goto(f"{live_server.url}/me/")
    expect(page.locator("section.my-covers")).to_contain_text("You cover")
    screenshot(page, "cover-me-phone")
