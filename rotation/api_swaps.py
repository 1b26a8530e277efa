"""``/api/v1/swaps``: list, propose, accept, decline and cancel stint swaps, for scripts and bots.

Session or ``Authorization: Bearer`` token. A session POST keeps Django's CSRF check; a request
a valid token authenticated is exempt (a script has no CSRF cookie, and a forger no token).
A refusal is 400 ``{"error", "rule"}``, a person without the right 403, a swap the caller may
not see 404; the actions roll back on refusal, so nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from portal.stamp import stamps
from rotation import swaps
from rotation.actions import RosterError
from rotation.models import Engineer, Rotation, Swap, schedule_of
from rotation.oncall import iso_z, person
from rotation.views import bearer_user_id


class RequestRefusedError(Exception):
    """A request the API answers with 400 and the rule it breaks."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule, self.message = rule, message
        super().__init__(message)


def _no_response(request: HttpRequest) -> HttpResponse:
    return HttpResponse()  # CsrfViewMiddleware's get_response and callback; never called


def api_caller(view: Callable[..., JsonResponse]) -> Callable[..., HttpResponse]:
    """Authenticate by Bearer token (CSRF-exempt) or session (CSRF-checked), and turn the
    actions' refusals into the contract's JSON answers."""

    @login_not_required
    @csrf_exempt
    @never_cache
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user_id = swaps_bearer_user_id(request)
        if user_id is not None:
            user: User | None = User.objects.filter(pk=user_id, is_active=True).first()
        elif request.user.is_authenticated:
            assert isinstance(request.user, User)
            user = request.user
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                rejected = CsrfViewMiddleware(_no_response).process_view(
                    request, _no_response, (), {}
                )
                if rejected is not None:
                    return JsonResponse({"error": "CSRF check failed", "rule": "csrf"}, status=403)
        else:
            user = None
        if user is None:
            response = JsonResponse(
                {"error": "log in, or send Authorization: Bearer <your API token>"}, status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="oncall"'
            return response
        try:
            return view(request, user, *args, **kwargs)
        except RequestRefusedError as refusal:
            return JsonResponse({"error": refusal.message, "rule": refusal.rule}, status=400)
        except RosterError as error:
            problem = error.problems[0]
            return JsonResponse({"error": str(error), "rule": problem.code}, status=400)
        except PermissionDenied as denied:
            return JsonResponse(
                {"error": str(denied) or "not allowed", "rule": "permission"}, status=403
            )

    return wrapped


def swaps_bearer_user_id(request: HttpRequest) -> int | None:
    return bearer_user_id(request, stamps("people"), timezone.now())


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
        raise RequestRefusedError("bad-request", "send a JSON object") from None
    if not isinstance(body, dict):
        raise RequestRefusedError("bad-request", "send a JSON object")
    return body


def _engineer(email: object, field: str) -> Engineer:
    if not isinstance(email, str) or not email:
        raise RequestRefusedError("bad-request", f"'{field}' is required (an email)")
    found = Engineer.objects.filter(email__iexact=email.strip()).first()
    if found is None:
        raise RequestRefusedError("unknown-person", f"nobody with the email {email}")
    return found


def _handoff(rotation: Rotation, text: object, field: str) -> datetime:
    if not isinstance(text, str):
        raise RequestRefusedError("bad-request", f"'{field}' is required (a date like 2027-01-05)")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise RequestRefusedError(
            "bad-request", f"'{field}' is not a date like 2027-01-05"
        ) from None
    plan = schedule_of(rotation)
    if plan is None:
        raise RequestRefusedError("no-roster", f"{rotation.name} has no roster yet")
    handoff = swaps.handoff_on(plan, day)
    if handoff is None:
        raise RequestRefusedError(
            "swap-stint", f"no handoff of {rotation.name} starts a week on {day}"
        )
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
        raise RequestRefusedError("unknown-rotation", f"no rotation '{body.get('rotation')}'")
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


swaps_endpoint = api_caller(swaps_api)
accept_endpoint = api_caller(_decide(swaps.accept_swap))
decline_endpoint = api_caller(_decide(swaps.decline_swap))
cancel_endpoint = api_caller(_decide(swaps.cancel_swap))
