"""``/api/v1/time-off``: the README's contract, its refusals, and what it costs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client

from portal.actions import rotate_api_token
from portal.models import AuditEntry
from rotation.models import Engineer, Rotation, TimeOff
from rotation.timeoff import record_time_off
from tests.conftest import NOW, login

URL = "/api/v1/time-off"


def bearer(engineer: Engineer) -> dict[str, str]:
    token = rotate_api_token(engineer.user, by=engineer.user)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {token}"}


def post(client: Client, body: object, headers: dict[str, str] | None = None) -> Any:
    return client.post(URL, body, content_type="application/json", headers=headers)


def test_post_answers_time_off_collisions_and_ranked_proposals(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    response = post(
        client,
        {"start": "2026-12-30", "end": "2027-01-02", "note": "family"},
        headers=bearer(cast["alice"]),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["time_off"] == {
        "id": TimeOff.objects.get().id,
        "start": "2026-12-30",
        "end": "2027-01-02",
        "note": "family",
        "away_from": "2026-12-30T00:00:00+00:00",  # the portal's zone (UTC): Alice has none
        "away_until": "2027-01-03T00:00:00+00:00",
    }
    assert body["collisions"] == [
        {
            "rotation": "platform",
            "role": "primary",
            "start": "2026-12-29T18:00:00Z",
            "end": "2027-01-05T18:00:00Z",
            "time_off": body["time_off"]["id"],
            "stint": "2026-12-22",
        }
    ]
    proposals = body["proposals"]
    assert [p["rank"] for p in proposals] == list(range(1, len(proposals) + 1))
    first = proposals[0]
    assert set(first) == {"rotation", "mine", "theirs", "with", "rank", "reason"}
    assert first["rotation"] == "platform" and first["mine"] == "2026-12-22"
    assert set(first["with"]) == {"name", "email"}
    assert "on call in the last year" in first["reason"]


def test_get_lists_only_mine(client: Client, platform: Rotation, cast: dict[str, Engineer]) -> None:
    alice, dave = cast["alice"], cast["dave"]
    record_time_off(alice, date(2027, 1, 4), date(2027, 1, 5), "ski", by=alice.user, now=NOW)
    record_time_off(dave, date(2027, 1, 4), date(2027, 1, 5), by=dave.user, now=NOW)
    body = login(client, "alice").get(URL).json()
    assert [(r["start"], r["end"], r["note"]) for r in body] == [
        ("2027-01-04", "2027-01-05", "ski")
    ]


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ({"start": "2027-01-05", "end": "2027-01-04"}, "time-off-order"),
        ({"start": "2027-01-01", "end": "2028-06-01"}, "time-off-too-long"),
        ({"start": "2026-11-01", "end": "2026-11-05"}, "time-off-past"),
        ({"start": "5 Jan", "end": "2027-01-06"}, "invalid"),
        ({"end": "2027-01-06"}, "invalid"),
        ({"start": "2027-01-05", "end": "2027-01-06", "note": 3}, "invalid"),
        (["2027-01-05"], "invalid"),
    ],
)
def test_refusals_are_400_naming_the_rule_and_write_nothing(
    client: Client, platform: Rotation, cast: dict[str, Engineer], body: object, rule: str
) -> None:
    headers = bearer(cast["alice"])
    audits = AuditEntry.objects.count()
    response = post(client, body, headers=headers)
    assert response.status_code == 400
    assert response.json()["rule"] == rule
    assert response.json()["error"]
    assert not TimeOff.objects.exists()
    assert AuditEntry.objects.count() == audits


def test_a_login_without_an_engineer_gets_403(client: Client, platform: Rotation) -> None:
    login(client, "mallory")
    response = post(client, {"start": "2027-01-04", "end": "2027-01-05"})
    assert response.status_code == 403
    assert response.json()["rule"] == "permission"
    assert not TimeOff.objects.exists()


def test_session_post_needs_the_csrf_token_bearer_does_not(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    browser = login(Client(enforce_csrf_checks=True), "alice")
    response = post(browser, {"start": "2027-01-04", "end": "2027-01-05"})
    assert response.status_code == 403
    assert response.json()["rule"] == "csrf"
    assert not TimeOff.objects.exists()
    script = Client(enforce_csrf_checks=True)
    response = post(
        script, {"start": "2027-01-04", "end": "2027-01-05"}, headers=bearer(cast["alice"])
    )
    assert response.status_code == 201


def test_anonymous_gets_401_json(client: Client, platform: Rotation) -> None:
    response = client.get(URL)
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]


def test_delete_removes_mine(client: Client, platform: Rotation, cast: dict[str, Engineer]) -> None:
    alice = cast["alice"]
    row = record_time_off(alice, date(2027, 1, 4), date(2027, 1, 5), by=alice.user, now=NOW)
    response = client.delete(f"{URL}/{row.id}", headers=bearer(alice))
    assert response.status_code == 204
    assert not TimeOff.objects.exists()


def test_delete_of_someone_elses_is_404_and_deletes_nothing(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    dave = cast["dave"]
    row = record_time_off(dave, date(2027, 1, 4), date(2027, 1, 5), by=dave.user, now=NOW)
    response = client.delete(f"{URL}/{row.id}", headers=bearer(cast["alice"]))
    assert response.status_code == 404
    assert response.json()["rule"] == "not-found"
    assert TimeOff.objects.filter(pk=row.id).exists()


def test_a_manager_may_delete_anyones(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    dave = cast["dave"]
    row = record_time_off(dave, date(2027, 1, 4), date(2027, 1, 5), by=dave.user, now=NOW)
    assert client.delete(f"{URL}/{row.id}", headers=bearer(cast["carol"])).status_code == 204


def test_get_query_count_is_flat_in_rows(
    client: Client,
    platform: Rotation,
    cast: dict[str, Engineer],
    django_assert_max_num_queries: object,
) -> None:
    alice = cast["alice"]
    headers = bearer(alice)
    for month in range(1, 13):
        record_time_off(alice, date(2027, month, 1), date(2027, month, 3), by=alice.user, now=NOW)
    client.get(URL, headers=headers)  # warms the token's remembered lookup
    with django_assert_max_num_queries(6):  # type: ignore[operator]
        assert len(client.get(URL, headers=headers).json()) == 12
