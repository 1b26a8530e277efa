"""The PagerDuty REST v2 client: escalation policies, users, incidents and their log entries,
and schedule ICS feeds.

One ``httpx.Client`` with explicit timeouts carries every call, so tests swap the network for
``httpx.MockTransport(FakePagerDuty().handler)`` and nothing else. Why it is shaped this way
(see shared/pagerduty/REFERENCE.md):
- Rate limits (960 requests a minute per token) answer 429; we wait ``ratelimit-reset`` seconds,
  or back off with jitter when the headers are missing, as PagerDuty warns can happen.
- Timeouts, 408 and 5xx are retried only for GET and PUT, which PagerDuty treats as
  idempotent; a POST (overrides, should one be added) that timed out may have been applied,
  so it is never sent twice. A 429 was refused unprocessed, so it is retried for any method.
- Every retry loop is capped in attempts *and* in time, so a django-q2 task ends in its timeout.
- 401 and 403 mean a bad token or a missing permission: retrying cannot help, so we raise at once.
- ``x-request-id`` is logged for every answer (PagerDuty support asks for it); the token and
  feed URLs (bearer credentials both) never reach a log line or an error message.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
from django.conf import settings

from portal.logmask import MaskInArguments
from portal.outbound import OutboundRefusedError, Resolver, checked_target

log = logging.getLogger("pagerduty.client")

Params = list[tuple[str, str | int | float | bool | None]]

ACCEPT = "application/vnd.pagerduty+json;version=2"
PAGE_SIZE = 100  # the API's maximum
# Reference: https://developer.pagerduty.com/docs/rest-api-v2/pagination/ (offset+limit <= 10000)
OFFSET_CAP = 10_000
IDEMPOTENT = frozenset({"GET", "PUT"})
FIRST_BACKOFF = 1.0  # seconds; doubled per retry
RESET_MARGIN = (0.5, 1.0)  # added to ratelimit-reset: it is whole seconds, and spreads workers
BACKOFF_JITTER = (1.0, 1.3)  # the factor Terraform's PagerDuty client uses
# Where schedule feeds are served: <subdomain>.pagerduty.com, or <subdomain>.eu.pagerduty.com.
FEED_HOSTS = ("*.pagerduty.com",)
# A year of weekly shifts is about 100 KB; anything near this is not a schedule feed.
FEED_MAX_BYTES = 5_000_000
FEED_DEADLINE = 30.0  # seconds for a whole feed download, however slowly it trickles


class PagerDutyError(Exception):
    """A failed PagerDuty call. ``message`` is one line for people and never holds a credential."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        request_id: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retryable = retryable


