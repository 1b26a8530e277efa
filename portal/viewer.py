"""Who is looking at a page: the signed-in user, and the zone their times are shown in.

Every room's views use these, so they live apart from the dashboard's views (importing those
would drag every room into every other)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps
from typing import Concatenate
from zoneinfo import ZoneInfo, available_timezones

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from rotation.models import Engineer


def signed_in_user(request: HttpRequest) -> User:
    """The user of a view behind LoginRequiredMiddleware."""
    assert isinstance(request.user, User)
    return request.user


# The browser's zone, as portal.js finds it (Intl), for people with none on their profile.
BROWSER_ZONE_COOKIE = "tz"


@cache
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def viewer_zone(request: HttpRequest) -> str:
    """The zone the viewer reads times in: their engineer profile's, else their browser's,
    else "" (the portal's, PORTAL_TIME_ZONE). A cookie naming no zone is ignored."""
    user = signed_in_user(request)
    zone = Engineer.objects.filter(user=user).values_list("time_zone", flat=True).first()
    if not zone:
        zone = request.COOKIES.get(BROWSER_ZONE_COOKIE, "")
    return zone if zone in known_zones() else ""


class AdminInViewerZone:
    """The admin's pages in the viewer's zone too (a middleware: the admin's views are not
    ours to decorate, and its responses render after the view returns)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(admin_prefix()) or not request.user.is_authenticated:
            return self.get_response(request)
        zone = viewer_zone(request)
        if not zone:
            return self.get_response(request)
        with timezone.override(ZoneInfo(zone)):
            return self.get_response(request)


@cache
def admin_prefix() -> str:
    return reverse("admin:index")


def in_viewer_zone[**P](
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Runs ``view`` in the viewer's own zone (``viewer_zone``), so a time typed into a form
    means what the person typing it meant, and pages show it so."""

    @wraps(view)
    def in_their_zone(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        zone = viewer_zone(request)
        if not zone:
            return view(request, *args, **kwargs)
        with timezone.override(ZoneInfo(zone)):
            return view(request, *args, **kwargs)

    return in_their_zone
