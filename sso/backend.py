"""mozilla-django-oidc's backend, pointed at the discovered provider, checking what the library
leaves out, and linking engineers by verified email.

The library checks the ID token's signature against the provider's JWKS (RS256 only), its
expiry (PyJWT) and the nonce; it skips the issuer and the audience, which
``sso.claims.id_token_refusal`` checks here."""

from __future__ import annotations

import time
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from portal.auth import RememberingModelBackend
from sso.actions import sign_in_engineer
from sso.claims import (
    Refusal,
    SignInRefusedError,
    id_token_refusal,
    in_managers_group,
    verified_email,
)
from sso.discovery import ProviderEndpoints, provider_endpoints


def sso_enabled() -> bool:
    return bool(settings.OIDC_ISSUER)


def endpoints() -> ProviderEndpoints:
    return provider_endpoints(settings.OIDC_ISSUER)


class ProviderBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    """Signs in through the provider at OIDC_ISSUER; raises SignInRefusedError with the reason
    when it refuses, so the callback can say which."""

    OIDC_RP_SIGN_ALGO = "RS256"
    OIDC_RP_IDP_SIGN_KEY = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads every endpoint here; a session's user is loaded through this
        # backend on every page, so the provider is asked only when someone signs in.
        self.UserModel = User

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # noqa: N802 (the library's name)
        return endpoints().token_endpoint

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:  # noqa: N802
        return endpoints().userinfo_endpoint

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:  # noqa: N802
        return endpoints().jwks_uri

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:  # noqa: N802
        return str(settings.OIDC_CLIENT_ID)

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:  # noqa: N802
        return str(settings.OIDC_CLIENT_SECRET)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if not sso_enabled() or request is None or "nonce" not in kwargs:
            return None  # a password login, or single sign-on not set up
        user: User | None = super().authenticate(request, **kwargs)
        return user

    def get_user(self, user_id: Any) -> User | None:
        return RememberingModelBackend().get_user(user_id)

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = super().verify_token(token, **kwargs)
        except jwt.ExpiredSignatureError as error:
            raise SignInRefusedError(Refusal.EXPIRED) from error
        except (jwt.InvalidTokenError, SuspiciousOperation) as error:
            raise SignInRefusedError(Refusal.BAD_TOKEN) from error
        if "nonce" in kwargs:  # the ID token (a signed userinfo answer has no audience rule)
            refusal = id_token_refusal(
                payload,
                issuer=endpoints().issuer,
                client_id=self.OIDC_RP_CLIENT_ID,
                now=time.time(),
            )
            if refusal is not None:
                raise SignInRefusedError(refusal)
        return payload

    def get_userinfo(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """The userinfo endpoint's claims under the ID token's own (which are signed); the
        two must be about the same subject (OpenID Connect Core 5.3.2)."""
        userinfo: dict[str, Any] = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SignInRefusedError(Refusal.BAD_TOKEN)
        return {**userinfo, **payload}

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        claims = self.get_userinfo(access_token, id_token, payload)
        is_manager = in_managers_group(
            claims, claim=settings.OIDC_GROUPS_CLAIM, managers_value=settings.OIDC_MANAGERS_GROUP
        )
        return sign_in_engineer(verified_email(claims), is_manager=is_manager)
