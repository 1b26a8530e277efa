"""A cover stands in for a person: when a roster edit or a swap takes the window from them,
the cover is flagged and both people and the managers are told once, never moved onto the
window's new holder."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.core import mail

from portal.notices import send_pending
from rotation.actions import save_roster
from rotation.covers import accept_cover, ask_for_cover
from rotation.effective import effective_schedule
from rotation.models import Engineer, Override, Rotation, schedule_of
from rotation.schedule import Duty
from rotation.swaps import accept_swap, handoff_on, propose_swap


def cover(platform: Rotation, covered: Engineer, taker: Engineer, start: datetime) -> Override:
    """``taker`` covers ``covered`` as primary for six hours from ``start``."""
    request = ask_for_cover(
        platform,
        covered=covered,
        role="primary",
        starts_at=start,
        ends_at=start + timedelta(hours=6),
        by=covered.user,
    )
    accept_cover(request, by=taker.user)
    return Override.objects.get()


def flag_mails() -> list[str]:
    return sorted(m.to[0] for m in mail.outbox if "a cover no longer applies" in m.subject)


def assert_flagged_not_moved(platform: Rotation, flagged: Override) -> None:
    flagged.refresh_from_db()
    assert flagged.flagged_at is not None
    effective = effective_schedule(platform, flagged.starts_at, flagged.ends_at)
    holder = effective.holder(Duty.PRIMARY, flagged.starts_at)
    assert holder is not None and flagged.covers is not None
    assert holder.member != flagged.covers.email
    assert holder.reason != "cover"  # not silently covering whoever holds the window now
    send_pending()
    send_pending()  # the job run twice: still one email each
    people = {flagged.engineer.email, flagged.covers.email, "carol@example.com"}
    assert flag_mails() == sorted(people)


def test_a_roster_edit_flags_a_cover_whose_person_no_longer_holds_the_window(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # bob is primary in week 3 (from Tue 15 Dec); alice covers him on Wed 16 Dec.
    bobs = cover(platform, cast["bob"], cast["alice"], datetime(2026, 12, 16, 20, tzinfo=UTC))
    # The new order gives week 3 to dave (primary) and alice (secondary).
    order = [cast["dave"], cast["alice"], cast["bob"], cast["erin"]]
    save_roster(platform, order, by=cast["carol"].user)
    effective = effective_schedule(platform, bobs.starts_at, bobs.ends_at)
    holder = effective.holder(Duty.PRIMARY, bobs.starts_at)
    assert holder is not None and holder.member == "dave@example.com"
    assert_flagged_not_moved(platform, bobs)


def test_an_accepted_swap_flags_a_cover_of_the_stint_given_away(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # erin's next stint: secondary from 29 Dec, primary from 5 Jan; dave covers her on 6 Jan.
    erins_cover = cover(platform, cast["erin"], cast["dave"], datetime(2027, 1, 6, 18, tzinfo=UTC))
    plan = schedule_of(platform)
    assert plan is not None
    erins, daves = handoff_on(plan, date(2026, 12, 29)), handoff_on(plan, date(2026, 12, 15))
    assert erins is not None and daves is not None
    swap = propose_swap(platform, cast["erin"], erins, cast["dave"], daves, by=cast["erin"].user)
    accept_swap(swap, by=cast["dave"].user)
    assert_flagged_not_moved(platform, erins_cover)
