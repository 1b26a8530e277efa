"""Rotation pages and the ``/api/v1/oncall`` endpoint."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.models import ApiToken, hash_token
from portal.stamp import Stamps, pick, remember, stamps
from portal.viewer import signed_in_user
from rotation import health, health_page, timetable
from rotation.cover_views import rotation_covers
from rotation.effective import effective_schedule
from rotation.models import Engineer, Rotation
from rotation.oncall import (
    OnCallQueryError,
    iso_z,
    on_call,
    on_call_now,
    parse_at,
    person,
    rotations_named,
)
from rotation.views_time_off import away_in


def bearer_user_id(request: HttpRequest, found: Stamps | None, now: datetime) -> int | None:
    """The user of a valid ``Authorization: Bearer <token>`` header, if any: tokens and users
    are the people topic's."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    token_hash = hash_token(token.strip())

    def lookup() -> tuple[int | None, None]:
        found = ApiToken.objects.matching_hash(token_hash).values_list("user_id", flat=True)
        return found.first(), None

    return remember(("api_token", token_hash), pick(found, "people"), now, lookup)


@login_not_required  # it authenticates itself: a bearer token or a session, else 401 JSON
@never_cache
@require_GET
def oncall_api(request: HttpRequest) -> JsonResponse:
    now, found = timezone.now(), stamps("people", "schedule")
    if bearer_user_id(request, found, now) is None and not request.user.is_authenticated:
        response = JsonResponse(
            {"error": "log in, or send Authorization: Bearer <your API token>"}, status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="oncall"'
        return response
    try:
        slug = request.GET.get("rotation") or None
        if request.GET.get("at"):
            answers = on_call(rotations_named(slug), parse_at(request.GET["at"], default=now))
        else:
            answers = on_call_now(slug, now, found)
    except OnCallQueryError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse([answer.as_json() for answer in answers], safe=False)


# The longest window /api/v1/schedule answers: a year is about 110 stretches a rotation.
SCHEDULE_API_LONGEST = timedelta(days=400)


@login_not_required  # as /api/v1/oncall: a bearer token or a session, else 401 JSON
@never_cache
@require_GET
def schedule_api(request: HttpRequest) -> HttpResponse:
    """The effective schedule of one rotation over [from, to): DESIGN.md's stretches.

    Remembered under the schedule's stamp: a bot asking for the same window again (a year,
    every few minutes) gets it without the engine's work until the schedule changes."""
    now, found = timezone.now(), stamps("people", "schedule")
    if bearer_user_id(request, found, now) is None and not request.user.is_authenticated:
        return JsonResponse({"error": "log in, or send Authorization: Bearer <token>"}, status=401)
    try:
        slug = request.GET.get("rotation") or ""
        if not slug:
            raise OnCallQueryError("'rotation' is required (a rotation's slug)")
        start = parse_at(request.GET.get("from"), default=now)
        end = parse_at(request.GET.get("to"), default=start + timedelta(weeks=4))
        if end <= start:
            raise OnCallQueryError("'to' must be after 'from'")
        if end - start > SCHEDULE_API_LONGEST:
            raise OnCallQueryError("ask for at most 400 days at a time")
        # The encoded body: a year is about a thousand stretches, and encoding them again
        # for every request would cost more than the rest of the answer.
        body = remember(
            ("schedule_api", slug, start, end),
            pick(found, "schedule"),
            now,
            lambda: (json.dumps(schedule_json(slug, start, end)).encode(), None),
        )
    except OnCallQueryError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return HttpResponse(body, content_type="application/json")


def schedule_json(slug: str, start: datetime, end: datetime) -> list[dict[str, object]]:
    (rotation,) = rotations_named(slug)
    effective = effective_schedule(rotation, start, end)
    return [
        {
            "role": s.role.value,
            "person": person(effective.people[s.member]),
            "start": iso_z(s.start),
            "end": iso_z(s.end),
            "reason": s.reason.value,
            "covering": person(effective.person(s.covering)),
        }
        for s in effective.stretches
    ]


def rotation_schedule(request: HttpRequest, slug: str) -> HttpResponse:
    """The schedule as a calendar: a row per week, overrides and clock changes marked."""
    rotation = get_object_or_404(Rotation, slug=slug)
    now = timezone.now()
    around = None
    if request.GET.get("week"):
        try:
            around = date.fromisoformat(request.GET["week"])
        except ValueError:
            messages.error(request, f"'{request.GET['week']}' is not a date like 2026-12-01.")
    me = Engineer.objects.filter(user=signed_in_user(request)).first()
    quarter = health.quarter_of(now, rotation.zone)
    grid = timetable.schedule_grid(rotation, around, now, also=quarter)
    context = {"grid": grid, "rotation": rotation, "me": me, "my_zone": me.time_zone if me else ""}
    if grid.has_roster:
        context["health"] = health_page.quarter_health(rotation, now, grid.effective, grid.covers)
    context |= rotation_covers(rotation)
    context["rows"] = away_in(grid.rows, now)  # each week with who is away during it
    return render(request, "rotation/schedule.html", context)
