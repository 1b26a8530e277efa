"""The dashboard, the health check and the personal API token page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal import actions
from portal.models import ApiToken
from rotation.models import Engineer, Rotation, Shift
from rotation.oncall import on_call


def signed_in_user(request: HttpRequest) -> User:
    """The user of a view behind LoginRequiredMiddleware."""
    assert isinstance(request.user, User)
    return request.user


def engineer_of(request: HttpRequest) -> Engineer | None:
    return Engineer.objects.filter(user=signed_in_user(request)).first()


@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    me = engineer_of(request)
    my_next = (
        Shift.objects.upcoming_for(me, now)
        .exclude(role="shadow")
        .select_related("rotation")
        .first()
        if me
        else None
    )
    context = {
        "now": now,
        "answers": on_call(list(Rotation.objects.all()), now),
        "me": me,
        "my_next": my_next,
        # Without a zone on their profile, the browser shows the viewer's own time (portal.js).
        "my_zone": me.time_zone if me else "",
        "my_next_zone": (me.time_zone if me else "")
        or (my_next.rotation.time_zone if my_next else ""),
    }
    return render(request, "portal/dashboard.html", context)


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return JsonResponse({"status": "error", "database": str(error)}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def api_token(request: HttpRequest) -> HttpResponse:
    has_token = ApiToken.objects.filter(user=signed_in_user(request)).exists()
    return render(request, "portal/api_token.html", {"has_token": has_token})


@require_POST
def api_token_rotate(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    token = actions.rotate_api_token(user, by=user)
    messages.success(request, "A new token was created; the old one no longer works.")
    return render(request, "portal/api_token.html", {"has_token": True, "token": token})


@require_POST
def api_token_revoke(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    actions.revoke_api_token(user, by=user)
    messages.success(request, "Your API token was revoked.")
    return redirect("portal:api_token")
