"""Cover pages: the form to ask for, offer or assign cover, the buttons that take, accept,
decline or cancel one, and what /me/, the rotation page and the dashboard show of covers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.viewer import signed_in_user, viewer_zone
from rotation import covers
from rotation.actions import RosterError
from rotation.forms import CoverForm, wall_clock
from rotation.models import CoverKind, CoverRequest, CoverStatus, Engineer, Override, Rotation
from rotation.oncall import OnCallQueryError, parse_at
from rotation.swaps import engineer_of, is_manager


def cover_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Ask for cover (prefilled from a stretch: ?role=&start=&end=), offer it, or assign it."""
    rotation = get_object_or_404(Rotation, slug=slug)
    user = signed_in_user(request)
    me, manager = engineer_of(user), is_manager(user)
    zone = viewer_zone(request)
    form = CoverForm(
        request.POST or None,
        initial=_prefill(request, rotation, me),
        rotation=rotation,
        manager=manager,
        viewer_zone=zone,
    )
    if request.method == "POST" and form.is_valid():
        try:
            _save(rotation, form.cleaned_data, me, by=user)
        except PermissionDenied as error:
            form.add_error(None, str(error) or "You cannot act for someone else.")
        except RosterError as error:
            for problem in error.problems:
                form.add_error(_field_of(problem.code, problem.member), problem.message)
        else:
            messages.success(request, "Done: the people concerned have been told by email.")
            return redirect("rotation:schedule", rotation.slug)
    context = {"form": form, "rotation": rotation, "viewer_zone": zone}
    return render(request, "rotation/cover_form.html", context)


def _prefill(request: HttpRequest, rotation: Rotation, me: Engineer | None) -> dict[str, Any]:
    initial: dict[str, Any] = {"covered": me, "role": request.GET.get("role", "primary")}
    for key, name in (("start", "starts_at"), ("end", "ends_at")):
        try:
            when = parse_at(request.GET.get(key), default=datetime.min)
        except OnCallQueryError:
            continue
        if when != datetime.min:
            # A shift under way can be covered from the next hour on, not in the past.
            soon = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            initial[name] = wall_clock(max(when, soon), rotation.zone)
    return initial


def _field_of(code: str, member: str | None) -> str | None:
    if code in ("cover-not-yours",):
        return "covered"
    if code in ("cover-self", "inactive") or member:
        return "taker"
    if code == "cover-role":
        return "role"
    return "starts_at" if code.startswith("cover") else None


def _save(rotation: Rotation, data: dict[str, Any], me: Engineer | None, *, by: Any) -> None:
    window = {
        "role": data["role"],
        "starts_at": data["starts_at"],
        "ends_at": data["ends_at"],
        "note": data["note"],
    }
    if data["kind"] == "ask":
        if me is None:
            raise PermissionDenied("your login is not linked to an engineer")
        covers.ask_for_cover(rotation, covered=me, taker=data["taker"], by=by, **window)
    elif data["kind"] == "offer":
        if me is None:
            raise PermissionDenied("your login is not linked to an engineer")
        covers.offer_cover(rotation, taker=me, covered=data["covered"], by=by, **window)
    else:
        covers.assign_cover(rotation, taker=data["taker"], covered=data["covered"], by=by, **window)


VERBS = {
    "accept": covers.accept_cover,
    "decline": covers.decline_cover,
    "cancel": covers.cancel_cover,
}
DONE = {"accept": "Accepted: the cover is in the schedule.", "decline": "Declined.", "cancel": ""}


@require_POST
def cover_decide(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    """Take (accept), decline or cancel a cover; back to the page the button was on."""
    cover = get_object_or_404(CoverRequest.objects.select_related("rotation"), pk=pk)
    action = VERBS.get(verb)
    if action is None:
        return HttpResponse(status=404)
    try:
        action(cover, by=signed_in_user(request))
    except PermissionDenied as error:
        messages.error(request, str(error))
    except RosterError as error:
        messages.error(request, f"Nothing was changed: {error}")
    else:
        messages.success(request, DONE[verb] or "Cancelled; both of you have been told.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
        back = cover.rotation.get_absolute_url()
    return redirect(back)


def flagged_covers(engineer: Engineer | None, manager: bool, now: datetime) -> list[Override]:
    """Covers that no longer apply and have not ended: the two people's, or all for managers."""
    found = Override.objects.filter(flagged_at__isnull=False, ends_at__gt=now)
    if not manager:
        if engineer is None:
            return []
        found = found.filter(Q(engineer=engineer) | Q(covers=engineer))
    return list(
        found.select_related("rotation", "engineer", "covers", "request").order_by("starts_at")
    )


def my_covers(engineer: Engineer, *, manager: bool = False) -> dict[str, object]:
    """What /me/ shows of covers: asks and offers waiting for me, mine waiting for others,
    covers I give, and flagged covers I am in."""
    now = timezone.now()
    # One query for every live request naming me, sorted below: /me/ reads many rooms.
    mine = list(
        CoverRequest.objects.filter(Q(covered=engineer) | Q(taker=engineer), ends_at__gt=now)
        .select_related("rotation", "covered", "taker")
        .order_by("starts_at", "pk")
    )
    is_open = [r for r in mine if r.status == CoverStatus.OPEN]
    accepted = [r for r in mine if r.status == CoverStatus.ACCEPTED]

    def waits_for(r: CoverRequest) -> int | None:
        """Whose answer an open request waits for: an ask's taker, an offer's covered."""
        return r.taker_id if r.kind == CoverKind.ASK else r.covered_id

    def made_by(r: CoverRequest) -> int | None:
        return r.covered_id if r.kind == CoverKind.ASK else r.taker_id

    return {
        "covers_to_me": [r for r in is_open if waits_for(r) == engineer.pk],
        "covers_by_me": [r for r in is_open if made_by(r) == engineer.pk],
        "covers_i_give": [r for r in accepted if r.taker_id == engineer.pk],
        "covers_for_me": [r for r in accepted if r.covered_id == engineer.pk],
        "flagged_covers": flagged_covers(engineer, manager, now),
    }


def rotation_covers(rotation: Rotation) -> dict[str, object]:
    """What the rotation page shows of covers: open asks anyone may take, and flagged ones."""
    now = timezone.now()
    asks = CoverRequest.objects.filter(
        rotation=rotation, kind=CoverKind.ASK, status=CoverStatus.OPEN, starts_at__gt=now
    ).select_related("covered", "taker")
    # The schedule is everyone's to read, so are the covers that no longer apply in it.
    flagged = [o for o in flagged_covers(None, True, now) if o.rotation_id == rotation.pk]
    return {"open_asks": list(asks), "flagged_covers": flagged}
