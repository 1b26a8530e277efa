"""Periodic jobs: schedules are upserted by name, jobs are idempotent, the broker carries work."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django_q.brokers import get_broker
from django_q.models import Schedule

from portal.schedules import PERIODIC_JOBS
from rotation.jobs import materialise_all_shifts
from rotation.models import Rotation, Shift

pytestmark = pytest.mark.django_db


def test_sync_schedules_upserts_by_name_and_is_idempotent() -> None:
    Schedule.objects.create(
        name=PERIODIC_JOBS[0].name, func="old.path", schedule_type=Schedule.DAILY
    )
    Schedule.objects.create(
        name=PERIODIC_JOBS[0].name, func="old.path", schedule_type=Schedule.DAILY
    )
    call_command("sync_schedules", stdout=StringIO())
    call_command("sync_schedules", stdout=StringIO())
    rows = Schedule.objects.filter(name=PERIODIC_JOBS[0].name)
    assert rows.count() == 1
    assert rows[0].func == "rotation.jobs.materialise_all_shifts"
    assert Schedule.objects.count() == len(PERIODIC_JOBS)


def test_sync_schedules_points_rows_of_moved_jobs_at_their_new_home() -> None:
    """Rows made before the feed and PagerDuty jobs left rotation.jobs keep their name and id
    and get the new function path; a row of ours that left the list is dropped."""
    moved = {
        "publish calendars": "rotation.jobs.publish_all_calendars",
        "sync PagerDuty escalation policies": "rotation.jobs.sync_pagerduty_policies",
        "import PagerDuty schedule feeds": "rotation.jobs.import_webcal_feeds",
    }
    ids = {
        name: Schedule.objects.create(name=name, func=func, schedule_type=Schedule.MINUTES).pk
        for name, func in moved.items()
    }
    Schedule.objects.create(name="gone", func="pagerduty.jobs.gone", schedule_type=Schedule.DAILY)
    Schedule.objects.create(name="theirs", func="other.app.job", schedule_type=Schedule.DAILY)
    call_command("sync_schedules", stdout=StringIO())
    funcs = dict(Schedule.objects.values_list("name", "func"))
    assert {name: funcs[name] for name in moved} == {
        "publish calendars": "feeds.jobs.publish_all_calendars",
        "sync PagerDuty escalation policies": "pagerduty.jobs.sync_pagerduty_policies",
        "import PagerDuty schedule feeds": "pagerduty.jobs.import_webcal_feeds",
    }
    assert {name: Schedule.objects.get(name=name).pk for name in moved} == ids
    assert "gone" not in funcs
    assert funcs["theirs"] == "other.app.job"


def test_every_periodic_job_points_at_a_real_function() -> None:
    from importlib import import_module

    for job in PERIODIC_JOBS:
        module, _, name = job.func.rpartition(".")
        assert callable(getattr(import_module(module), name))
        assert job.why


def test_materialise_job_moves_the_horizon_and_is_idempotent(
    platform: Rotation, frozen_now: datetime
) -> None:
    last_before = Shift.objects.order_by("-ends_at").first()
    assert last_before is not None
    with time_machine.travel(frozen_now + timedelta(days=30), tick=False):
        assert "created" in materialise_all_shifts()
        count = Shift.objects.count()
        assert materialise_all_shifts() == "materialised shifts: 0 created, 0 removed"
    assert Shift.objects.count() == count
    assert Shift.objects.order_by("-ends_at").first().ends_at > last_before.ends_at  # type: ignore[union-attr]


def test_the_configured_broker_carries_a_task() -> None:
    """On the ORM broker by default, on Redis when REDIS_URL is set (CI runs both)."""
    broker = get_broker("portal-test-queue")
    broker.purge_queue()
    broker.enqueue("a signed task package")
    [task] = broker.dequeue()
    payload = task[1].decode() if isinstance(task[1], bytes) else task[1]  # Redis gives bytes
    assert payload == "a signed task package"
    broker.acknowledge(task[0])
    broker.purge_queue()


def test_every_install_has_a_managers_group_that_can_edit_rosters() -> None:
    from django.contrib.auth.models import Group

    managers = Group.objects.get(name="Managers")
    codenames = set(managers.permissions.values_list("codename", flat=True))
    assert {"change_rotation", "add_membership", "add_override", "add_shadowbooking"} <= codenames
    assert "delete_shift" not in codenames


def test_publish_job_publishes_then_changes_nothing_until_the_schedule_does(
    platform: Rotation, frozen_now: datetime
) -> None:
    from feeds.jobs import publish_all_calendars
    from feeds.models import PublishedShift

    assert publish_all_calendars().startswith("calendars published up to 2028-01")
    published = {row.uid: (row.sequence, row.modified_at) for row in PublishedShift.objects.all()}
    assert len(published) > 100
    with time_machine.travel(frozen_now + timedelta(hours=1), tick=False):
        publish_all_calendars()
    assert {r.uid: (r.sequence, r.modified_at) for r in PublishedShift.objects.all()} == published
