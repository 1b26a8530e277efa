"""The swap pages: propose with a preview of the weeks that move, answer on /me/, and the
rotation page naming swapped weeks."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rotation.models import Engineer, Rotation, Swap, SwapStatus
from tests.conftest import login

pytestmark = pytest.mark.django_db

NEW = "/swaps/new/?rotation=platform&mine=2026-12-22"
BOB_5_JAN = "bob@example.com|2027-01-05T18:00:00+00:00"


def form(step: str, theirs: str = BOB_5_JAN, **more: str) -> dict[str, str]:
    return {"rotation": "platform", "mine": "2026-12-22", "theirs": theirs, "step": step, **more}


def test_the_page_offers_colleagues_stints_by_name_and_weeks(
    client: Client, platform: Rotation
) -> None:
    login(client, "alice")
    page = client.get(NEW).content.decode()
    assert "Secondary from <time" in page
    assert "Bob — secondary from Tue 5 Jan, primary from Tue 12 Jan" in page
    assert "Alice — secondary" not in page  # not her own


def test_preview_shows_who_gains_and_loses_which_weeks_before_anything_is_sent(
    client: Client, platform: Rotation
) -> None:
    login(client, "alice")
    page = client.post("/swaps/new/", form("preview")).content.decode()
    assert "gains secondary from Tue 22 Dec, primary from Tue 29 Dec" in page  # Bob
    assert "loses secondary from Tue 5 Jan, primary from Tue 12 Jan" in page  # Bob
    assert "Send proposal to Bob" in page
    assert not Swap.objects.exists()


def test_send_proposes_and_bob_accepts_on_his_page(client: Client, platform: Rotation) -> None:
    login(client, "alice")
    response = client.post("/swaps/new/", form("send", note="a wedding"))
    assert response.status_code == 302 and response["Location"] == "/me/"
    swap = Swap.objects.get()
    assert "waiting for Bob" in client.get("/me/").content.decode()
    login(client, "bob")
    me = client.get("/me/").content.decode()
    assert "Asked of you" in me and "a wedding" in me
    assert "gains secondary from Tue 22 Dec" in me and "loses secondary from Tue 5 Jan" in me
    client.post(f"/swaps/{swap.id}/accept/")
    assert Swap.objects.get().status == SwapStatus.ACCEPTED
    schedule = client.get("/rotations/platform/?week=2026-12-22").content.decode()
    assert 'Bob <span class="swapped">(swap with Alice)</span>' in schedule


def test_a_refused_choice_keeps_the_form_and_says_why(client: Client, platform: Rotation) -> None:
    login(client, "alice")
    dave = "dave@example.com|2027-01-12T18:00:00+00:00"
    response = client.post("/swaps/new/", form("preview", theirs=dave, note="keep me"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "primary and secondary must be two different people" in page
    assert 'value="keep me"' in page and f'value="{dave}" selected' in page


def test_nobody_opens_a_swap_of_someone_elses_stint(client: Client, platform: Rotation) -> None:
    login(client, "erin")
    assert client.get(NEW).status_code == 403
    assert client.post("/swaps/new/", form("send")).status_code == 403
    assert not Swap.objects.exists()


def test_a_manager_swaps_two_people_directly(client: Client, platform: Rotation) -> None:
    login(client, "carol")
    assert "you swap these two people directly" in client.get(NEW).content.decode()
    client.post("/swaps/new/", form("send"))
    assert Swap.objects.get().status == SwapStatus.ACCEPTED


def test_me_and_the_schedule_link_to_swapping_each_upcoming_stint(
    client: Client, platform: Rotation
) -> None:
    login(client, "alice")
    assert NEW.replace("&", "&amp;") in client.get("/me/").content.decode()
    page = client.get("/rotations/platform/").content.decode()
    assert NEW.replace("&", "&amp;") in page


def test_a_stranger_to_the_swap_cannot_decide_it_from_the_page(
    client: Client, platform: Rotation
) -> None:
    login(client, "alice")
    client.post("/swaps/new/", form("send"))
    swap = Swap.objects.get()
    login(client, "erin")
    assert client.post(f"/swaps/{swap.id}/cancel/").status_code == 404
    login(client, "alice")
    client.post(f"/swaps/{swap.id}/accept/")  # the proposer cannot accept: 403
    assert Swap.objects.get().status == SwapStatus.PROPOSED


def test_me_is_flat_in_queries_with_many_swaps(
    client: Client,
    platform: Rotation,
    cast: dict[str, Engineer],
    django_assert_max_num_queries: Any,
) -> None:
    login(client, "alice")

    def queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get("/me/").status_code == 200
        return len(captured)

    client.post("/swaps/new/", form("send"))
    queries()  # the first view warms the remembered answers
    one = queries()
    for theirs in (
        "erin@example.com|2026-12-29T18:00:00+00:00",
        "bob@example.com|2027-02-02T18:00:00+00:00",
    ):
        client.post("/swaps/new/", form("send", theirs=theirs))
    login(client, "bob")
    client.post(
        "/swaps/new/",
        {
            **form("send"),
            "mine": "2027-01-05",
            "theirs": "dave@example.com|2027-02-09T18:00:00+00:00",
        },
    )
    login(client, "alice")
    assert Swap.objects.count() >= 3
    assert queries() <= one


def test_the_dashboard_tells_bob_a_proposal_waits_for_his_answer(
    client: Client, platform: Rotation
) -> None:
    login(client, "alice")
    client.post("/swaps/new/", form("send"))
    assert "waiting for your answer" not in client.get("/").content.decode()  # Alice's own
    login(client, "bob")
    dashboard = client.get("/").content.decode()
    assert "1 swap proposal waiting for your answer" in dashboard
    client.post(f"/swaps/{Swap.objects.get().id}/decline/")
    assert "waiting for your answer" not in client.get("/").content.decode()


def test_me_says_swap_with_not_covering_for_a_swapped_week(
    client: Client, platform: Rotation
) -> None:
    login(client, "alice")
    client.post("/swaps/new/", form("send"))
    login(client, "bob")
    client.post(f"/swaps/{Swap.objects.get().id}/accept/")
    me = client.get("/me/").content.decode()
    assert '<span class="covering">swap with Alice</span>' in me
    assert "covering Alice" not in me
