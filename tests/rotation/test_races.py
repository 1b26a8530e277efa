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

from rotation.actions import RosterError, check_effective, create_override, future_overrides
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
