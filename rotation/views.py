"""Rotation pages, calendar feeds and the ``/api/v1/oncall`` endpoint."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from incidents.queries import my_action_items
from portal.models import ApiToken, hash_token
from portal.stamp import Stamps, pick, remember, stamps
from portal.views import signed_in_user
from rotation import calendars, feed_actions, timetable
from rotation.effective import effective_schedule
from rotation.models import Engineer, Rotation, SyncRun
from rotation.oncall import (
    OnCallQueryError,
    iso_z,
    on_call,
    on_call_now,
    parse_at,
    person,
    rotations_named,
)
from rotation.sync_status import sync_status


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
def schedule_api(request: HttpRequest) -> JsonResponse:
    """The effective schedule of one rotation over [from, to): DESIGN.md's stretches."""
    now = timezone.now()
    if bearer_user_id(request, stamps("people"), now) is None and not request.user.is_authenticated:
        return JsonResponse({"error": "log in, or send Authorization: Bearer <token>"}, status=401)
    try:
        slug = request.GET.get("rotation") or ""
        if not slug:
            raise OnCallQueryError("'rotation' is required (a rotation's slug)")
        (rotation,) = rotations_named(slug)
        start = parse_at(request.GET.get("from"), default=now)
        end = parse_at(request.GET.get("to"), default=start + timedelta(weeks=4))
        if end <= start:
            raise OnCallQueryError("'to' must be after 'from'")
        if end - start > SCHEDULE_API_LONGEST:
            raise OnCallQueryError("ask for at most 400 days at a time")
    except OnCallQueryError as error:
        return JsonResponse({"error": str(error)}, status=400)
    effective = effective_schedule(rotation, start, end)
    return JsonResponse(
        [
            {
                "role": s.role.value,
                "person": person(effective.people[s.member]),
                "start": iso_z(s.start),
                "end": iso_z(s.end),
                "reason": s.reason.value,
                "covering": person(effective.person(s.covering)),
            }
            for s in effective.stretches
        ],
        safe=False,
    )


FEED_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


@login_not_required  # the token in the URL is the only credential (calendar clients have no login)
@require_safe
def calendar_feed(request: HttpRequest, token: str, name: str) -> HttpResponse:
    now = timezone.now()
    found = calendars.find_feed(token, name)
    if found is None:
        raise Http404("No such feed")
    etag = found.etag(now)
    if calendars.is_unchanged(request.META.get("HTTP_IF_NONE_MATCH"), etag):
        # The ETag pins the content (change stamp, day, feed), so nothing else needs reading:
        # the path most calendar polls take costs the one query above.
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = _feed_response(request, found, etag, now)
    response["ETag"] = etag
    # Private: the URL is a credential, so no shared cache may keep the answer.
    response["Cache-Control"] = "private, max-age=3600"
    # A calendar file needs nothing a policy could allow: the strictest one, a constant, which
    # also spares every poll the pages' policy that the middleware builds around a nonce.
    response["Content-Security-Policy"] = FEED_CSP
    if found.fetch_is_due(now):
        feed_actions.record_feed_fetch(
            found.token_id, found.feed.name, request.headers.get("User-Agent", ""), now
        )
    return response


def _feed_response(
    request: HttpRequest, found: calendars.FeedRequest, etag: str, now: datetime
) -> HttpResponse:
    """The feed, or a 304 if the client's If-Modified-Since shows it unchanged."""
    last_modified = found.last_modified(now)
    if not found.is_published(now):
        last_modified = max(
            last_modified, feed_actions.publish_calendars(now=now).changed_at or now
        )
    response = get_conditional_response(
        request, etag=etag, last_modified=int(last_modified.timestamp())
    )
    if response is None:
        body = calendars.feed_text(
            found,
            now,
            lambda slug: request.build_absolute_uri(
                reverse("rotation:schedule", args=[slug]) if slug else "/"
            ),
        )
        if body is None:
            raise Http404("No such feed")
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{found.feed.file_name}"'
    response["Last-Modified"] = http_date(last_modified.timestamp())
    return response


def feed_links(request: HttpRequest, token: str, feed: calendars.Feed) -> dict[str, str]:
    """The feed's https URL, its webcal:// twin (which calendar apps open as a subscription),
    and Google Calendar's "add by URL" link."""
    url = request.build_absolute_uri(reverse("rotation:feed", args=[token, feed.name]))
    webcal = "webcal://" + url.split("://", 1)[1]
    return {
        "url": url,
        "webcal": webcal,
        "google": "https://calendar.google.com/calendar/render?" + urlencode({"cid": webcal}),
    }


def calendars_page(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    token = feed_actions.feed_token_of(user)
    engineer = Engineer.objects.filter(user=user).first()
    fetches = {fetch.feed: fetch for fetch in token.fetches.all()}
    rows = [
        {
            "feed": feed,
            "links": feed_links(request, token.token, feed),
            "fetch": fetches.get(feed.name),
        }
        for feed in calendars.feeds_for(list(Rotation.objects.all()), engineer)
    ]
    return render(request, "rotation/calendars.html", {"rows": rows, "now": timezone.now()})


@require_POST
def calendars_rotate(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    feed_actions.rotate_feed_token(user, by=user)
    messages.success(
        request,
        "New feed addresses are below; the old ones stopped working. Subscribe again in your "
        "calendar apps and remove the old calendars.",
    )
    return redirect("rotation:calendars")


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
    grid = timetable.schedule_grid(rotation, around, now)
    context = {"grid": grid, "rotation": rotation, "me": me, "my_zone": me.time_zone if me else ""}
    return render(request, "rotation/schedule.html", context)


def me(request: HttpRequest) -> HttpResponse:
    """My next six months of shifts, my feeds, and my share of on-call time this quarter."""
    user = signed_in_user(request)
    engineer = Engineer.objects.filter(user=user).first()
    context: dict[str, object] = {"engineer": engineer}
    if engineer is not None:
        token = feed_actions.feed_token_of(user).token
        context["mine"] = timetable.my_shifts(engineer, timezone.now())
        context["action_items"] = my_action_items(engineer)
        context["today"] = timezone.localdate()
        context["feed"] = feed_links(request, token, calendars.Feed(calendars.MY_SHIFTS, ""))
    return render(request, "rotation/me.html", context)


SYNC_RUNS_SHOWN = 100


def sync_page(request: HttpRequest) -> HttpResponse:
    """Every PagerDuty job run, newest first, and the drift each schedule feed shows."""
    runs = SyncRun.objects.select_related("rotation")[:SYNC_RUNS_SHOWN]
    context = {"runs": runs, "sync": sync_status(list(Rotation.objects.all()))}
    return render(request, "rotation/sync.html", context)
