"""``/api/v1/swaps``: list, propose, accept, decline and cancel stint swaps, for scripts and bots.

Who may call (a session or a Bearer token) and how refusals read: ``rotation/api_auth.py``.
A swap the caller may not see is 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, JsonResponse

from rotation import swaps
from rotation.api_auth import RefusedError, json_api
from rotation.models import Engineer, Rotation, Swap, schedule_of
from rotation.oncall import iso_z, person


def swap_json(swap: Swap) -> dict[str, Any]:
    zone = swap.rotation.zone
    return {
        "id": swap.id,
        "rotation": swap.rotation.slug,
        "status": swap.status,
        "proposer": person(swap.proposer),
        "partner": person(swap.partner),
        "mine": swap.proposer_stint.astimezone(zone).date().isoformat(),
        "theirs": swap.partner_stint.astimezone(zone).date().isoformat(),
        "mine_starts": iso_z(swap.proposer_stint),
        "theirs_starts": iso_z(swap.partner_stint),
        "note": swap.note,
        "flagged": swap.flagged_at is not None,
        "flagged_at": iso_z(swap.flagged_at),
    }


def visible_swaps(user: User) -> Any:
    """The swaps ``user`` may see: their own (proposed by or to them); a manager sees all."""
    found = Swap.objects.select_related("rotation", "proposer", "partner")
    if swaps.is_manager(user):
        return found
    return found.filter(Q(proposer__user=user) | Q(partner__user=user))


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise RefusedError("bad-request", "send a JSON object") from None
    if not isinstance(body, dict):
        raise RefusedError("bad-request", "send a JSON object")
    return body


def _engineer(email: object, field: str) -> Engineer:
    if not isinstance(email, str) or not email:
        raise RefusedError("bad-request", f"'{field}' is required (an email)")
    found = Engineer.objects.filter(email__iexact=email.strip()).first()
    if found is None:
        raise RefusedError("unknown-person", f"nobody with the email {email}")
    return found


def _handoff(rotation: Rotation, text: object, field: str) -> datetime:
    if not isinstance(text, str):
        raise RefusedError("bad-request", f"'{field}' is required (a date like 2027-01-05)")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise RefusedError("bad-request", f"'{field}' is not a date like 2027-01-05") from None
    plan = schedule_of(rotation)
    if plan is None:
        raise RefusedError("no-roster", f"{rotation.name} has no roster yet")
    handoff = swaps.handoff_on(plan, day)
    if handoff is None:
        raise RefusedError("swap-stint", f"no handoff of {rotation.name} starts a week on {day}")
    return handoff


def swaps_api(request: HttpRequest, user: User) -> JsonResponse:
    if request.method == "GET":
        mine = visible_swaps(user).filter(Q(proposer__user=user) | Q(partner__user=user))
        return JsonResponse([swap_json(s) for s in mine.order_by("-created_at", "-id")], safe=False)
    if request.method != "POST":
        return JsonResponse({"error": "GET or POST", "rule": "method"}, status=405)
    body = _body(request)
    rotation = Rotation.objects.filter(slug=str(body.get("rotation") or "")).first()
    if rotation is None:
        raise RefusedError("unknown-rotation", f"no rotation '{body.get('rotation')}'")
    partner = _engineer(body.get("with"), "with")
    mine = _handoff(rotation, body.get("mine"), "mine")
    theirs = _handoff(rotation, body.get("theirs"), "theirs")
    note = str(body.get("note") or "")
    if body.get("for"):
        proposer = _engineer(body["for"], "for")
        swap = swaps.make_swap(rotation, proposer, mine, partner, theirs, by=user, note=note)
    else:
        proposer_or_none = swaps.engineer_of(user)
        if proposer_or_none is None:
            raise PermissionDenied("your login is not linked to an engineer")
        swap = swaps.propose_swap(
            rotation, proposer_or_none, mine, partner, theirs, by=user, note=note
        )
    return JsonResponse(swap_json(_reloaded(swap)), status=201)


def _reloaded(swap: Swap) -> Swap:
    return Swap.objects.select_related("rotation", "proposer", "partner").get(pk=swap.pk)


def _decide(
    action: Callable[..., Swap],
) -> Callable[[HttpRequest, User, int], JsonResponse]:
    def view(request: HttpRequest, user: User, swap_id: int) -> JsonResponse:
        if request.method != "POST":
            return JsonResponse({"error": "POST only", "rule": "method"}, status=405)
        swap = visible_swaps(user).filter(pk=swap_id).first()
        if swap is None:
            return JsonResponse({"error": "no such swap of yours", "rule": "not-found"}, status=404)
        action(swap, by=user)
        return JsonResponse(swap_json(_reloaded(swap)))

    return view


swaps_endpoint = json_api(swaps_api)
accept_endpoint = json_api(_decide(swaps.accept_swap))
decline_endpoint = json_api(_decide(swaps.decline_swap))
cancel_endpoint = json_api(_decide(swaps.cancel_swap))
