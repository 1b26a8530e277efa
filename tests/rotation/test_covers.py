"""Covers: asked for, offered, taken, declined, cancelled and assigned, by the right people.

The cast's Platform rotation (tests/conftest.py): week 1 (from Tue 1 Dec 10:00 PST, now) is
alice primary, erin secondary; week 2 erin/bob; week 3 bob/dave; week 4 dave/alice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from portal.models import AuditEntry
from rotation.actions import RosterError
from rotation.covers import (
    accept_cover,
    ask_for_cover,
    assign_cover,
    cancel_cover,
    decline_cover,
    offer_cover,
)
from rotation.models import CoverRequest, CoverStatus, Engineer, Override, Rotation
from tests.conftest import login

# Thursday 3 December, 10:00 to 14:00 in Los Angeles: alice is primary.
THU_10 = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
THU_14 = THU_10 + timedelta(hours=4)


def ask(platform: Rotation, cast: dict[str, Engineer], **kwargs: object) -> CoverRequest:
    args: dict[str, object] = {
        "covered": cast["alice"],
        "role": "primary",
        "starts_at": THU_10,
        "ends_at": THU_14,
        "note": "dentist",
        "by": cast["alice"].user,
    }
    return ask_for_cover(platform, **(args | kwargs))  # type: ignore[arg-type]


def test_an_ask_taken_becomes_a_cover_tied_to_the_person_it_covers(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    request = ask(platform, cast)
    taken = accept_cover(request, by=cast["dave"].user)
    assert taken.status == CoverStatus.ACCEPTED
    override = Override.objects.get()
    assert (override.engineer, override.covers, override.reason) == (
        cast["dave"],
        cast["alice"],
        "dentist",
    )
    login(client, "erin")
    stretches = client.get(
        "/api/v1/schedule",
        {"rotation": "platform", "from": "2026-12-03T18:00:00Z", "to": "2026-12-03T22:00:00Z"},
    ).json()
    primary = [s for s in stretches if s["role"] == "primary"]
    cover = next(s for s in primary if s["reason"] == "cover")
    assert cover["person"]["email"] == "dave@example.com"
    assert cover["covering"]["email"] == "alice@example.com"
    assert (cover["start"], cover["end"]) == ("2026-12-03T18:00:00Z", "2026-12-03T22:00:00Z")
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "cover.asked" in actions and "cover.accepted" in actions


def test_nobody_asks_for_cover_of_a_window_they_do_not_hold(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    with pytest.raises(RosterError) as refused:
        ask(platform, cast, covered=cast["dave"], by=cast["dave"].user)
    assert refused.value.problems[0].code == "cover-not-yours"
    assert "Thu 3 Dec 10:00 to Thu 3 Dec 14:00 PST" in str(refused.value)


def test_a_cover_lasts_hours_to_days_and_starts_in_the_future(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    with pytest.raises(RosterError, match="at most 14 days"):
        ask(platform, cast, ends_at=THU_10 + timedelta(days=15))
    with pytest.raises(RosterError, match="in the future"):
        ask(platform, cast, starts_at=THU_10 - timedelta(days=2))


def test_nobody_asks_or_offers_for_someone_else(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    with pytest.raises(PermissionDenied):
        ask(platform, cast, by=cast["dave"].user)
    with pytest.raises(PermissionDenied):
        offer_cover(
            platform,
            taker=cast["dave"],
            covered=cast["alice"],
            role="primary",
            starts_at=THU_10,
            ends_at=THU_14,
            by=cast["alice"].user,
        )


def test_a_named_ask_is_taken_or_declined_by_the_person_named_only(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    request = ask(platform, cast, taker=cast["dave"])
    with pytest.raises(PermissionDenied):
        accept_cover(request, by=cast["bob"].user)
    with pytest.raises(PermissionDenied):
        decline_cover(request, by=cast["bob"].user)
    declined = decline_cover(request, by=cast["dave"].user)
    assert declined.status == CoverStatus.DECLINED
    with pytest.raises(RosterError, match="already declined"):
        accept_cover(request, by=cast["dave"].user)
    assert not Override.objects.exists()


def test_an_offer_is_accepted_by_the_person_it_covers(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    offer = offer_cover(
        platform,
        taker=cast["dave"],
        covered=cast["alice"],
        role="primary",
        starts_at=THU_10,
        ends_at=THU_14,
        by=cast["dave"].user,
    )
    with pytest.raises(PermissionDenied):
        accept_cover(offer, by=cast["dave"].user)
    accept_cover(offer, by=cast["alice"].user)
    assert Override.objects.get().covers == cast["alice"]


def test_an_offer_that_would_break_a_rule_is_refused_and_nothing_written(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # erin is secondary this week: she cannot also be primary.
    with pytest.raises(RosterError, match="primary and secondary must be two different people"):
        offer_cover(
            platform,
            taker=cast["erin"],
            covered=cast["alice"],
            role="primary",
            starts_at=THU_10,
            ends_at=THU_14,
            by=cast["erin"].user,
        )
    with pytest.raises(RosterError) as refused:
        ask(platform, cast, taker=cast["alice"])
    assert refused.value.problems[0].code == "cover-self"


def test_cancelling_an_accepted_cover_removes_its_override(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    request = ask(platform, cast)
    accept_cover(request, by=cast["dave"].user)
    with pytest.raises(PermissionDenied):
        cancel_cover(request, by=cast["bob"].user)
    cancelled = cancel_cover(request, by=cast["dave"].user)
    assert cancelled.status == CoverStatus.CANCELLED
    assert not Override.objects.exists()
    assert AuditEntry.objects.filter(action="override.deleted").count() == 1


def test_a_cover_that_has_started_cannot_be_cancelled(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    request = ask(platform, cast)
    accept_cover(request, by=cast["dave"].user)
    with pytest.raises(RosterError, match="has started"):
        cancel_cover(request, by=cast["alice"].user, now=THU_10 + timedelta(hours=1))


def test_a_manager_assigns_a_cover_and_nobody_else_can(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    args = {
        "taker": cast["dave"],
        "covered": cast["alice"],
        "role": "primary",
        "starts_at": THU_10,
        "ends_at": THU_14,
    }
    with pytest.raises(PermissionDenied):
        assign_cover(platform, **args, by=cast["alice"].user)  # type: ignore[arg-type]
    request = assign_cover(platform, **args, by=cast["carol"].user)  # type: ignore[arg-type]
    assert request.status == CoverStatus.ACCEPTED
    assert request.override is not None and request.override.covers == cast["alice"]
