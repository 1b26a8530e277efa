"""The managers' jobs page: each periodic job's cadence and why, last and next run, and last
failure, from django-q2's rows; managers only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django_q.models import Schedule, Task

from portal.job_runs import job_runs
from portal.schedules import PERIODIC_JOBS
from rotation.models import Engineer
from tests.conftest import login

pytestmark = pytest.mark.django_db

RAN = datetime(2026, 12, 2, 16, 55, tzinfo=UTC)


def ran(func: str, stopped: datetime, *, group: str | None = None, error: str = "") -> Task:
    return Task.objects.create(
        id=uuid.uuid4().hex,
        name=f"task-{stopped:%H%M%S}",
        func=func,
        group=group,
        started=stopped - timedelta(seconds=2),
        stopped=stopped,
        success=not error,
        result=error or "done",
    )


def test_the_page_shows_last_and_next_runs_and_the_last_failure(
    client: Client, cast: dict[str, Engineer], django_assert_max_num_queries: Any
) -> None:
    call_command("sync_schedules", stdout=StringIO())
    Schedule.objects.filter(name="send email notices").update(next_run=RAN + timedelta(minutes=5))
    ran("portal.notices.send_pending", RAN - timedelta(hours=3), group="send email notices",
        error="SMTPServerDisconnected: Connection unexpectedly closed\nTraceback ...")  # fmt: skip
    ran("portal.notices.send_pending", RAN - timedelta(hours=1), group="send email notices")
    ran("portal.notices.send_pending", RAN)  # queued on commit by an action: no group
    for _ in range(30):
        ran("rotation.jobs.materialise_all_shifts", RAN - timedelta(days=1), group="x")
    login(client, "carol")
    with django_assert_max_num_queries(12):
        page = client.get("/jobs/")
    assert page.status_code == 200
    rows = {row.job.name: row for row in page.context["jobs"]}
    assert [row.job.name for row in page.context["jobs"]] == [j.name for j in PERIODIC_JOBS]
    notices = rows["send email notices"]
    assert (notices.last_run, notices.last_ok) == (RAN, True)
    assert notices.next_run == RAN + timedelta(minutes=5)
    assert notices.failed_at == RAN - timedelta(hours=3)
    assert notices.failure == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert notices.every == "5 minutes"
    text = page.content.decode()
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in text
    assert "Traceback" not in text
    assert "sends the notices actions wrote" in text.lower()
    sessions = rows["clear expired sessions"]
    assert (sessions.last_run, sessions.failed_at, sessions.every) == (None, None, "a day")


def test_the_jobs_are_read_in_two_queries(django_assert_num_queries: Any) -> None:
    for job in PERIODIC_JOBS:
        ran(job.func, RAN, group=job.name, error="Boom")
        ran(job.func, RAN - timedelta(minutes=1), group=job.name)
    with django_assert_num_queries(2):
        rows = job_runs()
    assert all(row.failure == "Boom" and row.last_ok is False for row in rows)


def test_only_managers_see_the_jobs(client: Client, cast: dict[str, Engineer]) -> None:
    login(client, "alice")
    assert client.get("/jobs/").status_code == 403
    assert "/jobs/" not in client.get("/").content.decode()
    login(client, "carol")
    assert client.get("/jobs/").status_code == 200
    assert "/jobs/" in client.get("/").content.decode()
