"""Materialised shifts: a year ahead, the past never rewritten, safe with two workers at once."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection, connections

from rotation.actions import materialise_shifts
from rotation.models import Rotation, Shift

pytestmark = pytest.mark.django_db


def test_shifts_are_stored_a_year_ahead(platform: Rotation, frozen_now: datetime) -> None:
    materialise_shifts(platform, now=frozen_now)
    last = Shift.objects.order_by("-ends_at").first()
    assert last is not None
    assert last.ends_at >= frozen_now + timedelta(days=366)


def test_every_instant_has_one_stored_primary_and_secondary(platform: Rotation) -> None:
    for role in ("primary", "secondary"):
        rows = list(Shift.objects.filter(rotation=platform, role=role).order_by("starts_at"))
        for before, after in itertools.pairwise(rows):
            assert before.ends_at == after.starts_at


def test_materialising_again_changes_nothing(platform: Rotation, frozen_now: datetime) -> None:
    materialise_shifts(platform, now=frozen_now)
    ids = set(Shift.objects.values_list("id", flat=True))
    assert materialise_shifts(platform, now=frozen_now) == (0, 0)
    assert set(Shift.objects.values_list("id", flat=True)) == ids


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_workers_materialising_at_once_store_each_shift_once(platform: Rotation) -> None:
    Shift.objects.all().delete()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            materialise_shifts(Rotation.objects.get(pk=platform.pk))
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    keys = list(Shift.objects.values_list("role", "engineer_id", "starts_at"))
    assert len(keys) == len(set(keys)) > 100
