"""Two overlapping ranges of time off sent at once cannot both be saved: recording locks the
engineer's row and checks for overlap under it. The race is forced with a barrier."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connections

from rotation.actions import RosterError
from rotation.models import Engineer, TimeOff
from rotation.timeoff import record_time_off
from tests.conftest import NOW

WRITERS = 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_time_off_saves_exactly_one(cast: dict[str, Engineer]) -> None:
    alice = cast["alice"]
    barrier = threading.Barrier(WRITERS)
    saved: list[int] = []
    refused: list[str] = []
    failures: list[BaseException] = []

    def write(number: int) -> None:
        # Every range contains 10 January, so any two overlap.
        first = date(2027, 1, 10) - timedelta(days=number)
        try:
            me = Engineer.objects.select_related("user").get(pk=alice.pk)
            barrier.wait(timeout=30)
            row = record_time_off(me, first, first + timedelta(days=WRITERS), by=me.user, now=NOW)
            saved.append(row.id)
        except RosterError as error:
            refused.append(error.problems[0].code)
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(saved) == 1
    assert refused == ["time-off-overlap"] * (WRITERS - 1)
    assert TimeOff.objects.count() == 1
