"""``GET /api/v1/oncall`` and ``manage.py oncall``: who is on call, for scripts and people."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from portal.actions import rotate_api_token
from rotation.actions import create_override, save_roster
from rotation.models import Engineer, Rotation, Shift
from tests.conftest import NOW, login, shadowed

pytestmark = pytest.mark.django_db


def names(answer: dict[str, Any]) -> tuple[str, str]:
    return answer["primary"]["name"], answer["secondary"]["name"]


def test_api_answers_the_design_contract(client: Client, platform: Rotation) -> None:
    login(client, "mallory")
    response = client.get("/api/v1/oncall")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    [answer] = response.json()
    assert answer == {
        "rotation": "platform",
        "at": "2026-12-02T17:00:00Z",
        "primary": {"name": "Alice", "email": "alice@example.com"},
        "secondary": {"name": "Erin", "email": "erin@example.com"},
        "shadow": [{"name": "Bob", "email": "bob@example.com"}],
        "shift_start": "2026-12-01T18:00:00Z",
        "shift_end": "2026-12-08T18:00:00Z",
        "next": {
            "primary": {"name": "Erin", "email": "erin@example.com"},
            "secondary": {"name": "Bob", "email": "bob@example.com"},
        },
    }


def test_api_refuses_anonymous_callers_with_json_not_a_login_page(
    client: Client, platform: Rotation
) -> None:
    response = client.get("/api/v1/oncall")
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]


def test_api_accepts_a_personal_bearer_token(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    token = rotate_api_token(cast["erin"].user, by=cast["erin"].user)  # type: ignore[arg-type]
    response = client.get("/api/v1/oncall", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert names(response.json()[0]) == ("Alice", "Erin")


def test_a_replaced_token_stops_working_at_once(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    user = cast["erin"].user
    old = rotate_api_token(user, by=user)  # type: ignore[arg-type]
    rotate_api_token(user, by=user)  # type: ignore[arg-type]
    assert client.get("/api/v1/oncall", HTTP_AUTHORIZATION=f"Bearer {old}").status_code == 401
    assert client.get("/api/v1/oncall", HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401


def test_api_at_any_instant_past_or_far_future(client: Client, platform: Rotation) -> None:
    login(client, "alice")
    past = client.get("/api/v1/oncall", {"at": "2026-11-25T12:00:00Z"}).json()[0]
    assert names(past) == ("Dave", "Alice")
    # Far beyond the year of stored shifts: the engine answers, on the same chain.
    far = client.get("/api/v1/oncall", {"at": "2036-12-02T17:00:00Z"}).json()[0]
    weeks = (
        datetime(2036, 12, 2, 17, tzinfo=UTC) - datetime(2026, 11, 24, 18, tzinfo=UTC)
    ) // timedelta(weeks=1)
    order = ["Dave", "Alice", "Erin", "Bob"]
    assert names(far) == (order[weeks % 4], order[(weeks + 1) % 4])
    assert far["shift_end"].endswith("T18:00:00Z")  # 10:00 Los Angeles, standard time


def test_api_before_the_rotation_starts_has_nobody_on_call(
    client: Client, platform: Rotation
) -> None:
    login(client, "alice")
    [answer] = client.get("/api/v1/oncall", {"at": "2026-11-01T00:00:00+00:00"}).json()
    assert answer["primary"] is None
    assert answer["shift_end"] == "2026-11-24T18:00:00Z"
    assert answer["next"]["primary"]["name"] == "Dave"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"rotation": "nope"}, "unknown rotation 'nope' (known: platform)"),
        ({"at": "yesterday"}, "'at' must be an ISO 8601 instant"),
        ({"at": "2026-12-01T10:00:00"}, "needs a UTC offset"),
    ],
)
def test_api_bad_question_gets_400_with_a_message(
    client: Client, platform: Rotation, query: dict[str, str], message: str
) -> None:
    login(client, "alice")
    response = client.get("/api/v1/oncall", query)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_api_filters_by_rotation(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    other = Rotation.objects.create(slug="data", name="Data", starts_on=platform.starts_on)
    save_roster(other, [cast["carol"], cast["dave"]], by=None)
    login(client, "alice")
    assert [a["rotation"] for a in client.get("/api/v1/oncall").json()] == ["data", "platform"]
    assert [a["rotation"] for a in client.get("/api/v1/oncall", {"rotation": "data"}).json()] == [
        "data"
    ]


def test_override_shows_in_the_answer_at_once(
    client: Client, platform: Rotation, cast: dict[str, Engineer], frozen_now: datetime
) -> None:
    create_override(
        platform,
        role="primary",
        engineer=cast["dave"],
        starts_at=frozen_now - timedelta(hours=1),
        ends_at=frozen_now + timedelta(hours=4),
        by=cast["carol"].user,
    )
    login(client, "alice")
    assert names(client.get("/api/v1/oncall").json()[0]) == ("Dave", "Erin")


def test_roster_edit_answers_at_once_without_the_worker(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    shadowed(platform, cast["carol"])
    save_roster(
        platform,
        [cast["erin"], cast["carol"], cast["alice"], cast["dave"], cast["bob"]],
        by=cast["carol"].user,
    )
    login(client, "alice")
    answer = client.get("/api/v1/oncall").json()[0]
    assert names(answer) == ("Alice", "Erin")  # this week stays as it was
    assert (answer["next"]["primary"]["name"], answer["next"]["secondary"]["name"]) == (
        "Erin",
        "Carol",
    )


def test_api_query_count_is_flat_in_rotations(
    client: Client,
    platform: Rotation,
    cast: dict[str, Engineer],
    django_assert_max_num_queries: Any,
) -> None:
    token = rotate_api_token(cast["erin"].user, by=cast["erin"].user)  # type: ignore[arg-type]
    for number in range(5):
        rotation = Rotation.objects.create(
            slug=f"r{number}", name=f"R{number}", starts_on=platform.starts_on
        )
        save_roster(rotation, [cast["carol"], cast["dave"], cast["alice"]], by=None)
    # change stamp, token, rotations, then the effective schedule: eras, shadows, swaps, people,
    # overrides
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/oncall", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert len(response.json()) == 6
    with django_assert_max_num_queries(1):  # nothing changed since: the change stamp alone
        again = client.get("/api/v1/oncall", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert [a["primary"] for a in again.json()] == [a["primary"] for a in response.json()]


def test_api_query_count_is_flat_beyond_the_stored_year(
    client: Client, platform: Rotation, django_assert_max_num_queries: Any
) -> None:
    login(client, "alice")
    with django_assert_max_num_queries(11):
        response = client.get("/api/v1/oncall", {"at": "2040-01-01T00:00:00Z"})
    assert response.json()[0]["primary"] is not None


def test_oncall_command_prints_who_and_when(platform: Rotation) -> None:
    out = StringIO()
    call_command("oncall", stdout=out)
    text = out.getvalue()
    assert "primary    Alice <alice@example.com>" in text
    assert "secondary  Erin <erin@example.com>" in text
    assert "shadow     Bob" in text
    assert "handoff    Tue 08 Dec 2026 10:00 PST" in text
    assert "next       Erin / Bob" in text


def test_oncall_command_json_equals_the_api(client: Client, platform: Rotation) -> None:
    out = StringIO()
    call_command(
        "oncall", "--json", "--rotation", "platform", "--at", "2027-03-20T12:00:00Z", stdout=out
    )
    login(client, "alice")
    api = client.get(
        "/api/v1/oncall", {"rotation": "platform", "at": "2027-03-20T12:00:00Z"}
    ).json()
    assert json.loads(out.getvalue()) == api


@pytest.mark.parametrize(
    "arguments", [["--rotation", "nope"], ["--at", "not-a-time"], ["--at", "2026-12-01T10:00"]]
)
def test_oncall_command_bad_input_is_one_line_error(
    platform: Rotation, arguments: list[str]
) -> None:
    with pytest.raises(CommandError) as raised:
        call_command("oncall", *arguments)
    assert "\n" not in str(raised.value)


def test_stored_shifts_and_engine_agree(platform: Rotation, client: Client) -> None:
    """The same instant answered from stored shifts and from the engine alone."""
    login(client, "alice")
    at = "2027-01-13T05:00:00Z"
    stored = client.get("/api/v1/oncall", {"at": at}).json()
    Shift.objects.all().delete()
    assert client.get("/api/v1/oncall", {"at": at}).json() == stored


def test_the_schedule_api_answers_again_from_memory_until_the_schedule_changes(
    client: Client,
    platform: Rotation,
    cast: dict[str, Engineer],
    django_assert_max_num_queries: Any,
) -> None:
    login(client, "alice")
    window = {"rotation": "platform", "from": "2026-12-01T00:00Z", "to": "2027-12-01T00:00Z"}
    first = client.get("/api/v1/schedule", window).json()
    with django_assert_max_num_queries(2):  # the session's user and the stamps
        assert client.get("/api/v1/schedule", window).json() == first
    create_override(
        platform,
        role="secondary",
        engineer=cast["dave"],
        starts_at=NOW + timedelta(days=1),
        ends_at=NOW + timedelta(days=2),
        by=None,
    )
    again = client.get("/api/v1/schedule", window).json()
    assert [s["person"]["name"] for s in again if s["reason"] == "override"] == ["Dave"]
