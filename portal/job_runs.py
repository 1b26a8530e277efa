"""What the managers' jobs page shows: each periodic job with its last run, next run and last
failure, read from django-q2's Schedule and Task rows in two queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django_q.models import Schedule, Task

from portal.schedules import PERIODIC_JOBS, PeriodicJob


@dataclass
class JobRuns:
    job: PeriodicJob
    next_run: datetime | None = None
    last_run: datetime | None = None
    last_ok: bool | None = None
    failed_at: datetime | None = None
    failure: str = ""

    @property
    def every(self) -> str:
        """The cadence as people say it: "5 minutes", "an hour", "6 hours", "a day"."""
        minutes = self.job.minutes
        for size, unit, one in ((24 * 60, "day", "a day"), (60, "hour", "an hour")):
            if minutes % size == 0:
                count = minutes // size
                return one if count == 1 else f"{count} {unit}s"
        return "a minute" if minutes == 1 else f"{minutes} minutes"


def first_line(result: object) -> str:
    """The first line of a failure's result (django-q2 stores the traceback as text)."""
    lines = str(result or "").strip().splitlines()
    return lines[0][:300] if lines else "no error recorded"


def job_runs() -> list[JobRuns]:
    """Every PERIODIC_JOB's runs. A task belongs to a job by its group (the scheduler sets it
    to the schedule's name) or, when queued by an action on commit, by its function."""
    rows = {job.name: JobRuns(job) for job in PERIODIC_JOBS}
    by_func = {job.func: job.name for job in PERIODIC_JOBS}
    for name, next_run in Schedule.objects.filter(name__in=rows).values_list("name", "next_run"):
        rows[name].next_run = next_run
    tasks = Task.objects.filter(Q(group__in=rows) | Q(func__in=by_func)).order_by("-stopped")
    # Newest first, stopping once every job has both answers: a job that never failed reads
    # every kept row (django-q2 keeps the last 500 successes, Q_CLUSTER save_limit).
    unanswered = set(rows)
    for group, func, success, stopped, result in tasks.values_list(
        "group", "func", "success", "stopped", "result"
    ).iterator(chunk_size=200):
        name = group if group in rows else by_func.get(func)
        if name is None:
            continue
        row = rows[name]
        if row.last_run is None:
            row.last_run, row.last_ok = stopped, success
        if not success and row.failed_at is None:
            row.failed_at, row.failure = stopped, first_line(result)
        if row.last_run is not None and row.failed_at is not None:
            unanswered.discard(row.job.name)
            if not unanswered:
                break
    return list(rows.values())
