"""Where the portal's worker may send a request to a URL that someone typed in: the allowed
hosts over HTTPS, and only to public addresses.

Why: a rotation's PagerDuty feed URLs are entered by managers and fetched by the worker. Left
open, that lets a manager make the server fetch its own internal services (a database's HTTP
port, a cloud metadata endpoint at 169.254.169.254) and read the answer back on a page. So a
URL must name an allowed host (PagerDuty's, ``*.pagerduty.com`` by default) over HTTPS on port
443, and every address its name resolves to must be public. The caller then connects to the
address that was checked, never resolving the name a second time, so a DNS answer that changes
between the check and the connection (DNS rebinding) cannot send it elsewhere.

An origin listed as trusted (``http://127.0.0.1:8025``, the local fake PagerDuty of ``make
run`` and CI) is fetched as written, without these checks: only settings can list one.

``check_url`` applies the rules that need no network (for roster files); ``checked_target``
also resolves the name (for forms, and at fetch time).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# A resolver: a host name to the addresses it stands for, as text, or OSError. Injectable.
Resolver = Callable[[str], Sequence[str]]


class OutboundRefusedError(ValueError):
    """A URL the portal will not fetch; the message says why, for the person who entered it."""


@dataclass(frozen=True)
class CheckedUrl:
    """A URL that passed ``check_url``: ``url`` is what to request (``webcal`` read as
    ``https``); ``trusted`` when its origin is listed as trusted (no address check)."""

    url: httpx.URL
    trusted: bool


@dataclass(frozen=True)
class Target:
    """Where to connect: ``url`` with its host replaced by a checked address, and the name
    to send as ``Host`` and to verify the TLS certificate against (``sni_hostname``)."""

    url: httpx.URL
    host: str

    @property
    def extensions(self) -> dict[str, str]:
        return {"sni_hostname": self.host} if self.url.host != self.host else {}

    @property
    def headers(self) -> dict[str, str]:
        return {"Host": self.host} if self.url.host != self.host else {}


def system_resolver(host: str) -> list[str]:
    """Every address the system's resolver gives for ``host``, in its order of preference;
    OSError (socket.gaierror) when it gives none."""
    answers = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def check_url(url: str, *, hosts: Iterable[str], trusted_origins: Iterable[str] = ()) -> CheckedUrl:
    """``url`` if it may be fetched as far as can be told without resolving it; else
    OutboundRefusedError. ``webcal://`` is read as ``https://``."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or not rest:
        raise OutboundRefusedError("The URL must start with webcal:// or https://.")
    if scheme.lower() == "webcal":
        text = "https://" + rest
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as error:
        raise OutboundRefusedError(f"This is not a URL: {error}.") from None
    if origin_of(parsed) in _origins(trusted_origins):
        return CheckedUrl(parsed, trusted=True)
    if parsed.scheme != "https":
        raise OutboundRefusedError("The URL must start with webcal:// or https://.")
    if parsed.userinfo:
        raise OutboundRefusedError("The URL must not carry a user name or password.")
    if parsed.port not in (None, 443):
        raise OutboundRefusedError(f"The URL must use the HTTPS port 443, not {parsed.port}.")
    host = parsed.host.rstrip(".").lower()
    patterns = [pattern.strip().lower() for pattern in hosts if pattern.strip()]
    if not any(host_matches(host, pattern) for pattern in patterns):
        allowed = ", ".join(patterns) or "none are configured"
        raise OutboundRefusedError(f"{host} is not an allowed host (allowed: {allowed}).")
    literal = _literal(host)
    if literal is not None:
        refuse_unless_public(host, [literal])
    return CheckedUrl(parsed.copy_with(host=host), trusted=False)


def checked_target(
    url: str,
    *,
    hosts: Iterable[str],
    trusted_origins: Iterable[str] = (),
    resolve: Resolver | None = None,
) -> Target:
    """Where to connect to fetch ``url``: ``check_url``, then the name resolved (by
    ``system_resolver`` unless given) and every address it gives checked; the first one is
    used. OutboundRefusedError otherwise."""
    checked = check_url(url, hosts=hosts, trusted_origins=trusted_origins)
    host = checked.url.host
    if checked.trusted:
        return Target(checked.url, host)
    literal = _literal(host)
    if literal is not None:
        return Target(checked.url, host)
    try:
        answers = (resolve or system_resolver)(host)
    except (OSError, UnicodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise OutboundRefusedError(f"{host} cannot be resolved ({reason}).") from None
    try:
        # A scoped IPv6 answer (fe80::1%eth0) carries its interface after "%".
        addresses = [ipaddress.ip_address(answer.split("%", 1)[0]) for answer in answers]
    except ValueError:
        raise OutboundRefusedError(
            f"{host} resolves to something that is not an address."
        ) from None
    if not addresses:
        raise OutboundRefusedError(f"{host} cannot be resolved (no addresses).")
    refuse_unless_public(host, addresses)
    return Target(checked.url.copy_with(host=str(addresses[0])), host)


def refuse_unless_public(host: str, addresses: Iterable[IPAddress]) -> None:
    """OutboundRefusedError naming the first address of ``host`` that is not public."""
    for address in addresses:
        kind = _not_public(address)
        if kind:
            shown = host if host == str(address) else f"{host} resolves to {address}, which"
            raise OutboundRefusedError(
                f"{shown} is a {kind} address: the portal fetches only from public addresses."
            )


def host_matches(host: str, pattern: str) -> bool:
    """``*.example.com`` matches any name below example.com (not example.com itself); any
    other pattern matches exactly."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def origin_of(url: httpx.URL) -> str:
    default = {"http": 80, "https": 443}.get(url.scheme)
    port = f":{url.port}" if url.port not in (None, default) else ""
    return f"{url.scheme}://{url.host.lower()}{port}"


def _origins(listed: Iterable[str]) -> set[str]:
    origins = set()
    for origin in listed:
        try:
            origins.add(origin_of(httpx.URL(origin.strip())))
        except httpx.InvalidURL:
            continue  # a typo in a setting trusts nothing
    return origins


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _not_public(address: IPAddress) -> str:
    """What kind of non-public address this is, or '' for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address it carries.
        address = address.ipv4_mapped
    # In this order: 127.0.0.1 and 169.254.169.254 are "private" to ipaddress as well.
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if flag:
            return kind
    # Shared (100.64.0.0/10), documentation and other special ranges are neither private nor
    # public: only a globally routable address goes.
    return "" if address.is_global else "non-public"
