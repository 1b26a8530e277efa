"""The cover pages: ask in the rotation's zone, take an open ask, accept or decline on /me/,
and see flagged covers on /me/, the rotation page and the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.test import Client
from pytest_django import DjangoAssertNumQueries

from rotation.actions import save_roster
from rotation.covers import accept_cover, ask_for_cover, offer_cover
from rotation.models import CoverRequest, CoverStatus, Engineer, Override, Rotation
from tests.conftest import login

THU_10 = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # Thursday 3 Dec 10:00 PST


def test_an_engineer_asks_for_cover_with_times_in_the_rotations_zone(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["alice"].pk).update(time_zone="Europe/Berlin")
    login(client, "alice")
    page = client.get("/rotations/platform/cover/new/").content.decode()
    assert "In Platform&#x27;s zone, America/Los_Angeles. Your zone: Europe/Berlin." in page
    data = {
        "kind": "ask",
        "role": "primary",
        "starts_at": "2026-12-03T10:00",
        "ends_at": "2026-12-03T14:00",
        "note": "dentist",
    }
    response = client.post("/rotations/platform/cover/new/", data)
    assert response.status_code == 302
    ask = CoverRequest.objects.get()
    assert (ask.starts_at, ask.ends_at) == (THU_10, THU_10 + timedelta(hours=4))
    assert (ask.covered, ask.taker, ask.status) == (cast["alice"], None, CoverStatus.OPEN)


def test_the_form_keeps_what_was_typed_and_names_the_rule_in_the_rotations_zone(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "dave")  # dave is not on call this week
    data = {
        "kind": "ask",
        "role": "primary",
        "starts_at": "2026-12-03T10:00",
        "ends_at": "2026-12-03T14:00",
        "note": "dentist",
    }
    page = client.post("/rotations/platform/cover/new/", data).content.decode()
    assert (
        "Dave is not primary of Platform for all of Thu 3 Dec 10:00 to Thu 3 Dec 14:00 PST" in page
    )
    assert 'value="2026-12-03T10:00"' in page and 'value="dentist"' in page
    assert "+00:00" not in page
    assert not CoverRequest.objects.exists()


def test_the_form_is_prefilled_from_a_shift(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "erin")
    page = client.get(
        "/rotations/platform/cover/new/",
        {"role": "primary", "start": "2026-12-08T18:00:00Z", "end": "2026-12-15T18:00:00Z"},
    ).content.decode()
    assert 'value="2026-12-08T10:00"' in page and 'value="2026-12-15T10:00"' in page


def test_an_open_ask_is_listed_on_the_rotation_page_and_taken_there(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    ask_for_cover(
        platform,
        covered=cast["alice"],
        role="primary",
        starts_at=THU_10,
        ends_at=THU_10 + timedelta(hours=4),
        note="dentist",
        by=cast["alice"].user,
    )
    login(client, "dave")
    page = client.get("/rotations/platform/").content.decode()
    assert "Cover wanted" in page and "Take it" in page
    ask = CoverRequest.objects.get()
    response = client.post(f"/covers/{ask.pk}/accept/")
    assert response.status_code == 302
    assert Override.objects.get().engineer == cast["dave"]
    page = client.get("/rotations/platform/").content.decode()
    assert "covering Alice" in page


def test_me_lists_an_offer_to_accept_and_it_is_accepted_from_there(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    offer = offer_cover(
        platform,
        taker=cast["dave"],
        covered=cast["alice"],
        role="primary",
        starts_at=THU_10,
        ends_at=THU_10 + timedelta(hours=4),
        by=cast["dave"].user,
    )
    login(client, "alice")
    page = client.get("/me/").content.decode()
    assert "Dave offers to cover you" in page and "Decline" in page
    client.post(f"/covers/{offer.pk}/accept/", {"next": "/me/"})
    offer.refresh_from_db()
    assert offer.status == CoverStatus.ACCEPTED


def test_someone_else_cannot_accept_an_offer_through_the_page(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    offer = offer_cover(
        platform,
        taker=cast["dave"],
        covered=cast["alice"],
        role="primary",
        starts_at=THU_10,
        ends_at=THU_10 + timedelta(hours=4),
        by=cast["dave"].user,
    )
    login(client, "bob")
    client.post(f"/covers/{offer.pk}/accept/")
    offer.refresh_from_db()
    assert offer.status == CoverStatus.OPEN and not Override.objects.exists()


def test_a_flagged_cover_shows_on_me_the_rotation_page_and_the_dashboard(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    start = datetime(2026, 12, 16, 20, tzinfo=UTC)  # bob is primary; alice covers him
    ask = ask_for_cover(
        platform,
        covered=cast["bob"],
        role="primary",
        starts_at=start,
        ends_at=start + timedelta(hours=6),
        by=cast["bob"].user,
    )
    accept_cover(ask, by=cast["alice"].user)
    order = [cast["dave"], cast["alice"], cast["bob"], cast["erin"]]
    save_roster(platform, order, by=cast["carol"].user)
    for name, path in [
        ("alice", "/me/"),
        ("bob", "/"),
        ("carol", "/"),
        ("erin", "/rotations/platform/"),
    ]:
        login(client, name)
        page = client.get(path).content.decode()
        assert "Covers that no longer apply" in page, (name, path)
        assert "Alice was to cover <strong>Bob</strong>" in page
    login(client, "erin")
    assert "Covers that no longer apply" not in client.get("/").content.decode()


def test_the_rotation_page_with_covers_counts_its_queries(
    client: Client,
    platform: Rotation,
    cast: dict[str, Engineer],
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for hours in range(0, 40, 8):
        ask_for_cover(
            platform,
            covered=cast["alice"],
            role="primary",
            starts_at=THU_10 + timedelta(hours=hours),
            ends_at=THU_10 + timedelta(hours=hours + 4),
            by=cast["alice"].user,
        )
    login(client, "dave")
    with django_assert_max_num_queries(25):
        assert client.get("/rotations/platform/").status_code == 200
