"""``POST /api/v1/rotations/<slug>/preview``: what a roster order would change, saving nothing.

Session or ``Authorization: Bearer`` token; managers only. A session POST is CSRF-checked; a
request that authenticated with a bearer token is not (no browser sends one on its own).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.stamp import stamps
from rotation.actions import RosterError
from rotation.models import Rotation
from rotation.roster_edit import proposal
from rotation.roster_preview import explain, preview_roster
from rotation.swaps import is_manager
from rotation.views import bearer_user_id

View = Callable[..., HttpResponse]


def api_user(view: View) -> View:
    """Authenticate by bearer token or session (401 JSON otherwise), CSRF-checking sessions;
    the view gets the user as ``request.api_user``."""

    @login_not_required
    @csrf_exempt
    @never_cache
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        user_id = bearer_user_id(request, stamps("people"), timezone.now())
        if user_id is not None:
            user: User | None = User.objects.filter(pk=user_id, is_active=True).first()
        elif request.user.is_authenticated:
            refused = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(
                request, view, (), {}
            )
            if refused is not None:
                return JsonResponse(
                    {"error": "CSRF check failed: send the csrftoken header", "rule": "csrf"},
                    status=403,
                )
            user = request.user
        else:
            user = None
        if user is None:
            response = JsonResponse(
                {"error": "log in, or send Authorization: Bearer <your API token>"}, status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="oncall"'
            return response
        request.api_user = user  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


def refusal(message: str, rule: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message, "rule": rule}, status=status)


@api_user
@require_POST
def preview_api(request: HttpRequest, slug: str) -> JsonResponse:
    """``{members: [emails in order]}`` -> ``{effective, changes: [{email, name, gains, loses}],
    broken: [...]}``; 400 ``{error, rule}`` for a roster the rules refuse."""
    if not is_manager(request.api_user):  # type: ignore[attr-defined]
        return refusal("only a manager may preview roster changes", "manager", 403)
    rotation = get_object_or_404(Rotation, slug=slug)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return refusal('send a JSON object: {"members": [emails in order]}', "json")
    members = body.get("members") if isinstance(body, dict) else None
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        return refusal("'members' must be a list of emails, in roster order", "members")
    now = timezone.now()
    try:
        found = proposal(rotation, members, None, now=now)
        preview = preview_roster(rotation, found.members, found.shadows, now=now)
    except RosterError as error:
        message = "; ".join(explain(p.code, p.message, len(members)) for p in error.problems)
        return refusal(message, error.problems[0].code)
    answer = preview.as_json()
    answer["shadow_weeks"] = {
        email: week.isoformat() if week else None for email, week in found.joiners.items()
    }
    return JsonResponse(answer)
