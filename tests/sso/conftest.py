"""Single sign-on tests talk to a real OpenID provider, started once for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sso.discovery import forget_endpoints
from tests.sso.provider import CLIENT_ID, CLIENT_SECRET, running_provider

# The Django test client's host: the redirect URI the portal sends the provider.
TEST_CALLBACK = "http://testserver/sso/callback/"


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[str]:
    with running_provider(TEST_CALLBACK) as issuer:
        yield issuer


def use_provider(settings: object, issuer: str) -> None:
    """Points the portal at ``issuer``, managers being those in its "oncall-managers" group."""
    forget_endpoints()
    settings.OIDC_ISSUER = issuer  # type: ignore[attr-defined]
    settings.OIDC_CLIENT_ID = CLIENT_ID  # type: ignore[attr-defined]
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET  # type: ignore[attr-defined]
    settings.OIDC_RP_SCOPES = "openid email profile groups"  # type: ignore[attr-defined]
    settings.OIDC_MANAGERS_GROUP = "oncall-managers"  # type: ignore[attr-defined]
    settings.OIDC_PROVIDER_NAME = "Test Identity"  # type: ignore[attr-defined]


@pytest.fixture
def sso(settings: object, oidc_issuer: str) -> str:
    use_provider(settings, oidc_issuer)
    return oidc_issuer
