"""Rotation pages and the ``/api/v1/oncall`` endpoint."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.models import ApiToken
from rotation.oncall import OnCallQueryError, on_call, parse_at, rotations_named


def bearer_user_id(request: HttpRequest) -> int | None:
    """The user of a valid ``Authorization: Bearer <token>`` header, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return ApiToken.objects.matching(token.strip()).values_list("user_id", flat=True).first()


@login_not_required  # it authenticates itself: a session or a bearer token, else 401 JSON
@never_cache
@require_GET
def oncall_api(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated and bearer_user_id(request) is None:
        response = JsonResponse(
            {"error": "log in, or send Authorization: Bearer <your API token>"}, status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="oncall"'
        return response
    try:
        at = parse_at(request.GET.get("at"), default=timezone.now())
        rotations = rotations_named(request.GET.get("rotation"))
    except OnCallQueryError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse([answer.as_json() for answer in on_call(rotations, at)], safe=False)
