"""The weekly livesite summary pages: a week's summary to read, and its Markdown to paste into
the team's summary document."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from handoff.days import week_at, week_starting_on
from handoff.summary import WeekSummary, summary_markdown, week_summary
from portal.viewer import in_viewer_zone
from rotation.models import Rotation, schedule_of
from rotation.schedule import RotationPlan


def latest_summary(request: HttpRequest, slug: str) -> HttpResponse:
    """The last completed week's summary (the running one while none has ended)."""
    rotation = get_object_or_404(Rotation, slug=slug)
    plan = schedule_of(rotation)
    now = timezone.now()
    current = week_at(plan, now) if plan else None
    if plan is None or current is None:
        raise Http404("This rotation has no weeks yet.")
    week = week_at(plan, current[0] - timedelta(microseconds=1)) or current
    day = week[0].astimezone(rotation.zone).date()
    return redirect("summary:week", slug=slug, day=day.isoformat())


@in_viewer_zone
def summary_page(request: HttpRequest, slug: str, day: str) -> HttpResponse:
    """A week's summary: its sections, the weeks either side, and the Markdown to copy."""
    rotation, plan, summary = summary_of(slug, day, timezone.now())
    earlier = week_at(plan, summary.week_start - timedelta(microseconds=1))
    context = {
        "rotation": rotation,
        "summary": summary,
        "markdown": summary_markdown(summary),
        "earlier": earlier[0].astimezone(rotation.zone).date() if earlier else None,
        "later": None if summary.is_running else summary.week_end.astimezone(rotation.zone).date(),
    }
    return render(request, "handoff/summary.html", context)


def summary_export(request: HttpRequest, slug: str, day: str) -> HttpResponse:
    """The week's summary as a Markdown file."""
    _, _, summary = summary_of(slug, day, timezone.now())
    response = HttpResponse(summary_markdown(summary), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{summary.filename}"'
    return response


def summary_of(slug: str, day: str, now: datetime) -> tuple[Rotation, RotationPlan, WeekSummary]:
    """The rotation and the summary of its week named ``day``; 404 for a date that starts no
    week, or a week not begun."""
    rotation = get_object_or_404(Rotation, slug=slug)
    plan = schedule_of(rotation)
    try:
        named = date.fromisoformat(day)
    except ValueError:
        raise Http404("Not a date like 2026-12-01.") from None
    week = week_starting_on(plan, named, rotation.zone) if plan else None
    if plan is None or week is None or week[0] > now:
        raise Http404("No handoff starts a week on that date.")
    return rotation, plan, week_summary(rotation, week[0], week[1], now, plan=plan)
