"""The two ends of a sign-in through the provider, and the page that says why one was refused."""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from sso.backend import endpoints, sso_enabled
from sso.claims import EXPLANATIONS, Refusal, SignInRefusedError
from sso.discovery import DiscoveryError

STATUS = {Refusal.PROVIDER_UNREACHABLE: 503, Refusal.BAD_STATE: 400}
logger = logging.getLogger(__name__)


def refused(request: HttpRequest, reason: Refusal, *, email: str = "") -> HttpResponse:
    # For whoever runs the portal: a wave of one reason points at the provider's setup.
    logger.warning("single sign-on refused: %s", reason.value)
    title, advice = EXPLANATIONS[reason]
    context = {"reason": reason.value, "title": title, "advice": advice, "email": email}
    return render(request, "sso/refused.html", context, status=STATUS.get(reason, 403))


class StartView(OIDCAuthenticationRequestView):  # type: ignore[misc]
    """/sso/start/: off to the provider's authorization endpoint, with state, nonce and PKCE."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads the endpoint from settings here; it is discovered in get().
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso_enabled():
            raise Http404("Single sign-on is not set up.")
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID
        try:
            self.OIDC_OP_AUTH_ENDPOINT = endpoints().authorization_endpoint
        except DiscoveryError:
            return refused(request, Refusal.PROVIDER_UNREACHABLE)
        response: HttpResponse = super().get(request)
        return response


class CallbackView(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    """/sso/callback/: the provider sends the browser back here with a code, or an error."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso_enabled():
            raise Http404("Single sign-on is not set up.")
        if request.GET.get("error"):
            super().get(request)  # forgets the state and logs out, as the library does
            return refused(request, Refusal.PROVIDER_ERROR)
        # The library raises SuspiciousOperation (a bare 400) for a state it did not hand out.
        if request.GET.get("state") not in request.session.get("oidc_states", {}):
            return refused(request, Refusal.BAD_STATE)
        try:
            response: HttpResponse = super().get(request)
        except SignInRefusedError as refusal:
            return refused(request, refusal.reason, email=refusal.email)
        except requests.HTTPError as error:
            # The token endpoint said no: a code used twice, or a wrong client secret.
            logger.warning("the provider refused the code: %s", error)
            return refused(request, Refusal.PROVIDER_ERROR)
        except (DiscoveryError, requests.RequestException) as error:
            logger.warning("the provider could not be reached: %s", error)
            return refused(request, Refusal.PROVIDER_UNREACHABLE)
        return response

    def login_failure(self) -> HttpResponse:
        # An answer without a code, or a user turned off since (the backend gave no reason).
        reason = Refusal.INACTIVE if self.request.GET.get("code") else Refusal.PROVIDER_ERROR
        return refused(self.request, reason)


start = login_not_required(StartView.as_view())
callback = login_not_required(CallbackView.as_view())
