"""``/api/v1/time-off``: my time off, and where it collides, with ranked swap proposals.

Session or ``Authorization: Bearer`` token, JSON in and out. A refusal is HTTP 400 (403 for a
person without the right) with ``{"error": message, "rule": code}``, and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from rotation.actions import RosterError
from rotation.api_auth import json_api, refusal
from rotation.models import Engineer, TimeOff
from rotation.oncall import iso_z, person
from rotation.schedule import Problem
from rotation.swaps import engineer_of, is_manager, local_day
from rotation.timeoff import (
    Collision,
    Proposal,
    collisions_in,
    delete_time_off,
    proposals_for,
    record_time_off,
    upcoming_time_off,
    window,
)

ApiView = Callable[[HttpRequest, User], HttpResponse]


def time_off_json(row: TimeOff) -> dict[str, object]:
    start, end = window(row)
    return {
        "id": row.id,
        "start": row.starts_on.isoformat(),
        "end": row.ends_on.isoformat(),
        "note": row.note,
        "away_from": start.isoformat(),
        "away_until": end.isoformat(),
    }


def collision_json(collision: Collision) -> dict[str, object]:
    rotation = collision.rotation
    return {
        "rotation": rotation.slug,
        "role": collision.role.value,
        "start": iso_z(collision.start),
        "end": iso_z(collision.end),
        "time_off": collision.time_off.id,
        "stint": local_day(rotation, collision.stint).isoformat() if collision.stint else None,
    }


def proposal_json(proposal: Proposal) -> dict[str, object]:
    rotation = proposal.rotation
    return {
        "rotation": rotation.slug,
        "mine": local_day(rotation, proposal.mine).isoformat(),
        "theirs": local_day(rotation, proposal.theirs).isoformat(),
        "with": person(proposal.partner),
        "rank": proposal.rank,
        "reason": proposal.reason,
    }


def _engineer(user: User) -> Engineer:
    engineer = engineer_of(user)
    if engineer is None:
        raise PermissionDenied("your login is not linked to an engineer on any roster")
    return engineer


def _day(body: dict[str, Any], field: str) -> date:
    value = body.get(field)
    if not isinstance(value, str):
        raise RosterError([_problem(f"'{field}' is required: a date like 2027-01-04")])
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RosterError([_problem(f"'{field}' must be a date like 2027-01-04")]) from None


def _problem(message: str) -> Problem:
    return Problem("invalid", message)


@json_api
@require_http_methods(["GET", "POST"])
def time_off_api(request: HttpRequest, user: User) -> HttpResponse:
    """GET: my time off that has not ended. POST {start, end, note}: record it; answers the
    collisions with my schedule and ranked swap proposals for each colliding stint."""
    now = timezone.now()
    engineer = _engineer(user)
    if request.method == "GET":
        return JsonResponse(
            [time_off_json(r) for r in upcoming_time_off(engineer, now)], safe=False
        )
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return refusal("send a JSON object: {start, end, note}", "invalid")
    if not isinstance(body, dict):
        return refusal("send a JSON object: {start, end, note}", "invalid")
    note = body.get("note", "")
    if not isinstance(note, str):
        return refusal("'note' must be text", "invalid")
    row = record_time_off(engineer, _day(body, "start"), _day(body, "end"), note, by=user, now=now)
    return JsonResponse(answer(engineer, row, now), status=201)


def answer(engineer: Engineer, row: TimeOff, now: datetime) -> dict[str, object]:
    """The POST answer: the row, its collisions, and the ranked proposals for their stints."""
    found = collisions_in(engineer, [row], now)
    proposals = proposals_for(engineer, found, now)
    return {
        "time_off": time_off_json(row),
        "collisions": [collision_json(c) for c in found],
        "proposals": [proposal_json(p) for ranked in proposals.values() for p in ranked],
    }


@json_api
@require_http_methods(["DELETE"])
def time_off_item_api(request: HttpRequest, user: User, pk: int) -> HttpResponse:
    """DELETE: removes my time off (a manager: anyone's); someone else's is not found."""
    row = TimeOff.objects.select_related("engineer").filter(pk=pk).first()
    mine = engineer_of(user)
    if row is None or not (is_manager(user) or (mine is not None and row.engineer_id == mine.pk)):
        return refusal("no such time off of yours", "not-found", 404)
    delete_time_off(row, by=user)
    return HttpResponse(status=204)
