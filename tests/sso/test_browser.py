"""End to end in Chromium: an engineer signs in on the OpenID provider's own login page and
lands on the dashboard; a stranger gets a refusal page that passes axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import Page, Route, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from rotation.models import Engineer
from tests.conftest import make_engineer, restore_stamps
from tests.sso.conftest import use_provider
from tests.sso.provider import running_provider

AXE = Path(settings.BASE_DIR) / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = ViewportSize(width=390, height=844)


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # The portal's CSP forbids inline scripts, the injected axe-core among them.
    return {**browser_context_args, "bypass_csp": True}


@pytest.fixture
def provider_for_live_server(live_server: LiveServer, settings: object) -> Iterator[str]:
    with running_provider(f"{live_server.url}/sso/callback/") as issuer:
        use_provider(settings, issuer)
        yield issuer


@pytest.fixture
def phone(page: Page, provider_for_live_server: str) -> Page:
    """A phone-sized page of a fresh database, with the provider set up."""
    restore_stamps()
    stay_on_this_machine(page)
    page.set_viewport_size(PHONE)
    return page


def stay_on_this_machine(page: Page) -> None:
    """The provider's development page imports a web font; nothing leaves the machine."""

    def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", local_only)


def sign_in_at_provider(page: Page, login: str) -> None:
    page.get_by_role("link", name="Sign in with Test Identity").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def serious_violations(page: Page) -> list[Any]:
    page.add_script_tag(path=str(AXE))
    violations: list[Any] = page.evaluate("axe.run().then(result => result.violations)")
    return [v["id"] for v in violations if v["impact"] in {"serious", "critical"}]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_engineer_signs_in_through_the_provider_and_lands_on_the_dashboard(
    live_server: LiveServer, phone: Page
) -> None:
    page = phone
    make_engineer("alice")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    assert serious_violations(page) == []

    sign_in_at_provider(page, "alice")

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Who is on call")).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_stranger_is_refused_on_a_page_that_says_why(
    live_server: LiveServer, phone: Page
) -> None:
    page = phone
    Engineer.objects.create(name="Alice", email="alice@example.com")
    page.goto(f"{live_server.url}/login/")

    sign_in_at_provider(page, "stranger")

    expect(page.get_by_role("heading", name="No engineer with this email")).to_be_visible()
    assert serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("link", name="Back to the login page").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
