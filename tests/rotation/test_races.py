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
from django.test import Client

from rotation.actions import (
    RosterError,
    check_effective,
    create_override,
    future_overrides,
    save_roster,
)
from rotation.models import Engineer, Override, Rotation, schedule_of
from tests.conftest import NOW, login, make_engineer
from tests.rotation.test_roster_admin import change_url, roster_form

PAIRS = 10


def five_orders(cast: dict[str, Engineer]) -> list[list[Engineer]]:
    """Five valid roster orders of the same four people."""
    names = ["dave alice erin bob", "alice dave erin bob", "erin alice dave bob"]
    names += ["dave erin alice bob", "alice erin dave bob"]
    return [[cast[name] for name in order.split()] for order in names]


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
    orders = five_orders(cast) * 2
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


@pytest.mark.django_db(transaction=True)
def test_of_five_admin_forms_opened_on_one_roster_and_saved_at_once_exactly_one_saves(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # Issue 12: a stale admin rotation form, saved second, replaced the newer roster or failed
    # with no visible error. The version check and the save share one lock, so of five forms
    # opened on the same roster and posted together, one saves and four are told why not.
    # Five orders that all differ from the one in force: a form that saves the roster as it
    # is changes nothing, so a second form opened on it would rightly save too.
    current = list(platform.memberships.order_by("position").values_list("engineer", flat=True))
    orders = [o for o in five_orders(cast) if [e.pk for e in o] != current]
    orders.append([cast[name] for name in ["erin", "dave", "alice", "bob"]])
    assert len(orders) == 5
    forms = [roster_form(platform, order) for order in orders]
    clients = [Client() for _ in forms]
    for client in clients:
        login(client, "carol")
    barrier = threading.Barrier(len(forms))
    statuses: list[int] = []

    def post(client: Client, form: dict[str, str]) -> None:
        try:
            barrier.wait(timeout=30)
            statuses.append(client.post(change_url(platform), form).status_code)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=post, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 200, 200, 302]
    members = list(platform.memberships.order_by("position").values_list("engineer", flat=True))
    assert [[e.pk for e in order] for order in orders].count(members) == 1
