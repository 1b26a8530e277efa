"""``/api/v1/swaps``: the README's contract for scripts and bots. Refusals are 400 with the rule's
code, a person without the right 403, a swap not theirs 404, and nothing is written on refusal.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from portal.actions import rotate_api_token
from portal.models import Notice
from rotation.models import Engineer, Rotation, Swap, SwapStatus
from tests.conftest import login

pytestmark = pytest.mark.django_db

PROPOSAL = {"rotation": "platform", "mine": "2026-12-22", "theirs": "2027-01-05"}


def post(client: Client, url: str, body: dict[str, Any] | None = None, **extra: Any) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json", **extra)


def test_propose_then_accept_by_api(client: Client, platform: Rotation) -> None:
    login(client, "alice")
    response = post(client, "/api/v1/swaps", {**PROPOSAL, "with": "bob@example.com"})
    assert response.status_code == 201
    proposed = response.json()
    assert proposed == {
        "id": proposed["id"],
        "rotation": "platform",
        "status": "proposed",
        "proposer": {"name": "Alice", "email": "alice@example.com"},
        "partner": {"name": "Bob", "email": "bob@example.com"},
        "mine": "2026-12-22",
        "theirs": "2027-01-05",
        "mine_starts": "2026-12-22T18:00:00Z",
        "theirs_starts": "2027-01-05T18:00:00Z",
        "note": "",
        "flagged": False,
        "flagged_at": None,
    }
    login(client, "bob")
    assert [s["id"] for s in client.get("/api/v1/swaps").json()] == [proposed["id"]]
    accepted = post(client, f"/api/v1/swaps/{proposed['id']}/accept")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"


def test_a_bearer_token_works_without_csrf_and_a_session_post_needs_it(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    strict = Client(enforce_csrf_checks=True)
    token = rotate_api_token(cast["alice"].user, by=cast["alice"].user)  # type: ignore[arg-type]
    body = {**PROPOSAL, "with": "bob@example.com"}
    by_token = post(strict, "/api/v1/swaps", body, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert by_token.status_code == 201
    login(strict, "bob")
    forged = post(strict, f"/api/v1/swaps/{by_token.json()['id']}/accept")
    assert forged.status_code == 403
    assert Swap.objects.get().status == SwapStatus.PROPOSED


def test_anonymous_callers_get_401_json(client: Client, platform: Rotation) -> None:
    assert client.get("/api/v1/swaps").status_code == 401
    assert post(client, "/api/v1/swaps", {**PROPOSAL, "with": "bob@example.com"}).status_code == 401


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ({**PROPOSAL, "with": "bob@example.com", "mine": "2026-12-23"}, "swap-stint"),
        ({**PROPOSAL, "with": "bob@example.com", "mine": "2026-12-01"}, "swap-started"),
        ({**PROPOSAL, "with": "bob@example.com", "mine": "2027-01-05"}, "swap-stint"),
        ({**PROPOSAL, "with": "alice@example.com"}, "swap-self"),
        ({**PROPOSAL, "with": "nobody@example.com"}, "unknown-person"),
        ({**PROPOSAL, "with": "bob@example.com", "rotation": "nope"}, "unknown-rotation"),
        ({**PROPOSAL, "with": "bob@example.com", "mine": "soon"}, "bad-request"),
        ({**PROPOSAL, "with": "dave@example.com", "theirs": "2027-01-12"}, "same-person"),
    ],
)
def test_refusals_name_the_rule_and_write_nothing(
    client: Client, platform: Rotation, body: dict[str, str], rule: str
) -> None:
    login(client, "alice")
    response = post(client, "/api/v1/swaps", body)
    assert response.status_code == 400
    assert response.json()["rule"] == rule
    assert response.json()["error"]
    assert not Swap.objects.exists() and not Notice.objects.exists()


def test_someone_with_no_engineer_gets_403(client: Client, platform: Rotation) -> None:
    login(client, "mallory")
    response = post(client, "/api/v1/swaps", {**PROPOSAL, "with": "bob@example.com"})
    assert response.status_code == 403
    assert response.json()["rule"] == "permission"


def test_only_the_partner_accepts_and_others_get_404_or_403(
    client: Client, platform: Rotation
) -> None:
    login(client, "alice")
    swap_id = post(client, "/api/v1/swaps", {**PROPOSAL, "with": "bob@example.com"}).json()["id"]
    assert post(client, f"/api/v1/swaps/{swap_id}/accept").status_code == 403  # the proposer
    login(client, "erin")
    assert post(client, f"/api/v1/swaps/{swap_id}/accept").status_code == 404  # not hers
    assert post(client, f"/api/v1/swaps/{swap_id}/cancel").status_code == 404
    assert post(client, "/api/v1/swaps/999999/decline").status_code == 404
    assert Swap.objects.get().status == SwapStatus.PROPOSED
    login(client, "alice")
    assert post(client, f"/api/v1/swaps/{swap_id}/cancel").json()["status"] == "cancelled"


def test_a_manager_makes_a_swap_for_two_others_with_for(client: Client, platform: Rotation) -> None:
    login(client, "carol")
    body = {**PROPOSAL, "for": "alice@example.com", "with": "bob@example.com"}
    response = post(client, "/api/v1/swaps", body)
    assert response.status_code == 201
    assert response.json()["status"] == "accepted"
    login(client, "erin")
    assert post(client, "/api/v1/swaps", body).status_code == 403
    assert Swap.objects.count() == 1


def test_the_list_is_flat_in_queries(
    client: Client, platform: Rotation, django_assert_max_num_queries: Any
) -> None:
    login(client, "alice")
    post(client, "/api/v1/swaps", {**PROPOSAL, "with": "bob@example.com"})
    post(client, "/api/v1/swaps", {**PROPOSAL, "with": "erin@example.com", "theirs": "2026-12-29"})
    for day in ("2027-01-19", "2027-02-16"):
        for partner, theirs in (("bob", "2027-02-02"), ("dave", "2027-02-09")):
            post(
                client,
                "/api/v1/swaps",
                {**PROPOSAL, "mine": day, "with": f"{partner}@example.com", "theirs": theirs},
            )
    assert Swap.objects.count() >= 5
    with django_assert_max_num_queries(8):
        assert len(client.get("/api/v1/swaps").json()) == Swap.objects.count()
