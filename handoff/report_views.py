"""The handoff reports of a rotation (/rotations/<slug>/handoffs/) and one report
(/rotations/<slug>/handoffs/<YYYY-MM-DD>/): read, submitted, acknowledged."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from handoff import actions, days
from handoff.forms import WorriesForm
from handoff.models import HandoffReport
from handoff.release import name_of
from handoff.report import report_contents
from portal.viewer import in_viewer_zone, signed_in_user
from rotation.models import Engineer, Rotation, schedule_of
from rotation.swaps import is_manager

# A report opens on demand for any handoff up to this far ahead: the one ending this week
# (a week lasts at most 10.5 days across a calendar change), not weeks nobody has lived yet.
OPENS_AHEAD = timedelta(days=11)


@in_viewer_zone
def report_list(request: HttpRequest, slug: str) -> HttpResponse:
    rotation = get_object_or_404(Rotation, slug=slug)
    reports = (
        HandoffReport.objects.filter(rotation=rotation)
        .select_related("outgoing", "incoming")
        .order_by("-handoff_at")[:200]
    )
    rows = [(report, actions.report_url_of(rotation, report)) for report in reports]
    return render(request, "handoff/list.html", {"rotation": rotation, "rows": rows})


@in_viewer_zone
def report_page(request: HttpRequest, slug: str, day: str) -> HttpResponse:
    rotation = get_object_or_404(Rotation, slug=slug)
    try:
        handoff_day = date.fromisoformat(day)
    except ValueError:
        raise Http404("not a date like 2026-12-01") from None
    plan = schedule_of(rotation)
    bounds = days.week_starting_on(plan, handoff_day, rotation.zone) if plan else None
    now = timezone.now()
    if bounds is None or bounds[0] - now > OPENS_AHEAD:
        raise Http404("no handoff that day, or not one whose report is open")
    report = actions.open_report(rotation, bounds[0])
    if report is None:
        raise Http404("no week ends at that handoff")
    user = signed_in_user(request)
    me = Engineer.objects.filter(user=user).first()
    manager = is_manager(user)
    may_submit = manager or (me is not None and me.pk == report.outgoing_id)
    may_acknowledge = manager or (me is not None and me.pk == report.incoming_id)
    form = WorriesForm(instance=report)
    if request.method == "POST":
        try:
            if request.POST.get("do") == "acknowledge":
                actions.acknowledge_report(report, by=user, now=now)
                messages.success(request, "Acknowledged: the handoff is complete.")
                return redirect(request.path)
            form = WorriesForm(request.POST, instance=HandoffReport.objects.get(pk=report.pk))
            if form.is_valid():
                actions.submit_report(report, form.cleaned_data["worries"], by=user, now=now)
                messages.success(request, f"Submitted: {report.incoming.name} is told to read it.")
                return redirect(request.path)
        except PermissionDenied as refused:
            messages.error(request, f"{str(refused).capitalize()}.")
        except actions.ReportError as refused:
            messages.error(request, str(refused))
        report.refresh_from_db()
    contents = report.contents if report.submitted_at else None
    context = {
        "rotation": rotation,
        "report": report,
        "contents": contents
        or report_contents(rotation, report.week_start, report.handoff_at, now),
        "frozen": contents is not None,
        "form": form,
        "may_submit": may_submit and report.is_pending,
        "may_acknowledge": may_acknowledge and report.submitted_at and report.is_pending,
        "acknowledged_by": name_of(report.acknowledged_by) or "someone"
        if report.acknowledged_at
        else "",
    }
    return render(request, "handoff/report.html", context)