class PagerDuty:
    """A PagerDuty REST v2 client. Methods return unwrapped entities or raise PagerDutyError.

    ``calls`` counts HTTP requests (retries included); ``request_ids`` lists the
    ``x-request-id`` of every answer in order. ``sleep`` is injectable so tests never wait.
    """

    def __init__(
        self,
        token: str,
        base_url: str = "https://api.pagerduty.com",
        *,
        from_email: str = "",
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        max_attempts: int = 4,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        feed_hosts: Sequence[str] = FEED_HOSTS,
        feed_trusted_origins: Sequence[str] = (),
        feed_max_bytes: int = FEED_MAX_BYTES,
        feed_deadline: float = FEED_DEADLINE,
        resolve: Resolver | None = None,
    ) -> None:
        self._token = token
        self._feed_hosts = feed_hosts
        self._feed_origins = feed_trusted_origins
        self._feed_max_bytes = feed_max_bytes
        self._feed_deadline = feed_deadline
        self._resolve = resolve
        self._base_url = base_url.rstrip("/")
        self._from_email = from_email
        self._max_attempts = max(1, max_attempts)
        self._max_wait = max_wait
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # PagerDuty never redirects; a 3xx is an error
            headers={"User-Agent": "oncall-portal"},
        )
        self.calls = 0
        self.request_ids: list[str] = []
        # Called before every request, retries included: a sync renews its claim here, and
        # stops (the hook raises) once the claim is lost, before sending anything more.
        self.before_request: Callable[[], None] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # Reference: https://developer.pagerduty.com/api-reference/ (Get an Escalation Policy)
    def get_escalation_policy(self, policy_id: str) -> dict[str, Any]:
        """The policy as PagerDuty holds it (rule ids and target order are not stable)."""
        answer = self._api("GET", f"/escalation_policies/{_seg(policy_id)}")
        policy: dict[str, Any] = answer["escalation_policy"]
        return policy

    # Reference: https://developer.pagerduty.com/api-reference/ (Update an Escalation Policy)
    def put_escalation_policy(self, policy_id: str, policy: dict[str, Any]) -> dict[str, Any]:
        """Replace the fields sent (``escalation_rules`` wholesale); returns the policy as saved.

        Trust this answer rather than an immediate GET: PagerDuty is eventually consistent.
        """
        body = {"escalation_policy": policy}
        path = f"/escalation_policies/{_seg(policy_id)}"
        saved: dict[str, Any] = self._api("PUT", path, json=body)["escalation_policy"]
        return saved

    # Reference: https://developer.pagerduty.com/api-reference/ (List Users)
    def find_users(self, query: str) -> list[dict[str, Any]]:
        """Every user whose name or email contains ``query`` (case-insensitive, all pages).

        PagerDuty has no email filter: match the email exactly on the result.
        """
        return self._all("/users", "users", [("query", query)])

    # Reference: https://developer.pagerduty.com/api-reference/ (Get a User)
    def get_user(self, user_id: str) -> dict[str, Any]:
        user: dict[str, Any] = self._api("GET", f"/users/{_seg(user_id)}")["user"]
        return user

    # Reference: https://developer.pagerduty.com/api-reference/ (List incidents)
    def list_incidents(
        self, service_ids: Sequence[str], since: datetime, until: datetime
    ) -> list[dict[str, Any]]:
        """Every incident of ``service_ids`` created in [since, until), whatever its status or
        urgency, all pages. PagerDuty's ``since``/``until`` filter on creation time, not on
        the last change, so a caller wanting later acknowledgements re-reads a wider window."""
        params: Params = [("service_ids[]", service_id) for service_id in service_ids]
        params += [("since", _instant(since)), ("until", _instant(until))]
        return self._all("/incidents", "incidents", params)

    # Reference: https://developer.pagerduty.com/api-reference/ (List log entries for an incident)
    def log_entries(self, incident_id: str) -> list[dict[str, Any]]:
        """The incident's overview log entries (triggers, acknowledgements, resolutions,
        escalations: not every notification sent), all pages, in PagerDuty's order."""
        path = f"/incidents/{_seg(incident_id)}/log_entries"
        return self._all(path, "log_entries", [("is_overview", "true")])

    def get_feed(self, url: str) -> str:
        """The text of a schedule's ICS feed; the URL is the credential, so no auth header.

        Only an allowed host over HTTPS (``webcal://`` is read as ``https://``), connected at
        an address checked to be public (``portal.outbound``), unless its origin is trusted;
        a redirect is an error, not followed. At most ``feed_max_bytes`` are read, within
        ``feed_deadline`` seconds. An error names the status and reason, never the body."""
        try:
            target = checked_target(
                url,
                hosts=self._feed_hosts,
                trusted_origins=self._feed_origins,
                resolve=self._resolve,
            )
        except OutboundRefusedError as refused:
            raise PagerDutyError(f"Not fetched: {refused}") from None
        shown = target.host + _FEED_KEY.sub("/private/***", target.url.path)
        headers = {"Accept": "text/calendar", **target.headers}
        response = self._send(
            "GET", str(target.url), headers, None, None, shown=shown, feed=target.extensions
        )
        try:
            return self._read_feed(response, shown)
        finally:
            response.close()

    def _read_feed(self, response: httpx.Response, shown: str) -> str:
        """The body of a streamed feed answer, refused past the size or time limit."""
        too_big = PagerDutyError(
            f"The feed at {shown} is larger than {self._feed_max_bytes / 1e6:g} MB: not read"
        )
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._feed_max_bytes:
            raise too_big
        deadline = time.monotonic() + self._feed_deadline
        received = bytearray()
        try:
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) > self._feed_max_bytes:
                    raise too_big
                # A server may trickle bytes just under the read timeout for ever.
                if time.monotonic() > deadline:
                    raise PagerDutyError(
                        f"The feed at {shown} took more than {self._feed_deadline:.0f} s to"
                        " download: not read"
                    )
        except httpx.TransportError as exc:
            raise PagerDutyError(f"PagerDuty GET {shown} failed: {type(exc).__name__}") from None
        # RFC 5545: a calendar is UTF-8. A stray byte must not hide the rest of it.
        return bytes(received).decode("utf-8-sig", errors="replace")

    def _all(self, path: str, key: str, params: Params) -> list[dict[str, Any]]:
        """Every item of an offset-paginated list. The offset advances by the items received,
        not the echoed limit, so nothing is skipped or repeated (python-pagerduty does the same).
        """
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            if offset + PAGE_SIZE > OFFSET_CAP:
                # PagerDuty answers 400 past this cap; returning a partial list would look
                # like "no such user", so say so instead.
                raise PagerDutyError(
                    f"PagerDuty {path} has more than {OFFSET_CAP} results: narrow the query"
                )
            page_params: Params = [*params, ("limit", PAGE_SIZE), ("offset", offset)]
            page = self._api("GET", path, params=page_params)
            batch = page.get(key) or []
            items.extend(batch)
            offset += len(batch)
            if not page.get("more") or not batch:
                return items

    def _api(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
    ) -> Any:
        headers = {
            "Authorization": f"Token token={self._token}",
            "Accept": ACCEPT,
            # The spec marks Content-Type required on every operation, GETs included.
            "Content-Type": "application/json",
        }
        if method != "GET" and self._from_email:
            # Attributes writes to a person in PagerDuty's audit trail when the key is an
            # account key; no operation we use requires it.
            headers["From"] = self._from_email
        response = self._send(method, self._base_url + path, headers, params, json)
        try:
            return response.json()
        except ValueError:
            raise PagerDutyError(
                f"PagerDuty {method} {_shown(response.request.url)} answered {response.status_code}"
                " with a body that is not JSON",
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            ) from None

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        params: Params | None,
        json: Any,
        *,
        shown: str | None = None,
        feed: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send with the retry rules in the module docstring; a 2xx answer, or PagerDutyError.

        ``feed`` (a feed's request extensions) streams the answer for ``_read_feed`` and keeps
        an error's body out of its message: a feed URL is entered by people, and its body
        could be anything. ``shown`` is the URL as logs and errors name it."""
        spent = 0.0  # time in requests plus the waits we asked for, against max_wait
        attempt = 0
        while True:
            attempt += 1
            if self.before_request is not None:
                self.before_request()
            self.calls += 1
            started = time.monotonic()
            error: PagerDutyError
            request = self._http.build_request(
                method, url, headers=headers, params=params, json=json, extensions=feed or {}
            )
            try:
                response = self._http.send(request, stream=feed is not None)
            except httpx.TransportError as exc:
                spent += time.monotonic() - started
                shown = shown or _shown(httpx.URL(url))
                error = PagerDutyError(
                    f"PagerDuty {method} {shown} failed: {type(exc).__name__}",
                    retryable=method in IDEMPOTENT,
                )
                error.__cause__ = exc
                log.warning("PagerDuty %s %s: %s", method, shown, type(exc).__name__)
                wait = self._backoff(attempt)
            else:
                spent += time.monotonic() - started
                request_id = response.headers.get("x-request-id")
                if request_id:
                    self.request_ids.append(request_id)
                shown = shown or _shown(response.request.url)
                log.info(
                    "PagerDuty %s %s -> %s (x-request-id %s)",
                    method, shown, response.status_code, request_id or "none",
                )  # fmt: skip
                if response.is_success:
                    return response
                if feed is None:
                    error = _error_of(response, method, shown)
                else:
                    response.close()
                    error = _status_error(response, method, shown)
                if self._token:  # in case a server ever echoes the header back
                    error.message = error.message.replace(self._token, "***")
                    error.args = (error.message,)
                wait = self._rate_limit_wait(response, attempt)
            if not error.retryable:
                raise error
            if attempt >= self._max_attempts or spent + wait > self._max_wait:
                error.message = f"{error.message}; gave up after {attempt} attempt(s)"
                error.args = (error.message,)
                raise error
            log.warning("PagerDuty %s %s: retrying in %.1f s", method, shown, wait)
            spent += wait
            self._sleep(wait)

    def _rate_limit_wait(self, response: httpx.Response, attempt: int) -> float:
        reset = response.headers.get("ratelimit-reset")
        if response.status_code == 429 and reset is not None:
            try:
                return max(0.0, float(reset)) + random.uniform(*RESET_MARGIN)
            except ValueError:
                pass
        return self._backoff(attempt)

    @staticmethod
    def _backoff(attempt: int) -> float:
        return FIRST_BACKOFF * 2.0 ** (attempt - 1) * random.uniform(*BACKOFF_JITTER)


def _status_error(response: httpx.Response, method: str, shown: str) -> PagerDutyError:
    """PagerDutyError from an answer's status line alone (a feed's body is never shown)."""
    status = response.status_code
    return PagerDutyError(
        f"PagerDuty {method} {shown} answered {status} {httpx.codes.get_reason_phrase(status)}",
        status=status,
        request_id=response.headers.get("x-request-id"),
        retryable=_retryable(status, method),
    )


def _retryable(status: int, method: str) -> bool:
    return status == 429 or ((status == 408 or status >= 500) and method in IDEMPOTENT)


def _error_of(response: httpx.Response, method: str, shown: str) -> PagerDutyError:
    """PagerDutyError from an answer, whether its ``errors`` is a list or an object."""
    status = response.status_code
    message, code, details = response.reason_phrase or "error", None, []
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        # Documented: {"error": {"message", "code", "errors": [...]}}; seen in the wild: the
        # same keys at the top level, and "errors" as {"field": ["problem", ...]}.
        inner = body.get("error", body)
        if isinstance(inner, str):
            inner = {"message": inner}
        if isinstance(inner, dict):
            message = str(inner.get("message") or message)
            code = inner["code"] if isinstance(inner.get("code"), int) else None
            details = _details(inner.get("errors", body.get("errors")))
    text = f"PagerDuty {method} {shown} answered {status}: {message}"
    if code is not None:
        text += f" (code {code})"
    if details:
        text += ": " + "; ".join(details)
    return PagerDutyError(
        " ".join(text.split()),  # one line, whatever the server sent
        status=status,
        code=code,
        request_id=response.headers.get("x-request-id"),
        retryable=_retryable(status, method),
    )


def _details(errors: Any) -> list[str]:
    if isinstance(errors, list):
        return [str(item) for item in errors]
    if isinstance(errors, dict):
        return [
            f"{field}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for field, v in errors.items()
        ]
    return [str(errors)] if errors else []


_FEED_KEY = re.compile(r"/private/[^/]+")


def _shown(url: httpx.URL) -> str:
    """A URL fit for logs: host and path, a feed's secret key masked, the query (a search
    term) dropped."""
    return url.host + _FEED_KEY.sub("/private/***", url.path)


# httpx logs every request's URL at INFO: the key of a feed URL is masked there too.
logging.getLogger("httpx").addFilter(MaskInArguments(_FEED_KEY, "/private/***"))


def _instant(when: datetime) -> str:
    """An aware instant as PagerDuty reads it: ISO 8601 in UTC."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seg(value: str) -> str:
    """An id as one path segment: an odd id can never reach another endpoint."""
    return quote(value, safe="")


def client_from_settings(
    transport: httpx.BaseTransport | None = None,
    *,
    timeout: float = 10.0,
    max_attempts: int = 4,
    max_wait: float = 30.0,
) -> PagerDuty:
    """A client configured from PAGERDUTY_API_TOKEN, PAGERDUTY_API_URL, PAGERDUTY_FROM_EMAIL,
    PAGERDUTY_FEED_HOSTS and PAGERDUTY_FEED_TRUSTED_ORIGINS; a page that must answer quickly
    passes shorter ``timeout`` and ``max_wait`` and fewer ``max_attempts``."""
    return PagerDuty(
        settings.PAGERDUTY_API_TOKEN,
        settings.PAGERDUTY_API_URL,
        from_email=settings.PAGERDUTY_FROM_EMAIL,
        transport=transport,
        feed_hosts=settings.PAGERDUTY_FEED_HOSTS,
        feed_trusted_origins=settings.PAGERDUTY_FEED_TRUSTED_ORIGINS,
        timeout=timeout,
        max_attempts=max_attempts,
        max_wait=max_wait,
    )
