"""Runbook pages: list and search, a page, the editor with its live preview, history, diff."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from portal.stamp import remember, stamps
from portal.viewer import in_viewer_zone, signed_in_user
from runbooks import actions, markdown, search
from runbooks.forms import RunbookForm
from runbooks.history import diff_lines
from runbooks.models import BODY_MAX_LENGTH, Runbook

PAGE_SIZE = 50
# Nobody reads 200,000 search results, and a larger offset would overflow PostgreSQL's.
MAX_RESULT_PAGE = 10_000
FIELDS = ["title", "body", "tags", "owner", "review_interval_days"]


@in_viewer_zone
def runbook_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    context: dict[str, object] = {"q": query, "now": timezone.now()}
    if query:
        context["results"] = search.find(query, page=_page_number(request.GET.get("page")))
    else:
        pages = Runbook.objects.select_related("owner").defer("body", "html", "toc")
        context["page"] = Paginator(pages, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "runbooks/list.html", context)


@in_viewer_zone
def runbook_page(request: HttpRequest, slug: str) -> HttpResponse:
    now = timezone.now()

    def render_page() -> tuple[tuple[Runbook, str, str] | None, None]:
        runbook = Runbook.objects.select_related("owner").filter(slug=slug).first()
        if runbook is None:
            return None, None
        context = {"runbook": runbook, "incidents": runbook.incidents.order_by("-started_at")[:20]}
        head = render_to_string("runbooks/page.html#head", context, request)
        body = render_to_string("runbooks/page.html#body", context, request)
        return (runbook, mark_safe(head), mark_safe(body)), None

    # The page and the incidents that used it, rendered again only after a write to runbooks,
    # incidents or engineers (the owner's name); the zone is how its times read. The review
    # form is not remembered: it carries the viewer's CSRF token, and staleness needs the clock.
    key = ("runbook_page", slug, timezone.get_current_timezone_name())
    found = remember(key, stamps("runbooks", "incidents", "schedule"), now, render_page)
    if found is None:
        raise Http404("No such runbook")
    runbook, head, body = found
    context = {"runbook": runbook, "head": head, "body": body, "stale": runbook.is_stale(now)}
    return render(request, "runbooks/page.html", context)


@in_viewer_zone
def runbook_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    user = signed_in_user(request)
    runbook = get_object_or_404(Runbook, slug=slug) if slug else None
    initial: dict[str, object] = {"base_revision": runbook.revision if runbook else 0}
    if runbook is None:
        initial["title"] = request.GET.get("title", "")
    form = RunbookForm(request.POST or None, instance=runbook, initial=initial)
    conflict = None
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in FIELDS}
        try:
            saved = actions.save_page(
                Runbook.objects.get(pk=runbook.pk) if runbook else None,
                fields,
                base_revision=form.cleaned_data["base_revision"],
                message=form.cleaned_data["message"],
                by=user,
            )
        except actions.EditConflictError as error:
            # Keep their text in the editor, show what changed meanwhile, and let the next
            # save go through once they have merged.
            conflict = {
                "revision": error.current,
                "diff": diff_lines(error.current.body, form.cleaned_data["body"]),
            }
            data = request.POST.copy()
            data["base_revision"] = str(error.current.number)
            form = RunbookForm(data, instance=runbook)
            form.is_valid()
        else:
            messages.success(request, f"Saved revision {saved.revision}.")
            return redirect(saved)
    return render(
        request, "runbooks/edit.html", {"form": form, "runbook": runbook, "conflict": conflict}
    )


@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The editor's live preview (htmx): the text rendered exactly as a save would; a text
    longer than a page holds is not rendered but answered 413, with the form's message."""
    body = request.POST.get("body", "")
    if len(body) > BODY_MAX_LENGTH:
        error = f"Too long to preview or save: at most {BODY_MAX_LENGTH:,} characters, this is {len(body):,}."
        return render(request, "runbooks/preview.html", {"error": error}, status=413)
    rendered = markdown.render_page(body, actions.resolver())
    return render(request, "runbooks/preview.html", {"rendered": rendered})


@in_viewer_zone
def history(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook, slug=slug)
    revisions = list(runbook.revisions.select_related("author"))
    numbers = {r.number: r for r in revisions}
    wanted = {
        "to": _revision_number(request.GET.get("to"), runbook.revision),
        "from": _revision_number(request.GET.get("from"), max(runbook.revision - 1, 1)),
    }
    bad = [name for name, number in wanted.items() if number not in numbers]
    newer, older = numbers.get(wanted["to"] or 0), numbers.get(wanted["from"] or 0)
    context = {
        "runbook": runbook,
        "revisions": revisions,
        "older": older,
        "newer": newer,
        "diff": diff_lines(older.body, newer.body) if older and newer else [],
        "error": f"Pick revisions between 1 and {runbook.revision} to compare ({', '.join(bad)})."
        if bad and revisions
        else "",
    }
    return render(
        request, "runbooks/history.html", context, status=400 if context["error"] else 200
    )


def _page_number(text: str | None) -> int:
    """A page of search results from the query string: 1 unless a sane whole number."""
    try:
        return min(max(int(text or 1), 1), MAX_RESULT_PAGE)
    except ValueError:
        return 1


def _revision_number(text: str | None, default: int) -> int | None:
    """A revision number from the query string; None when it is not a whole number."""
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        return None


@require_POST
def restore(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    runbook = get_object_or_404(Runbook, slug=slug)
    try:
        saved = actions.restore(runbook, number, by=signed_in_user(request))
    except ValidationError as error:  # a revision from before pages were bounded
        messages.error(request, f"Revision {number} cannot be restored: {' '.join(error.messages)}")
        return redirect(runbook)
    messages.success(request, f"Revision {number} restored as revision {saved.revision}.")
    return redirect(saved)


@require_POST
def reviewed(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook, slug=slug)
    actions.mark_reviewed(runbook, by=signed_in_user(request))
    messages.success(request, f"{runbook.title} marked as reviewed.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = runbook.get_absolute_url()
    return redirect(back)
