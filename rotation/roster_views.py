"""The manager's roster page (``/rotations/<slug>/roster/``) and ticking onboarding steps."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.viewer import signed_in_user
from rotation import onboarding
from rotation.actions import RosterError
from rotation.models import OnboardingStep, Rotation
from rotation.roster_edit import save_roster_edit
from rotation.roster_page import RosterState, apply, page_view
from rotation.roster_preview import explain
from rotation.swaps import is_manager


@never_cache
def roster_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Reorder, add and remove; the preview of the order shown is on the page before Save."""
    rotation = get_object_or_404(Rotation, slug=slug)
    user = signed_in_user(request)
    if not is_manager(user):
        raise PermissionDenied("only a manager may change the roster")
    now = timezone.now()
    if request.method != "POST":
        state = RosterState.current(rotation)
    else:
        state = RosterState.posted(request.POST)
        op = request.POST.get("op", "preview")
        if op == "save":
            if request.POST.get("previewed") != state.signature:
                state.notes.append(
                    "The order changed since the preview below: check it, then save."
                )
            else:
                try:
                    plan = save_roster_edit(
                        rotation,
                        state.emails,
                        state.newcomer,
                        version=state.version,
                        by=user,
                        now=now,
                        site=(request.get_host(), request.is_secure()),
                        deactivate=request.POST.getlist("deactivate"),
                    )
                except RosterError as error:
                    stale = error.problems[0].code == "stale"
                    for problem in error.problems:
                        messages.error(
                            request, explain(problem.code, problem.message, len(state.emails))
                        )
                    if stale:
                        state = RosterState.current(rotation)
                else:
                    told = len(plan.changes)
                    messages.success(
                        request,
                        "The roster was saved"
                        + (
                            f"; {told} people whose weeks moved will get an email." if told else "."
                        ),
                    )
                    return redirect("rotation:roster", rotation.slug)
        else:
            apply(rotation, state, op, request.POST, now)
    view = page_view(rotation, state, now)
    status = 400 if state.errors else 200
    return render(
        request,
        "rotation/roster.html",
        {"view": view, "rotation": rotation, "posted": request.POST if state.errors else {}},
        status=status,
    )


@require_POST
def onboarding_tick(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(OnboardingStep.objects.select_related("rotation", "engineer"), pk=pk)
    onboarding.tick(step, done=request.POST.get("done") == "1", by=signed_in_user(request))
    return redirect("portal:me")
