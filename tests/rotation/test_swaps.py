"""Stint swaps, as rules: who may propose, accept, decline and cancel; what a swap changes in
the one effective schedule every reader uses; and that each person is told once.

The Platform rotation (tests/conftest.py) hands off Tuesdays 10:00 in Los Angeles; its order is
Dave, Alice, Erin, Bob, so the stints ahead (secondary week, then primary) begin: Bob 8 Dec,
Dave 15 Dec, Alice 22 Dec, Erin 29 Dec, Bob 5 Jan, Dave 12 Jan, Alice 19 Jan.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client

from portal.models import Notice
from portal.notices import send_pending
from rotation import schedule
from rotation.actions import RosterError, save_roster
from rotation.effective import effective_schedule
from rotation.models import Engineer, Rotation, Swap, SwapStatus, schedule_of
from rotation.oncall import on_call
from rotation.swaps import (
    accept_swap,
    cancel_swap,
    decline_swap,
    handoff_on,
    make_swap,
    propose_swap,
)
from tests.conftest import NOW, login

pytestmark = pytest.mark.django_db

ALICE_STINT = date(2026, 12, 22)
BOB_STINT = date(2027, 1, 5)


def handoff(rotation: Rotation, day: date) -> datetime:
    plan = schedule_of(rotation)
    assert plan is not None
    found = handoff_on(plan, day)
    assert found is not None
    return found


def propose(platform: Rotation, cast: dict[str, Engineer], **kwargs: object) -> Swap:
    """Alice offers her stint from 22 Dec for Bob's from 5 Jan."""
    return propose_swap(
        platform,
        cast["alice"],
        handoff(platform, ALICE_STINT),
        cast["bob"],
        handoff(platform, BOB_STINT),
        by=cast["alice"].user,
        **kwargs,  # type: ignore[arg-type]
    )


def holders(rotation: Rotation, day: date) -> tuple[str, str]:
    """(primary, secondary) by name in the week from the handoff on ``day``."""
    start = handoff(rotation, day)
    effective = effective_schedule(rotation, start, start + timedelta(hours=1))
    by_role = {s.role.value: effective.people[s.member].name for s in effective.stretches}
    return by_role["primary"], by_role["secondary"]


