"""Two people taking the same open ask at once: the race is forced with threads and a
barrier (it is real on PostgreSQL; SQLite serialises writers anyway). Exactly one takes it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from rotation.actions import RosterError
from rotation.covers import accept_cover, ask_for_cover
from rotation.models import CoverRequest, CoverStatus, Engineer, Override, Rotation
from tests.conftest import make_engineer

THU_10 = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # alice is primary


@pytest.mark.django_db(transaction=True)
def test_of_two_people_taking_one_open_ask_at_once_exactly_one_gets_it(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    ask = ask_for_cover(
        platform,
        covered=cast["alice"],
        role="primary",
        starts_at=THU_10,
        ends_at=THU_10 + timedelta(hours=4),
        by=cast["alice"].user,
    )
    takers = [cast["dave"], make_engineer("frank"), make_engineer("grace")]
    barrier = threading.Barrier(len(takers))
    taken: list[str] = []
    refused: list[RosterError] = []
    failures: list[BaseException] = []

    def take(person: Engineer) -> None:
        try:
            request = CoverRequest.objects.get(pk=ask.pk)
            barrier.wait(timeout=30)
            accept_cover(request, by=person.user)
            taken.append(person.email)
        except RosterError as error:
            refused.append(error)
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(person,)) for person in takers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(taken) == 1 and len(refused) == len(takers) - 1
    assert all(p.code == "cover-decided" for error in refused for p in error.problems)
    override = Override.objects.get()
    assert override.engineer.email == taken[0] and override.covers == cast["alice"]
    ask.refresh_from_db()
    assert ask.status == CoverStatus.ACCEPTED and ask.override == override
