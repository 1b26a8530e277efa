"""The provider's endpoints, read once from ``OIDC_ISSUER/.well-known/openid-configuration``
(OpenID Connect Discovery 1.0), so one setting serves Google, Okta, Entra ID and Keycloak.

Reference: https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class DiscoveryError(Exception):
    """The provider's configuration could not be read, or does not describe that issuer."""


@dataclass(frozen=True)
class ProviderEndpoints:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str


_known: dict[str, ProviderEndpoints] = {}
_lock = threading.Lock()


def provider_endpoints(issuer: str, *, client: httpx.Client | None = None) -> ProviderEndpoints:
    """The endpoints of ``issuer``, fetched on first use and then remembered by this process.

    Raises DiscoveryError when the document cannot be fetched or names another issuer (the
    spec requires them equal, which stops a look-alike document redirecting tokens). Only
    successes are remembered, so a provider down at start-up is asked again next time."""
    with _lock:
        if issuer in _known:
            return _known[issuer]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        if client is None:
            with httpx.Client(timeout=TIMEOUT) as own_client:
                document = own_client.get(url).raise_for_status().json()
        else:
            document = client.get(url).raise_for_status().json()
        endpoints = ProviderEndpoints(
            issuer=document["issuer"],
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            userinfo_endpoint=document["userinfo_endpoint"],
            jwks_uri=document["jwks_uri"],
        )
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        raise DiscoveryError(f"{url}: {error!r}") from error
    if endpoints.issuer != issuer:
        raise DiscoveryError(f"{url} describes issuer {endpoints.issuer!r}, not {issuer!r}")
    with _lock:
        _known[issuer] = endpoints
    return endpoints


def forget_endpoints() -> None:
    """Forget every remembered document (tests start providers on new ports)."""
    with _lock:
        _known.clear()
