"""``manage.py sync_schedules``: upsert django-q2's periodic schedules from portal.schedules."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django_q.models import Schedule

from portal.schedules import PERIODIC_JOBS

# The apps whose jobs these schedules run: rows of theirs not in the list are stale.
JOB_APPS = ("portal", "rotation", "feeds", "pagerduty")


class Command(BaseCommand):
    help = "Create or update the periodic job schedules the portal needs (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        names = {job.name for job in PERIODIC_JOBS}
        for job in PERIODIC_JOBS:
            # Schedule.name is not unique: keep the first row of a name, drop any copies.
            rows = list(Schedule.objects.filter(name=job.name).order_by("id"))
            for extra in rows[1:]:
                extra.delete()
            schedule = rows[0] if rows else Schedule(name=job.name)
            schedule.func = job.func
            schedule.schedule_type = Schedule.MINUTES
            schedule.minutes = job.minutes
            schedule.repeats = -1
            schedule.save()
            self.stdout.write(f"{job.name}: every {job.minutes} minutes ({job.why})")
        # A job that left the list is dropped; a job that moved to another app keeps its row
        # (found by name above) and gets its new function path.
        ours = Q()
        for app in JOB_APPS:
            ours |= Q(func__startswith=f"{app}.")
        Schedule.objects.filter(ours).exclude(name__in=names).delete()
