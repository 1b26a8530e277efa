"""Concurrent writers cannot combine into a broken schedule: each write that changes who is on
call locks its rotation and checks the schedule as it will be after the write.

The race is forced: twenty threads wait at a barrier, then all write at once, in pairs that
are each valid alone and break the rules together (one engineer as primary and, in the same
hour, as secondary). Exactly one of each pair may be saved.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from django.db import connections

from rotation.actions import (
    RosterError,
    check_effective,
    create_override,
    future_overrides,
    save_roster,
)
from rotation.models import Engineer, Override, Rotation, schedule_of
from tests.conftest import NOW, make_engineer

PAIRS = 10


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_conflicting_overrides_save_exactly_the_valid_ones(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    helpers = [make_engineer(f"helper{number}") for number in range(PAIRS)]
    # Pair n: helper n as primary and as secondary over the same hour, n hours from now.
    writes = [
        (helper, role, NOW + timedelta(hours=number + 1))
        for number, helper in enumerate(helpers)
        for role in ("primary", "secondary")
    ]
    barrier = threading.Barrier(len(writes))
    saved: list[tuple[str, str]] = []
    refused: list[RosterError] = []
    failures: list[BaseException] = []

    def write(helper: Engineer, role: str, start: datetime) -> None:
        try:
            rotation = Rotation.objects.get(pk=platform.pk)
            barrier.wait(timeout=30)
            create_override(
                rotation,
                role=role,
                engineer=helper,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                by=None,
            )
            saved.append((helper.email, role))
        except RosterError as error:
            refused.append(error)
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=args) for args in writes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(saved) == len(refused) == PAIRS
    assert sorted(email for email, _ in saved) == sorted(h.email for h in helpers)
    assert all(p.code == "same-person" for error in refused for p in error.problems)
    assert Override.objects.count() == PAIRS
    # The invariants hold at every instant afterwards: nothing the saved overrides break.
    plan = schedule_of(platform)
    check_effective(platform, (plan, []), (plan, future_overrides(platform, NOW)), now=NOW)


@pytest.mark.django_db(transaction=True)
def test_concurrent_roster_saves_apply_one_after_the_other(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # Issue 12: on PostgreSQL two roster saves at once gave an IntegrityError (both deleted
    # and re-inserted the same memberships and eras). Ten threads save five orders at once.
    orders = [
        [cast["dave"], cast["alice"], cast["erin"], cast["bob"]],
        [cast["alice"], cast["dave"], cast["erin"], cast["bob"]],
        [cast["erin"], cast["alice"], cast["dave"], cast["bob"]],
        [cast["dave"], cast["erin"], cast["alice"], cast["bob"]],
        [cast["alice"], cast["erin"], cast["dave"], cast["bob"]],
    ] * 2
    barrier = threading.Barrier(len(orders))
    failures: list[BaseException] = []

    def save(order: list[Engineer]) -> None:
        try:
            rotation = Rotation.objects.get(pk=platform.pk)
            barrier.wait(timeout=30)
            save_roster(rotation, order, by=None)
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=save, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    # The last save wins whole: its order is the roster and the latest era's.
    members = list(
        platform.memberships.order_by("position").values_list("engineer__email", flat=True)
    )
    # (An order equal to the one in force adds no era, so take the latest, future or not.)
    era = platform.eras.order_by("starts_at").last()
    assert era is not None
    emails = dict(Engineer.objects.values_list("id", "email"))
    assert [emails[i] for i in era.member_ids] == members
    assert sorted(members) == sorted(e.email for e in orders[0])
