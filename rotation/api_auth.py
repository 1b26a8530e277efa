"""What every JSON endpoint that writes shares: who is calling, and refusals as the contract says.

Session or ``Authorization: Bearer`` token. A session's write keeps Django's CSRF check; a
request a valid token authenticated is exempt (a script has no CSRF cookie, and a forger no
token). A refusal is 400 ``{"error", "rule"}``, a person without the right 403 with rule
``permission``; the actions roll back on refusal, so nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from portal.stamp import stamps
from rotation.actions import RosterError
from rotation.views import bearer_user_id

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class RefusedError(Exception):
    """A request the API answers with ``status`` (400 unless said) and the rule it breaks."""

    def __init__(self, rule: str, message: str, status: int = 400) -> None:
        self.rule, self.message, self.status = rule, message, status
        super().__init__(message)


def refusal(message: str, rule: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message, "rule": rule}, status=status)


def _no_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()  # CsrfViewMiddleware's get_response and callback; never called


def json_api(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Call ``view(request, user, ...)`` for a token's or a session's active user (401 JSON
    otherwise), and answer the actions' refusals as the contract says."""

    @login_not_required
    @csrf_exempt
    @never_cache
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user_id = bearer_user_id(request, stamps("people"), timezone.now())
        user: User | None = None
        if user_id is not None:
            user = User.objects.filter(pk=user_id, is_active=True).first()
        elif request.user.is_authenticated:
            assert isinstance(request.user, User)
            user = request.user
            writes = request.method not in SAFE_METHODS
            if writes and CsrfViewMiddleware(_no_view).process_view(request, _no_view, (), {}):
                return refusal("CSRF check failed: send the CSRF token", "csrf", 403)
        if user is None:
            response = refusal("log in, or send Authorization: Bearer <your API token>", "login")
            response.status_code = 401
            response["WWW-Authenticate"] = 'Bearer realm="oncall"'
            return response
        try:
            return view(request, user, *args, **kwargs)
        except RefusedError as refused:
            return refusal(refused.message, refused.rule, refused.status)
        except RosterError as error:
            return refusal(str(error), error.problems[0].code)
        except PermissionDenied as denied:
            return refusal(str(denied) or "you may not do that", "permission", 403)

    return wrapped
