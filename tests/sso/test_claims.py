"""The rules an ID token and the claims must pass, without a provider; and discovery."""

from __future__ import annotations

import httpx
import pytest

from sso.claims import (
    Refusal,
    SignInRefusedError,
    id_token_refusal,
    in_managers_group,
    verified_email,
)
from sso.discovery import DiscoveryError, forget_endpoints, provider_endpoints

ISSUER = "https://login.example.com"
NOW = 1_800_000_000.0
GOOD = {"iss": ISSUER, "aud": "portal", "sub": "123", "exp": NOW + 300}


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({}, None),
        ({"iss": "https://evil.example.com"}, Refusal.WRONG_ISSUER),
        ({"aud": "another-app"}, Refusal.WRONG_AUDIENCE),
        ({"aud": ["another-app", "portal"]}, Refusal.WRONG_AUDIENCE),
        ({"aud": ["another-app", "portal"], "azp": "portal"}, None),
        ({"aud": ["portal"]}, None),
        ({"exp": NOW}, Refusal.EXPIRED),
        ({"exp": "tomorrow"}, Refusal.EXPIRED),
        ({"sub": ""}, Refusal.BAD_TOKEN),
    ],
)
def test_an_id_token_is_for_this_portal_from_this_issuer_and_unexpired(
    change: dict[str, object], refusal: Refusal | None
) -> None:
    token = GOOD | change
    assert id_token_refusal(token, issuer=ISSUER, client_id="portal", now=NOW) == refusal


def test_a_token_without_audience_is_refused() -> None:
    token = {k: v for k, v in GOOD.items() if k != "aud"}
    assert id_token_refusal(token, issuer=ISSUER, client_id="portal", now=NOW) == (
        Refusal.WRONG_AUDIENCE
    )


@pytest.mark.parametrize("verified", [True, "true"])
def test_a_verified_email_is_read_in_lower_case(verified: object) -> None:
    claims = {"email": " Alice@Example.com", "email_verified": verified}
    assert verified_email(claims) == "alice@example.com"


@pytest.mark.parametrize(
    ("claims", "refusal"),
    [
        ({"email": "alice@example.com"}, Refusal.UNVERIFIED_EMAIL),
        ({"email": "alice@example.com", "email_verified": False}, Refusal.UNVERIFIED_EMAIL),
        ({"email": "alice@example.com", "email_verified": "yes"}, Refusal.UNVERIFIED_EMAIL),
        ({"email_verified": True}, Refusal.NO_EMAIL),
    ],
)
def test_an_email_not_vouched_for_is_refused(claims: dict[str, object], refusal: Refusal) -> None:
    with pytest.raises(SignInRefusedError) as refused:
        verified_email(claims)
    assert refused.value.reason == refusal


@pytest.mark.parametrize(
    ("groups", "manager"),
    [
        (["staff", "oncall-managers"], True),
        ("oncall-managers", True),
        (["staff"], False),
        (None, False),
    ],
)
def test_the_groups_claim_names_the_managers(groups: object, manager: bool) -> None:
    claims = {"groups": groups}
    assert in_managers_group(claims, claim="groups", managers_value="oncall-managers") is manager


def test_no_managers_value_leaves_membership_alone() -> None:
    assert in_managers_group({"groups": ["x"]}, claim="groups", managers_value="") is None


def discovery_document(issuer: str) -> dict[str, str]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/auth",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/me",
        "jwks_uri": f"{issuer}/jwks",
    }


def test_discovery_is_read_once_per_process() -> None:
    forget_endpoints()
    asked: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json=discovery_document(ISSUER))

    with httpx.Client(transport=httpx.MockTransport(provider)) as client:
        first = provider_endpoints(ISSUER, client=client)
        again = provider_endpoints(ISSUER, client=client)
    assert first == again
    assert first.token_endpoint == f"{ISSUER}/token"
    assert asked == [f"{ISSUER}/.well-known/openid-configuration"]
    forget_endpoints()


def test_a_discovery_document_for_another_issuer_is_refused() -> None:
    forget_endpoints()
    look_alike = httpx.MockTransport(
        lambda request: httpx.Response(200, json=discovery_document("https://evil.example.com"))
    )
    with httpx.Client(transport=look_alike) as client, pytest.raises(DiscoveryError):
        provider_endpoints(ISSUER, client=client)


def test_a_failed_discovery_is_asked_again() -> None:
    forget_endpoints()
    answers = iter([httpx.Response(500), httpx.Response(200, json=discovery_document(ISSUER))])
    with httpx.Client(transport=httpx.MockTransport(lambda request: next(answers))) as client:
        with pytest.raises(DiscoveryError):
            provider_endpoints(ISSUER, client=client)
        assert provider_endpoints(ISSUER, client=client).issuer == ISSUER
    forget_endpoints()
