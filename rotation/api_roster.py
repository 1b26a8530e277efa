"""``POST /api/v1/rotations/<slug>/preview``: what a roster order would change, saving nothing.

Session or ``Authorization: Bearer`` token; managers only. A session POST is CSRF-checked; a
request that authenticated with a bearer token is not (no browser sends one on its own).
"""

from __future__ import annotations

import json

from django.contrib.auth.models import User
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_POST

from rotation.actions import RosterError
from rotation.api_auth import json_api, refusal
from rotation.models import Rotation
from rotation.roster_edit import proposal
from rotation.roster_preview import explain, preview_roster
from rotation.swaps import is_manager


@json_api
@require_POST
def preview_api(request: HttpRequest, user: User, slug: str) -> JsonResponse:
    """``{members: [emails in order]}`` -> ``{effective, changes: [{email, name, gains, loses}],
    broken: [...]}``; 400 ``{error, rule}`` for a roster the rules refuse."""
    if not is_manager(user):
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
