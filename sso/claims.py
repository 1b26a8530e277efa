"""What an ID token and the provider's claims must say before anyone is signed in: pure rules,
no HTTP and no database, so each refusal is tested on its own."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Refusal(StrEnum):
    """Why a sign-in through the provider was refused; each has its own page text."""

    BAD_STATE = "bad-state"
    PROVIDER_ERROR = "provider-error"
    PROVIDER_UNREACHABLE = "provider-unreachable"
    BAD_TOKEN = "bad-token"
    WRONG_ISSUER = "wrong-issuer"
    WRONG_AUDIENCE = "wrong-audience"
    EXPIRED = "expired"
    NO_EMAIL = "no-email"
    UNVERIFIED_EMAIL = "unverified-email"
    UNKNOWN_EMAIL = "unknown-email"
    INACTIVE = "inactive"


# Title and advice shown on the refusal page.
EXPLANATIONS: dict[Refusal, tuple[str, str]] = {
    Refusal.BAD_STATE: (
        "This sign-in link was already used or has expired",
        "Start again from the log-in page; a sign-in begun in another tab or browser cannot "
        "be finished here.",
    ),
    Refusal.PROVIDER_ERROR: (
        "The identity provider did not sign you in",
        "It answered with an error (or the sign-in was cancelled). Try again from the log-in page.",
    ),
    Refusal.PROVIDER_UNREACHABLE: (
        "The identity provider cannot be reached",
        "Try again in a minute; if it persists, tell whoever runs the portal.",
    ),
    Refusal.BAD_TOKEN: (
        "The identity provider's answer could not be trusted",
        "Its signature or one-time code did not match. Start again from the log-in page.",
    ),
    Refusal.WRONG_ISSUER: (
        "The sign-in came from another identity provider",
        "The portal only accepts sign-ins from the provider it is set up with.",
    ),
    Refusal.WRONG_AUDIENCE: (
        "The sign-in was meant for another application",
        "The identity provider issued it to a different client than this portal.",
    ),
    Refusal.EXPIRED: (
        "The sign-in has expired",
        "The identity provider's token was no longer valid when it arrived. Start again "
        "(and check the clocks if it keeps happening).",
    ),
    Refusal.NO_EMAIL: (
        "The identity provider did not share your email address",
        "The portal finds you by email: allow it to read your email address and try again.",
    ),
    Refusal.UNVERIFIED_EMAIL: (
        "Your email address is not verified with the identity provider",
        "Verify it there first; the portal only trusts verified addresses.",
    ),
    Refusal.UNKNOWN_EMAIL: (
        "No engineer with this email",
        "Ask a manager to add you to the portal with this email address.",
    ),
    Refusal.INACTIVE: (
        "Your account is turned off",
        "Ask a manager to turn it back on.",
    ),
}


class SignInRefusedError(Exception):
    """A sign-in through the provider refused for ``reason``; nothing was written. ``email``:
    the address the provider gave, when the refusal is about it (the page shows it)."""

    def __init__(self, reason: Refusal, *, email: str = "") -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.email = email


def id_token_refusal(
    payload: Mapping[str, Any], *, issuer: str, client_id: str, now: float
) -> Refusal | None:
    """Why a signature-checked ID token is not for this portal now, or None (OpenID Connect
    Core 3.1.3.7: issuer, audience, authorized party, expiry)."""
    if payload.get("iss") != issuer:
        return Refusal.WRONG_ISSUER
    audience = payload.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    if client_id not in audiences:
        return Refusal.WRONG_AUDIENCE
    # With several audiences the token names the client it was issued to.
    if len(audiences) > 1 and payload.get("azp") != client_id:
        return Refusal.WRONG_AUDIENCE
    expires = payload.get("exp")
    if not isinstance(expires, int | float) or expires <= now:
        return Refusal.EXPIRED
    if not payload.get("sub"):
        return Refusal.BAD_TOKEN
    return None


def verified_email(claims: Mapping[str, Any]) -> str:
    """The email the claims vouch for, lower-cased; refused when missing or not verified.

    Some providers send ``email_verified`` as the string "true"; anything else is not a yes."""
    email = str(claims.get("email") or "").strip().lower()
    if not email:
        raise SignInRefusedError(Refusal.NO_EMAIL)
    if claims.get("email_verified") not in (True, "true"):
        raise SignInRefusedError(Refusal.UNVERIFIED_EMAIL, email=email)
    return email


def in_managers_group(claims: Mapping[str, Any], *, claim: str, managers_value: str) -> bool | None:
    """Whether the groups claim names the managers' group; None when no value is set up, so
    membership is left as managers made it in the portal."""
    if not managers_value:
        return None
    groups = claims.get(claim)
    if isinstance(groups, str):
        groups = [groups]
    return managers_value in (groups or [])
