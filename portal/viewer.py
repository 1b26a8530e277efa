"""Who is looking at a page: the signed-in user, and the zone their times are shown in.

Every room's views use these, so they live apart from the dashboard's views (importing those
would drag every room into every other)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from rotation.models import Engineer


def signed_in_user(request: HttpRequest) -> User:
    """The user of a view behind LoginRequiredMiddleware."""
    assert isinstance(request.user, User)
    return request.user


def in_viewer_zone[**P](
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Runs ``view`` in the viewer's own zone (their engineer profile's, else the portal's), so
    a time typed into a form means what the person typing it meant, and pages show it so."""

    @wraps(view)
    def in_their_zone(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        user = signed_in_user(request)
        zone = Engineer.objects.filter(user=user).values_list("time_zone", flat=True).first()
        if not zone:
            return view(request, *args, **kwargs)
        with timezone.override(ZoneInfo(zone)):
            return view(request, *args, **kwargs)

    return in_their_zone
