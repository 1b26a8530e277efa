"""The admin's cover form takes times in the rotation's zone, as the team says them, and its
errors name times there too: the issue found times typed in UTC for a Pacific rotation and
errors such as "... from 2026-12-29T18:00:00+00:00"."""

from __future__ import annotations

from datetime import UTC, datetime

from django.test import Client

from rotation.models import CoverRequest, CoverStatus, Engineer, Override, Rotation
from tests.conftest import login


def cover_form(
    rotation: Rotation, covered: Engineer, taker: Engineer, start: str, end: str
) -> dict[str, str]:
    """The admin's cover form as a browser posts it, on Thursday 3 December."""
    return {
        "rotation": str(rotation.pk),
        "role": "primary",
        "covered": str(covered.pk),
        "taker": str(taker.pk),
        "starts_at_0": "2026-12-03",
        "starts_at_1": start,
        "ends_at_0": "2026-12-03",
        "ends_at_1": end,
        "note": "dentist",
    }


def test_a_manager_in_london_assigns_a_cover_in_the_rotations_zone(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["carol"].pk).update(time_zone="Europe/London")
    login(client, "carol")
    form = client.get("/admin/rotation/coverrequest/add/").content.decode()
    assert "In the rotation's own zone (Platform: America/Los_Angeles)." in form
    data = cover_form(platform, cast["alice"], cast["dave"], "10:00", "14:00")
    assert client.post("/admin/rotation/coverrequest/add/", data).status_code == 302
    cover = CoverRequest.objects.get()
    assert cover.status == CoverStatus.ACCEPTED
    assert cover.starts_at == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # 10:00 PST, not UTC
    override = Override.objects.get()
    assert (override.engineer, override.covers) == (cast["dave"], cast["alice"])
    listed = client.get("/admin/rotation/coverrequest/").content.decode()
    assert "Thu 3 Dec 2026 10:00 PST (your time Thu 18:00 GMT)" in listed


def test_a_refused_cover_names_people_and_times_in_the_rotations_zone(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "carol")
    # erin is this week's secondary: she cannot cover the primary as well.
    data = cover_form(platform, cast["alice"], cast["erin"], "10:00", "14:00")
    page = client.post("/admin/rotation/coverrequest/add/", data).content.decode()
    assert (
        "Erin would be primary and secondary from Thu 3 Dec 2026 10:00 PST to "
        "Thu 3 Dec 2026 14:00 PST"
    ) in page
    assert "+00:00" not in page and "erin@example.com would" not in page
    # dave holds nothing this week: nobody can cover him.
    data = cover_form(platform, cast["dave"], cast["bob"], "10:00", "14:00")
    page = client.post("/admin/rotation/coverrequest/add/", data).content.decode()
    assert (
        "Dave is not primary of Platform for all of Thu 3 Dec 10:00 to Thu 3 Dec 14:00 PST" in page
    )
    assert not CoverRequest.objects.exists()