def test_a_proposal_changes_nothing_until_the_partner_accepts(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    swap = propose(platform, cast, note="a wedding")
    assert swap.status == SwapStatus.PROPOSED
    assert holders(platform, ALICE_STINT) == ("Dave", "Alice")
    [notice] = Notice.objects.all()
    assert notice.to == "bob@example.com"
    assert "Alice proposes to swap" in notice.body and "a wedding" in notice.body


def test_accepted_swap_exchanges_whole_stints_and_keeps_the_chain(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    accept_swap(propose(platform, cast), by=cast["bob"].user)
    weeks = [date(2026, 12, 22) + timedelta(weeks=n) for n in range(5)]
    assert [holders(platform, day) for day in weeks] == [
        ("Dave", "Bob"),  # Bob takes Alice's secondary week...
        ("Bob", "Erin"),  # ...and the primary week after it
        ("Erin", "Alice"),  # Alice takes Bob's secondary week...
        ("Alice", "Dave"),  # ...and his primary week
        ("Dave", "Alice"),
    ]
    for this, following in pairwise(weeks):
        assert holders(platform, this)[1] == holders(platform, following)[0]


def test_swap_shows_as_reason_swap_covering_the_person_it_replaced(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    accept_swap(propose(platform, cast), by=cast["bob"].user)
    login(client, "erin")
    start = handoff(platform, ALICE_STINT)
    answer = client.get(
        "/api/v1/schedule",
        {
            "rotation": "platform",
            "from": start.isoformat(),
            "to": (start + timedelta(days=7)).isoformat(),
        },
    ).json()
    secondary = next(s for s in answer if s["role"] == "secondary")
    assert secondary["person"]["email"] == "bob@example.com"
    assert secondary["reason"] == "swap"
    assert secondary["covering"] == {"name": "Alice", "email": "alice@example.com"}
    [oncall] = on_call([platform], start + timedelta(days=1))
    assert oncall.secondary == cast["bob"]


def test_swap_appears_in_both_peoples_calendar_feeds(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    from tests.feeds.test_feeds import event_at, fetch, token_of

    accept_swap(propose(platform, cast), by=cast["bob"].user)
    week = handoff(platform, ALICE_STINT) + timedelta(days=1)
    _, body, _ = fetch(client, token_of(cast["bob"]), "my-shifts")
    # A swap is no cover: the event says whose week Bob took in exchange.
    assert str(event_at(body, week)["SUMMARY"]) == (
        "Secondary on call: Bob (Platform), swap with Alice"
    )
    _, body, _ = fetch(client, token_of(cast["alice"]), "my-shifts")
    later = handoff(platform, BOB_STINT) + timedelta(days=1)
    assert str(event_at(body, later)["SUMMARY"]) == (
        "Secondary on call: Alice (Platform), swap with Bob"
    )


def test_decline_leaves_the_schedule_and_tells_the_proposer(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    swap = decline_swap(propose(platform, cast), by=cast["bob"].user)
    assert swap.status == SwapStatus.DECLINED
    assert holders(platform, ALICE_STINT) == ("Dave", "Alice")
    assert Notice.objects.filter(key__startswith="swap-declined", to="alice@example.com").exists()
    with pytest.raises(RosterError) as refused:
        accept_swap(swap, by=cast["bob"].user)
    assert refused.value.problems[0].code == "swap-decided"


@pytest.mark.parametrize("who", ["alice", "erin", "dave"])
def test_only_the_partner_or_a_manager_accepts_or_declines(
    platform: Rotation, cast: dict[str, Engineer], who: str
) -> None:
    swap = propose(platform, cast)
    with pytest.raises(PermissionDenied):
        accept_swap(swap, by=cast[who].user)
    with pytest.raises(PermissionDenied):
        decline_swap(swap, by=cast[who].user)
    assert Swap.objects.get().status == SwapStatus.PROPOSED


def test_a_manager_accepts_for_the_partner(platform: Rotation, cast: dict[str, Engineer]) -> None:
    accept_swap(propose(platform, cast), by=cast["carol"].user)
    assert holders(platform, ALICE_STINT) == ("Dave", "Bob")


@pytest.mark.parametrize("who", ["erin", "dave"])
def test_only_the_two_or_a_manager_cancel(
    platform: Rotation, cast: dict[str, Engineer], who: str
) -> None:
    swap = propose(platform, cast)
    with pytest.raises(PermissionDenied):
        cancel_swap(swap, by=cast[who].user)
    assert cancel_swap(swap, by=cast["bob"].user).status == SwapStatus.CANCELLED


def test_cancelling_an_accepted_swap_gives_back_the_rostered_weeks(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    swap = accept_swap(propose(platform, cast), by=cast["bob"].user)
    cancel_swap(swap, by=cast["alice"].user)
    assert holders(platform, ALICE_STINT) == ("Dave", "Alice")
    assert holders(platform, BOB_STINT) == ("Erin", "Bob")


def test_a_proposal_is_withdrawn_even_after_a_stint_started_but_an_agreed_swap_stands(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    proposed = propose(platform, cast)
    agreed = make_swap(
        platform,
        cast["dave"],
        handoff(platform, date(2026, 12, 15)),
        cast["erin"],
        handoff(platform, date(2026, 12, 29)),
        by=cast["carol"].user,
    )
    after_both_start = handoff(platform, BOB_STINT) + timedelta(hours=1)
    assert cancel_swap(proposed, by=cast["alice"].user, now=after_both_start).status == "cancelled"
    with pytest.raises(RosterError) as refused:
        cancel_swap(agreed, by=cast["carol"].user, now=after_both_start)
    assert refused.value.problems[0].code == "swap-started"


def test_nobody_proposes_for_someone_else(platform: Rotation, cast: dict[str, Engineer]) -> None:
    for who in ("erin", "carol"):
        with pytest.raises(PermissionDenied):
            propose_swap(
                platform,
                cast["alice"],
                handoff(platform, ALICE_STINT),
                cast["bob"],
                handoff(platform, BOB_STINT),
                by=cast[who].user,
            )
    assert not Swap.objects.exists() and not Notice.objects.exists()


def test_a_manager_makes_a_swap_directly_and_both_are_told(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    make_swap(
        platform,
        cast["alice"],
        handoff(platform, ALICE_STINT),
        cast["bob"],
        handoff(platform, BOB_STINT),
        by=cast["carol"].user,
    )
    assert holders(platform, ALICE_STINT) == ("Dave", "Bob")
    told = set(Notice.objects.filter(key__startswith="swap-accepted").values_list("to", flat=True))
    assert told == {"alice@example.com", "bob@example.com"}
    with pytest.raises(PermissionDenied):
        make_swap(
            platform,
            cast["dave"],
            handoff(platform, date(2026, 12, 15)),
            cast["erin"],
            handoff(platform, date(2026, 12, 29)),
            by=cast["alice"].user,
        )


def test_a_stint_that_has_started_cannot_be_swapped(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # Erin's stint began on 1 Dec (secondary this week).
    with pytest.raises(RosterError) as refused:
        propose_swap(
            platform,
            cast["erin"],
            handoff(platform, date(2026, 12, 1)),
            cast["bob"],
            handoff(platform, BOB_STINT),
            by=cast["erin"].user,
        )
    assert refused.value.problems[0].code == "swap-started"


def test_a_swap_that_would_put_one_person_in_both_roles_is_refused_naming_the_swap(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # Dave's stint from 12 Jan for Alice's from 22 Dec: Dave, primary from 22 Dec, would be
    # secondary beside himself.
    with pytest.raises(RosterError) as refused:
        propose_swap(
            platform,
            cast["alice"],
            handoff(platform, ALICE_STINT),
            cast["dave"],
            handoff(platform, date(2027, 1, 12)),
            by=cast["alice"].user,
        )
    assert "by a swap (with Alice)" in str(refused.value)
    assert not Swap.objects.exists()


def test_a_stint_that_is_not_theirs_is_refused(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    with pytest.raises(RosterError) as refused:
        propose_swap(
            platform,
            cast["alice"],
            handoff(platform, BOB_STINT),  # Bob's, not Alice's
            cast["bob"],
            handoff(platform, ALICE_STINT),
            by=cast["alice"].user,
        )
    assert refused.value.problems[0].code == "swap-stint"


def test_accept_is_refused_when_someone_no_longer_holds_the_stint(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    first = propose(platform, cast)
    # Meanwhile Alice swaps the same stint with Erin, and Erin accepts.
    other = propose_swap(
        platform,
        cast["alice"],
        handoff(platform, ALICE_STINT),
        cast["erin"],
        handoff(platform, date(2026, 12, 29)),
        by=cast["alice"].user,
    )
    accept_swap(other, by=cast["erin"].user)
    with pytest.raises(RosterError) as refused:
        accept_swap(first, by=cast["bob"].user)
    assert refused.value.problems[0].code == "swap-stint"
    assert Swap.objects.get(pk=first.pk).status == SwapStatus.PROPOSED


def test_a_roster_edit_that_breaks_an_accepted_swap_flags_it(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    swap = accept_swap(propose(platform, cast), by=cast["bob"].user)
    # Erin and Alice trade places from now: Alice no longer holds the stint from 22 Dec.
    save_roster(platform, [cast[n] for n in ("dave", "erin", "alice", "bob")], [], by=None)
    swap.refresh_from_db()
    assert swap.flagged_at is not None
    assert swap.as_schedule().ref in {s.ref for s in schedule.broken_swaps(schedule_of(platform))}  # type: ignore[arg-type]


def test_every_notice_is_written_once_and_sent_once_when_the_job_runs_twice(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    accept_swap(propose(platform, cast), by=cast["bob"].user)
    keys = list(Notice.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == 3  # proposed to Bob; confirmed to each
    mail.outbox.clear()
    send_pending(now=NOW)
    send_pending(now=NOW)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "alice@example.com",
        "bob@example.com",
        "bob@example.com",
    ]
