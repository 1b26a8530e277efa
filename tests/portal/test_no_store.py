"""Pages that show a secret (a feed address, an API token) are never kept by a cache."""

from __future__ import annotations

import pytest
from django.test import Client

from rotation.models import Engineer, Rotation
from tests.conftest import login


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/calendars/"),
        ("get", "/me/"),
        ("get", "/account/api-token/"),
        ("post", "/account/api-token/rotate/"),
    ],
)
def test_pages_with_secrets_say_no_store(
    client: Client, platform: Rotation, cast: dict[str, Engineer], method: str, path: str
) -> None:
    response = getattr(login(client, "erin"), method)(path)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_the_admin_page_with_a_rotations_pagerduty_feed_urls_says_no_store(
    client: Client, platform: Rotation
) -> None:
    # PagerDuty's schedule feed URLs carry PagerDuty's own token; every admin page is
    # never_cache, this one is checked because it shows them.
    response = login(client, "carol").get(f"/admin/rotation/rotation/{platform.pk}/change/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
