"""The week's pages: the release checklist and the daily triage log of a rotation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from handoff import days, release, triage
from handoff.forms import StepTickForm, TriageForm
from handoff.models import WeekSetup
from portal.viewer import in_viewer_zone, signed_in_user
from rotation.models import Rotation, schedule_of

PAST_WEEKS = 4


def _week(request: HttpRequest, rotation: Rotation, now: datetime) -> release.Week | None:
    """The week ``?week=YYYY-MM-DD`` names by its handoff date, else the one holding now."""
    named = request.GET.get("week", "")
    if named:
        try:
            week = release.week_named(rotation, date.fromisoformat(named))
        except ValueError:
            week = None
        if week is not None:
            return week
        messages.error(request, f"No week of {rotation.name} starts on '{named[:20]}'.")
    return release.this_week(rotation, now)


@in_viewer_zone
def release_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A week's release checklist; ticking a step is a POST to the same address."""
    rotation = get_object_or_404(Rotation, slug=slug)
    now = timezone.now()
    week = _week(request, rotation, now)
    if request.method == "POST" and week is not None:
        form = StepTickForm(request.POST)
        if form.is_valid():
            try:
                release.tick_step(
                    rotation,
                    week,
                    form.cleaned_data["position"],
                    done=form.cleaned_data["done"],
                    by=signed_in_user(request),
                    now=now,
                )
            except release.ReleaseError as error:
                messages.error(request, str(error))
        else:
            messages.error(request, "That step is not on this week's checklist.")
        return redirect(request.get_full_path())
    setup = WeekSetup.objects.filter(rotation=rotation).select_related("release_runbook").first()
    context = {
        "rotation": rotation,
        "week": week,
        "state": release.release_state(rotation, week[0]) if week else None,
        "runbook": setup.release_runbook if setup else None,
        "has_begun": week is not None and week[0] <= now,
        "previous": week[0] - timedelta(days=7) if week else None,
        "next": week[1] if week else None,
    }
    return render(request, "handoff/release.html", context)


@in_viewer_zone
def triage_page(request: HttpRequest, slug: str) -> HttpResponse:
    """This week's triage days with a form to tick each, and the last weeks' log."""
    rotation = get_object_or_404(Rotation, slug=slug)
    now = timezone.now()
    failed: TriageForm | None = None
    if request.method == "POST":
        form = TriageForm(request.POST)
        if form.is_valid():
            try:
                ticked, created = triage.tick_triage(
                    rotation,
                    form.cleaned_data["day"],
                    form.cleaned_data["note"],
                    by=signed_in_user(request),
                    now=now,
                )
            except triage.TriageError as error:
                messages.error(request, str(error))
            else:
                if created:
                    messages.success(request, f"{ticked.day:%a %-d %b} is triaged.")
                else:
                    when = timezone.localtime(ticked.done_at)
                    by = triage.TriageEntry(ticked.day, when, ticked, False).done_by
                    messages.info(
                        request,
                        f"{ticked.day:%a %-d %b} was already triaged by {by or 'someone'} "
                        f"at {when:%H:%M}; their note stands.",
                    )
                return redirect(request.path)
        failed = form
    weeks: list[tuple[datetime, list[triage.TriageEntry]]] = []
    plan = schedule_of(rotation)
    bounds = days.week_at(plan, now) if plan is not None else None
    while plan is not None and bounds is not None and len(weeks) <= PAST_WEEKS:
        start, end = bounds
        weeks.append((start, triage.triage_log(rotation, start, end, now=now)))
        bounds = days.week_at(plan, start - timedelta(seconds=1))
    context = {
        "rotation": rotation,
        "week": weeks[0] if weeks else None,
        "this_week": weeks[0][1] if weeks else [],
        "past_weeks": weeks[1:],
        "today": timezone.localdate(now, rotation.zone),
        "failed": failed,
        "due_at": triage.due_hour(rotation),
    }
    return render(request, "handoff/triage.html", context)
