"""Slack's two endpoints: ``POST /slack/commands`` (``/oncall``) and ``POST /slack/interactions``
(the buttons). No login: Slack's request signature is the credential, checked first with
slack-sdk's SignatureVerifier (a missing, wrong or older than five minutes one gets 401 and
nothing is done)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.signature import SignatureVerifier

from slack_app import app
from slack_app.client import TIMEOUT

View = Callable[[HttpRequest], HttpResponse]


def signed_by_slack(view: View) -> View:
    """Let through only requests Slack signed within five minutes (SignatureVerifier's own
    window); the body is read raw, before any parsing, since the signature covers its bytes."""

    @login_not_required  # Slack's signature is the credential (README, "Slack app")
    @csrf_exempt  # Slack posts no CSRF token; the signature covers the body instead
    @require_POST
    def checked(request: HttpRequest) -> HttpResponse:
        secret = settings.SLACK_SIGNING_SECRET
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not (secret and timestamp and signature):
            return HttpResponse("Missing Slack signature.", status=401, content_type="text/plain")
        if not SignatureVerifier(secret).is_valid(request.body, timestamp, signature):
            return HttpResponse(
                "Bad or expired Slack signature.", status=401, content_type="text/plain"
            )
        return view(request)

    return checked


@signed_by_slack
def commands(request: HttpRequest) -> HttpResponse:
    """``/oncall [rotation]``: answered at once, only to the asker."""
    return JsonResponse(app.oncall_answer(request.POST.get("text", ""), timezone.now()))


def may_respond_to(url: str) -> bool:
    """A response_url is Slack's (or, in tests and the demo, the stand-in's at SLACK_API_URL):
    the portal posts nowhere else, whatever a request names."""
    parts, api = urlsplit(url), urlsplit(settings.SLACK_API_URL)
    slack = parts.scheme == "https" and parts.hostname == "hooks.slack.com"
    return slack or (parts.scheme, parts.netloc) == (api.scheme, api.netloc)


@signed_by_slack
def interactions(request: HttpRequest) -> HttpResponse:
    """A button clicked: run its action, then tell Slack the outcome at the response_url."""
    try:
        payload = json.loads(request.POST.get("payload", ""))
        user, action = payload["user"]["id"], payload["actions"][0]
        action_id, value = str(action["action_id"]), str(action.get("value", ""))
    except (ValueError, KeyError, IndexError, TypeError):
        return HttpResponse("Not an interaction payload.", status=400, content_type="text/plain")
    if payload.get("type") != "block_actions":
        return HttpResponse(status=200)  # nothing else is asked of the app
    answer = app.decide(str(user), action_id, value, timezone.now())
    response_url = str(payload.get("response_url", ""))
    if may_respond_to(response_url):
        # The action is done either way (the portal's pages show it) if Slack cannot be told.
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(response_url, json=answer, timeout=TIMEOUT)
    return HttpResponse(status=200)
