"""Incident pages: list and search, open, the incident with its timeline and customer
updates, the post-mortem with its action items, and the metrics."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from incidents import actions, charts, queries
from incidents import metrics as metrics_lib
from incidents.forms import (
    ActionItemForm,
    CustomerUpdateForm,
    IncidentFilter,
    IncidentForm,
    NoteForm,
    PostmortemForm,
)
from incidents.models import (
    SECTIONS,
    ActionItem,
    CustomerUpdate,
    Incident,
    Postmortem,
    PostmortemStatus,
)
from portal.stamp import remember, stamps
from portal.viewer import in_viewer_zone, signed_in_user
from rotation.effective import shifts_begun

PAGE_SIZE = 50


@in_viewer_zone
def incident_list(request: HttpRequest) -> HttpResponse:
    def render_content() -> tuple[str, None]:
        search = IncidentFilter(request.GET or None)
        found = queries.filtered(search.cleaned_data if search.is_valid() else {})
        page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
        # The filters beyond the search box stay folded unless one is in use (or wrong).
        more_filters_used = bool(search.errors) or any(
            request.GET.get(name) for name in search.fields if name != "q"
        )
        context = {"search": search, "page": page, "more_filters_used": more_filters_used}
        return mark_safe(render_to_string("incidents/list.html#content", context, request)), None

    # The filter form, table and pager, rendered again only after a write to incidents or
    # engineers (the commanders' names): the query string is the filter and the page, the
    # zone how times read; nothing else on the page depends on the viewer.
    key = ("incident_list", request.GET.urlencode(), timezone.get_current_timezone_name())
    content = remember(key, stamps("incidents", "schedule"), timezone.now(), render_content)
    return render(request, "incidents/list.html", {"content": content})


@in_viewer_zone
def incident_new(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = IncidentForm(
        request.POST or None, initial={"started_at": timezone.now(), "severity": "SEV3"}
    )
    if request.method == "POST" and form.is_valid():
        incident = actions.open_incident(form.cleaned_data, by=user)
        messages.success(request, f"Incident #{incident.pk} opened.")
        return redirect(incident)
    return render(request, "incidents/new.html", {"form": form})


@in_viewer_zone
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    incident = get_object_or_404(Incident.objects.select_related("commander", "rotation"), pk=pk)
    manager = actions.is_manager(user)
    form = IncidentForm(instance=incident, may_change_commander=manager)
    note_form = NoteForm()
    if request.method == "POST":
        what = request.POST.get("action")
        if what == "update":
            form = IncidentForm(
                request.POST, instance=Incident.objects.get(pk=pk), may_change_commander=manager
            )
            if form.is_valid():
                try:
                    actions.update_incident(incident, form.cleaned_data, by=user)
                except PermissionError as error:
                    form.add_error("commander", str(error))
                else:
                    messages.success(request, "Incident updated.")
                    return redirect(incident)
        elif what == "note":
            note_form = NoteForm(request.POST)
            if note_form.is_valid():
                actions.add_note(incident, note_form.cleaned_data["text"], by=user)
                return redirect(incident)
        elif what == "draft":
            actions.draft_update(incident, by=user)
            return redirect(f"{incident.get_absolute_url()}#updates")
    drafts = [
        (u, CustomerUpdateForm(initial={"body": u.body}))
        for u in incident.updates.filter(sent_at=None)
    ]
    context = {
        "incident": incident,
        "form": form,
        "note_form": note_form,
        "timeline": incident.timeline.select_related("by"),
        "sent": incident.updates.exclude(sent_at=None),
        "drafts": drafts,
        "postmortem": Postmortem.objects.filter(incident=incident).first(),
        "update_overdue": incident.is_open
        and incident.next_update_due is not None
        and incident.next_update_due < timezone.now(),
    }
    return render(request, "incidents/detail.html", context)


@require_POST
def send_update(request: HttpRequest, pk: int, update_id: int) -> HttpResponse:
    update = get_object_or_404(CustomerUpdate, pk=update_id, incident_id=pk, sent_at=None)
    form = CustomerUpdateForm(request.POST)
    if form.is_valid():
        actions.send_update(update, form.cleaned_data["body"], by=signed_in_user(request))
        messages.success(request, "Customer update marked as sent.")
    else:
        messages.error(request, "An update needs some text.")
    return redirect(f"{update.incident.get_absolute_url()}#updates")


@in_viewer_zone
def postmortem(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    pm = get_object_or_404(Postmortem.objects.select_related("incident", "owner"), incident_id=pk)
    may_publish = actions.may_publish(pm, user)
    form = PostmortemForm(instance=pm, may_publish=may_publish)
    action_form = ActionItemForm(initial={"owner": pm.owner})
    if request.method == "POST":
        if request.POST.get("action") == "action_item":
            action_form = ActionItemForm(request.POST)
            if action_form.is_valid():
                actions.add_action_item(pm, action_form.cleaned_data, by=user)
                return redirect(pm)
        else:
            form = PostmortemForm(
                request.POST, instance=Postmortem.objects.get(pk=pm.pk), may_publish=may_publish
            )
            if form.is_valid():
                sections = {name: form.cleaned_data[name] for name, _ in SECTIONS}
                try:
                    actions.save_postmortem(pm, sections, form.cleaned_data["status"], by=user)
                except actions.PostmortemPermissionError as error:
                    form.add_error(error.field, f"{error}.")
                else:
                    messages.success(request, "Post-mortem saved.")
                    return redirect(pm)
    context = {
        "pm": pm,
        "incident": pm.incident,
        "form": form,
        "action_form": action_form,
        "items": pm.actions.select_related("owner"),
        # As rendered when saved (actions.sections_html): sanitised, and no rendering per view.
        "sections": [
            (heading, mark_safe(pm.sections_html.get(name, ""))) for name, heading in SECTIONS
        ],
        "may_publish": may_publish,
        "today": timezone.localdate(),
    }
    return render(request, "incidents/postmortem.html", context)


@require_POST
def action_done(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    item = get_object_or_404(ActionItem, pk=item_id, postmortem__incident_id=pk)
    actions.set_action_done(item, request.POST.get("done") == "1", by=signed_in_user(request))
    return redirect(item.postmortem)


@in_viewer_zone
def postmortem_markdown(request: HttpRequest, pk: int) -> HttpResponse:
    pm = get_object_or_404(Postmortem.objects.select_related("incident", "owner"), incident_id=pk)
    text = render(
        request,
        "incidents/postmortem.md",
        {
            "pm": pm,
            "sections": [(heading, getattr(pm, name)) for name, heading in SECTIONS],
            "items": pm.actions.select_related("owner"),
        },
    ).content
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="postmortem-{pk}.md"'
    return response


METRICS_WEEKS = 12
METRICS_MONTHS = 12


@in_viewer_zone
def metrics(request: HttpRequest) -> HttpResponse:
    """Time to acknowledge and resolve, counts by severity per week and month, incidents per
    on-call shift and post-mortem completion, over the last twelve months."""
    now = timezone.now()
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    months_back = today.year * 12 + today.month - 1 - (METRICS_MONTHS - 1)
    since = date(months_back // 12, months_back % 12 + 1, 1)  # the first of twelve whole months
    start = datetime.combine(since, time(), zone)
    facts = incident_facts(start)
    shifts = shifts_begun(start, now)
    weeks_from = today - timedelta(weeks=METRICS_WEEKS - 1)
    by_week = metrics_lib.counts_by_period(facts, "week", zone, weeks_from, today)
    by_month = metrics_lib.counts_by_period(facts, "month", zone, since, today)
    context = {
        "since": since,
        "count": len(facts),
        "acknowledge": metrics_lib.time_to_acknowledge(facts),
        "resolve": metrics_lib.time_to_resolve(facts),
        "load": metrics_lib.incidents_per_shift(facts, shifts),
        "completion": metrics_lib.postmortem_completion(facts),
        "week_chart": charts.bar_chart("Incidents per week, by severity", by_week),
        "month_chart": charts.bar_chart("Incidents per month, by severity", by_month),
    }
    return render(request, "incidents/metrics.html", context)


def incident_facts(since: datetime) -> list[metrics_lib.IncidentFacts]:
    """One query: the incidents since ``since`` with their post-mortem's status."""
    rows = Incident.objects.filter(started_at__gte=since).values_list(
        "severity",
        "started_at",
        "detected_at",
        "acknowledged_at",
        "resolved_at",
        "customer_impact",
        "postmortem__status",
        "shift_started_at",
    )
    return [
        metrics_lib.IncidentFacts(
            severity=severity,
            started_at=started,
            detected_at=detected,
            acknowledged_at=acknowledged,
            resolved_at=resolved,
            needs_postmortem=status is not None,
            postmortem_published=status == PostmortemStatus.PUBLISHED,
            shift_start=shift,
        )
        for severity, started, detected, acknowledged, resolved, _, status, shift in rows
    ]
