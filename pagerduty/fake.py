"""A stateful fake PagerDuty: the REST v2 endpoints the portal uses (escalation policies, users,
incidents and their log entries), and schedule ICS feeds.

Tests bind the client to it with ``httpx.MockTransport(fake.handler)``; ``manage.py
fake_pagerduty`` serves the same handler over WSGI for ``make run``, seeded from the database.
It keeps the rules of shared/pagerduty/REFERENCE.md section 10, so the client and the sync job
meet the real API's quirks here first: token auth (401, code 2006), wrapped entities with
``self``/``html_url``, offset pagination (limit clamped to 100, 25 by default; offset+limit
over 10000 is a 400; ``total`` null unless asked), PUT validation with fresh rule ids and
targets *not* kept in the order sent (the real API does not keep it either), and faults on
demand (also at the n-th request from now: ``fail_at``). Incidents are filtered as the real
API filters them: ``since``/``until`` on creation time, ``service_ids[]``, ``statuses[]``,
``urgencies[]``; ``date_range=all`` ignores the window. State lives in plain dicts shaped like the API's answers, so tests can read and edit it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from wsgiref.types import StartResponse, WSGIEnvironment

import httpx

ACCEPT = "application/vnd.pagerduty+json;version=2"
WEB_URL = "https://demo.pagerduty.com"
TARGET_TYPES = {"user", "user_reference", "schedule", "schedule_reference", "schedule_v3_reference"}
# Default message and code of each status: REFERENCE section 5.
ERRORS: dict[int, tuple[str, int | None]] = {
    400: ("Invalid Input Provided", 2001),
    401: ("Authentication failed", 2006),
    402: ("Missing Account Ability", 2014),
    403: ("Access Denied", 2010),
    404: ("Not Found", 2100),
    408: ("Request Timeout", None),
    429: ("Rate Limit Exceeded", 2020),
}
USER_INCLUDES = {"contact_methods", "notification_rules", "teams", "subdomains"}
# The delay of the policy the portal keeps (pagerduty.sync.DELAY_MINUTES): an incident left
# unacknowledged this long escalates to level 2.
ESCALATE_AFTER = timedelta(minutes=5)
INCIDENT_STATUSES = ("triggered", "acknowledged", "resolved")
URGENCIES = ("high", "low")
LOG_ENTRY_SUMMARIES = {
    "trigger_log_entry": "Triggered through the API",
    "acknowledge_log_entry": "Acknowledged",
    "resolve_log_entry": "Resolved",
    "escalate_log_entry": "Escalated to level 2 by timeout",
}
POLICY_INCLUDES = {"services", "teams", "targets", "escalation_rule_assignment_strategies"}
INCIDENT_INCLUDES = {
    "acknowledgers", "agents", "assignees", "conference_bridge", "escalation_policies",
    "first_trigger_log_entries", "priorities", "services", "teams", "users",
}  # fmt: skip
LOG_ENTRY_INCLUDES = {"incidents", "services", "channels", "teams"}
# What ``is_overview=true`` keeps: the changes of state, not each notification sent.
OVERVIEW_TYPES = {
    "trigger_log_entry", "acknowledge_log_entry", "resolve_log_entry", "escalate_log_entry",
    "reassign_log_entry", "annotate_log_entry",
}  # fmt: skip
FEED_PATH = re.compile(r"^/private/[^/]+/feed/([^/]+)$")
# What the fake's DNS answers for a PagerDuty name: a public address. Over MockTransport
# nothing connects to it; the client checks it and sends the request there.
PUBLIC_ADDRESS = "52.1.1.1"


class _AnswerError(Exception):
    """An error answer, raised anywhere in a route."""

    def __init__(self, status: int, errors: Iterable[str] = (), **error: Any) -> None:
        super().__init__(status)
        message, code = ERRORS.get(status, (httpx.codes.get_reason_phrase(status), None))
        self.body = {"message": message, "code": code, **error}
        if errors:
            self.body["errors"] = list(errors)
        if self.body["code"] is None:
            del self.body["code"]
        self.status = status


@dataclass
class _Fault:
    status: int
    headers: dict[str, str] | None
    errors_as_object: bool


class FakePagerDuty:
    """The fake. ``allow_assignment_strategy`` switches the 403 for a rule's
    ``escalation_rule_assignment_strategy`` (accounts without round robin get it) off."""

    def __init__(self, token: str = "fake-token", *, api_url: str = "https://api.pagerduty.com"):
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.users: dict[str, dict[str, Any]] = {}
        self.escalation_policies: dict[str, dict[str, Any]] = {}
        self.schedule_feeds: dict[str, str] = {}  # feed path -> ICS text
        self.services: dict[str, str] = {}  # service id -> name
        self.incidents: dict[str, dict[str, Any]] = {}
        self.log_entries: dict[str, list[dict[str, Any]]] = {}  # incident id -> newest first
        self.dns: dict[str, list[str]] = {}  # host -> addresses, over PUBLIC_ADDRESS
        self.requests: list[httpx.Request] = []
        self.allow_assignment_strategy = False
        # Seconds every write (PUT) waits before it is applied, when served over WSGI: a slow
        # PagerDuty, so that a worker can be killed in the middle of a sync.
        self.write_delay = 0.0
        self._faults: deque[_Fault] = deque()
        self._faults_at: dict[int, _Fault] = {}  # request number -> its fault
        self._delays: deque[float] = deque()
        self._serial = itertools.count(1)  # rule ids
        self._request_serial = itertools.count(1)
        self._lock = threading.RLock()

    # -- state ---------------------------------------------------------------------------

    def add_user(
        self, name: str, email: str, user_id: str | None = None, *, time_zone: str = "Etc/UTC"
    ) -> dict[str, Any]:
        if user_id is None:
            user_id = next(
                f"PUSER{n:02d}" for n in itertools.count(len(self.users) + 1)
                if f"PUSER{n:02d}" not in self.users
            )  # fmt: skip
        user = {
            **self._entity("user", user_id, "users", name),
            "name": name,
            "email": email,
            "time_zone": time_zone,
            "role": "user",
            "invitation_sent": False,
            "teams": [],
            "contact_methods": [],
            "notification_rules": [],
        }
        self.users[user_id] = user
        return user

    def add_escalation_policy(
        self,
        policy_id: str,
        name: str,
        levels: list[list[str]],
        delay_minutes: int = 30,
        **other_fields: Any,
    ) -> dict[str, Any]:
        """A policy with one rule per level; each level lists user ids."""
        rules = [
            {"escalation_delay_in_minutes": delay_minutes, "targets": self._targets(level)}
            for level in levels
        ]
        policy = {
            **self._entity("escalation_policy", policy_id, "escalation_policies", name),
            "name": name,
            "description": "",
            "num_loops": 0,
            "on_call_handoff_notifications": "if_has_services",
            "escalation_rules": [self._rule(rule) for rule in rules],
            "services": [],
            "teams": [],
            **other_fields,
        }
        self.escalation_policies[policy_id] = policy
        return policy

    def add_schedule_feed(self, key: str, schedule_id: str, ics_text: str) -> str:
        """Serve ``ics_text`` at the returned path, /private/<key>/feed/<schedule_id>."""
        path = f"/private/{key}/feed/{schedule_id}"
        self.schedule_feeds[path] = ics_text
        return path

    def add_incident(
        self,
        incident_id: str,
        title: str,
        service_id: str,
        created_at: datetime,
        *,
        urgency: str = "high",
        priority: str | None = None,
        acknowledged_at: datetime | None = None,
        resolved_at: datetime | None = None,
        acknowledged_by: str | None = None,
        escalate_after: timedelta | None = ESCALATE_AFTER,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """An incident on ``service_id`` (named as in ``services``; a "P1".."P5" ``priority`` if
        given), with its trigger, acknowledge and resolve log entries; its status follows the
        times given. The acknowledge entry's agent is the user ``acknowledged_by``, if given.

        Left unacknowledged (and unresolved) for ``escalate_after`` (the portal's policy delay;
        None for a policy of one level), it escalates: an ``escalate_log_entry`` on the
        ``timeout`` channel at that instant, as PagerDuty writes when a level's delay runs out.
        A still open incident escalates only once ``now`` (default: the real clock) is past it."""
        number = len(self.incidents) + 1
        status = "resolved" if resolved_at else "acknowledged" if acknowledged_at else "triggered"
        name = self.services.get(service_id, f"Service {service_id}")
        service = self._entity("service", service_id, "services", name)
        changed = resolved_at or acknowledged_at or created_at
        incident = {
            **self._entity("incident", incident_id, "incidents", f"[#{number}] {title}"),
            "incident_number": number,
            "title": title,
            "created_at": _stamp(created_at),
            "updated_at": _stamp(changed),
            "status": status,
            "incident_key": hashlib.sha256(incident_id.encode()).hexdigest()[:32],
            "service": _reference(service, "service_reference"),
            "assignments": [],
            "acknowledgements": [],
            "last_status_change_at": _stamp(changed),
            "escalation_policy": None,
            "teams": [],
            "urgency": urgency,
            "priority": None,
            "resolved_at": _stamp(resolved_at) if resolved_at else None,
        }
        if priority:
            entity = self._entity("priority", f"PPRIO{priority[-1]}", "priorities", priority)
            incident["priority"] = _reference(entity, "priority_reference") | {"name": priority}
        self.incidents[incident_id] = incident
        entries = [("trigger_log_entry", created_at)]
        if escalate_after is not None:
            escalates_at = created_at + escalate_after
            answered = min([t for t in (acknowledged_at, resolved_at) if t], default=None)
            if (answered or now or datetime.now(UTC)) > escalates_at:
                entries.append(("escalate_log_entry", escalates_at))
        if acknowledged_at:
            entries.append(("acknowledge_log_entry", acknowledged_at))
        if resolved_at:
            entries.append(("resolve_log_entry", resolved_at))
        entries.sort(key=lambda entry: entry[1])
        self.log_entries[incident_id] = [
            self._log_entry(incident, kind, at, acknowledged_by) for kind, at in reversed(entries)
        ]
        return incident

    def _log_entry(
        self, incident: dict[str, Any], kind: str, at: datetime, acknowledged_by: str | None
    ) -> dict[str, Any]:
        entry_id = _uid(incident["id"], kind, _stamp(at))
        channel = {"trigger_log_entry": "api", "escalate_log_entry": "timeout"}.get(kind, "web")
        agent = {}
        if kind == "acknowledge_log_entry" and acknowledged_by:
            user = self.users.get(acknowledged_by)
            if user is None:
                user = self._entity("user", acknowledged_by, "users", acknowledged_by)
            agent = {"agent": _reference(user, "user_reference")}
        return {
            "id": entry_id,
            "type": kind,
            "summary": LOG_ENTRY_SUMMARIES[kind],
            "self": f"{self.api_url}/log_entries/{entry_id}",
            "html_url": f"{incident['html_url']}/log_entries/{entry_id}",
            "created_at": _stamp(at),
            "channel": {"type": channel},
            **agent,
            "incident": _reference(incident, "incident_reference"),
            "service": incident["service"],
            "teams": [],
        }

    def resolve(self, host: str) -> list[str]:
        """The fake's DNS, for the client's ``resolve``: ``dns[host]`` when set, else
        PUBLIC_ADDRESS for a name under pagerduty.com; any other name is unknown."""
        if host in self.dns:
            return self.dns[host]
        if host.endswith(".pagerduty.com"):
            return [PUBLIC_ADDRESS]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # -- faults ----------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        errors_as_object: bool = False,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests (any path) with ``status``.

        A 429 carries ``ratelimit-limit/remaining/reset`` (960/0/20) and code 2020 unless
        ``headers`` is given; ``headers={}`` gives the bare 429 PagerDuty warns about (no
        headers, no body). ``errors_as_object`` answers a 3001 "Invalid Schedule" whose
        ``errors`` is an object, as some endpoints have done.
        """
        for _ in range(times):
            self._faults.append(_Fault(status, headers, errors_as_object))

    def fail_at(self, number: int, status: int = 429) -> None:
        """Answer the ``number``-th request from now (1 is the next) with ``status``, once;
        a 429 as ``fail_next`` gives it, with the ``ratelimit-*`` headers."""
        with self._lock:
            self._faults_at[len(self.requests) + number] = _Fault(status, None, False)

    def slow_next(self, seconds: float) -> None:
        """Make the next answer take ``seconds``.

        Over MockTransport there is no clock to wait on: when ``seconds`` reaches the client's
        read timeout the handler raises ``httpx.ReadTimeout`` (what the client would see);
        a shorter delay answers at once, as nothing but wall time would differ. Over WSGI
        (the local server) the answer really is delayed, and the client's own timeout fires.
        """
        self._delays.append(seconds)

    # -- transport -----------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def handler(self, request: httpx.Request) -> httpx.Response:
        return self._answer(request, real_time=False)

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = [
            (key[5:].replace("_", "-").lower(), value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        ]
        if environ.get("CONTENT_TYPE"):
            headers.append(("content-type", environ["CONTENT_TYPE"]))
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        # PATH_INFO arrives decoded (as latin-1 text): quote it back into a URL.
        path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/:@!$&'()*+,;=-._~")
        query = environ.get("QUERY_STRING", "")
        url = f"{environ['wsgi.url_scheme']}://{host}{path}" + (f"?{query}" if query else "")
        body = environ["wsgi.input"].read(length) if length else b""
        request = httpx.Request(environ["REQUEST_METHOD"], url, headers=headers, content=body)
        response = self._answer(request, real_time=True)
        start_response(
            f"{response.status_code} {response.reason_phrase}", list(response.headers.items())
        )
        return [response.content]

    def _answer(self, request: httpx.Request, *, real_time: bool) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            delay = self._delays.popleft() if self._delays else 0.0
            fault = self._faults.popleft() if self._faults else None
            fault = self._faults_at.pop(len(self.requests), fault)
        if delay:
            timeout = request.extensions.get("timeout", {}).get("read")
            if not real_time and timeout is not None and delay >= timeout:
                raise httpx.ReadTimeout(f"fake PagerDuty took {delay} s", request=request)
            if real_time:
                time.sleep(delay)
        if real_time and self.write_delay and request.method not in ("GET", "HEAD"):
            time.sleep(self.write_delay)
        headers = {"x-request-id": f"fake-req-{next(self._request_serial):06d}"}
        if fault is not None:
            return self._fault_answer(fault, headers)
        try:
            with self._lock:
                status, body = self._route(request)
        except _AnswerError as answer:
            return httpx.Response(answer.status, headers=headers, json={"error": answer.body})
        if isinstance(body, str):
            headers["content-type"] = "text/calendar; charset=utf-8"
            return httpx.Response(status, headers=headers, text=body)
        return httpx.Response(status, headers=headers, json=body)

    def _fault_answer(self, fault: _Fault, headers: dict[str, str]) -> httpx.Response:
        if fault.status == 429 and fault.headers == {}:
            return httpx.Response(429, headers=headers)
        if fault.status == 429 and fault.headers is None:
            headers |= {
                "ratelimit-limit": "960",
                "ratelimit-remaining": "0",
                "ratelimit-reset": "20",
            }
        headers |= fault.headers or {}
        if fault.errors_as_object:
            field = "rotation_layers.weekly_restrictions.duration_seconds"
            error = {"message": "Invalid Schedule", "code": 3001, "errors": {field: ["is invalid"]}}
        else:
            error = _AnswerError(fault.status).body
        return httpx.Response(fault.status, headers=headers, json={"error": error})

    # -- routes --------------------------------------------------------------------------

    def _route(self, request: httpx.Request) -> tuple[int, Any]:
        method, path = request.method, request.url.path
        if FEED_PATH.match(path) and method == "GET":
            # The feed URL is its own credential: no token, and an unknown key is a 404.
            if path not in self.schedule_feeds:
                raise _AnswerError(404)
            return 200, self.schedule_feeds[path]
        if request.headers.get("authorization") != f"Token token={self.token}":
            raise _AnswerError(401)
        if ACCEPT not in request.headers.get("accept", "").replace(" ", ""):
            raise _AnswerError(406, [f"Send Accept: {ACCEPT}"])
        parts = path.strip("/").split("/")
        match method, parts:
            case "GET", ["users"]:
                return 200, self._list_users(request.url.params)
            case "GET", ["users", user_id]:
                return 200, {"user": self._get(self.users, user_id)}
            case "GET", ["escalation_policies", policy_id]:
                _includes(request.url.params, POLICY_INCLUDES)
                return 200, {"escalation_policy": self._get(self.escalation_policies, policy_id)}
            case "PUT", ["escalation_policies", policy_id]:
                return 200, {"escalation_policy": self._put_policy(policy_id, _json(request))}
            case "GET", ["incidents"]:
                return 200, self._list_incidents(request.url.params)
            case "GET", ["incidents", incident_id, "log_entries"]:
                self._get(self.incidents, incident_id)
                _includes(request.url.params, LOG_ENTRY_INCLUDES)
                entries = self.log_entries.get(incident_id, [])
                if request.url.params.get("is_overview") == "true":
                    entries = [e for e in entries if e["type"] in OVERVIEW_TYPES]
                return 200, _page(request.url.params, entries, "log_entries")
        raise _AnswerError(404)

    def _list_users(self, params: httpx.QueryParams) -> dict[str, Any]:
        _includes(params, USER_INCLUDES)
        query = params.get("query", "").lower()
        teams = set(params.get_list("team_ids[]"))
        users = [
            user
            for user in sorted(self.users.values(), key=lambda u: (u["name"], u["id"]))
            if query in f"{user['name']} {user['email']}".lower()
            and (not teams or teams & {team["id"] for team in user["teams"]})
        ]
        return _page(params, users, "users")

    def _list_incidents(self, params: httpx.QueryParams) -> dict[str, Any]:
        _includes(params, INCIDENT_INCLUDES)
        services = set(params.get_list("service_ids[]"))
        statuses = set(params.get_list("statuses[]"))
        urgencies = set(params.get_list("urgencies[]"))
        if statuses - set(INCIDENT_STATUSES) or urgencies - set(URGENCIES):
            raise _AnswerError(400, ["statuses[] or urgencies[] has an unknown value"])
        since, until = _instant_param(params, "since"), _instant_param(params, "until")
        if params.get("date_range") == "all":
            since = until = None
        incidents = [
            incident
            for incident in sorted(self.incidents.values(), key=lambda i: i["created_at"])
            if (not services or incident["service"]["id"] in services)
            and (not statuses or incident["status"] in statuses)
            and (not urgencies or incident["urgency"] in urgencies)
            and (since is None or _parse(incident["created_at"]) >= since)
            and (until is None or _parse(incident["created_at"]) < until)
        ]
        return _page(params, incidents, "incidents")

    def _put_policy(self, policy_id: str, body: Any) -> dict[str, Any]:
        """Update semantics (REFERENCE 9.1): fields sent replace, ``escalation_rules`` wholesale;
        read-only and unknown fields are ignored."""
        current = self._get(self.escalation_policies, policy_id)
        sent = body.get("escalation_policy") if isinstance(body, dict) else None
        if not isinstance(sent, dict):
            raise _AnswerError(400, ["escalation_policy is required"])
        problems = [*self._policy_problems(sent)]
        rules = sent.get("escalation_rules", current["escalation_rules"])
        problems += self._rules_problems(rules)
        if problems:
            raise _AnswerError(400, problems)
        updated = copy.deepcopy(current)
        for field in ("name", "description", "num_loops", "on_call_handoff_notifications"):
            if field in sent:
                updated[field] = sent[field]
        if "teams" in sent:
            updated["teams"] = [{"id": t["id"], "type": "team_reference"} for t in sent["teams"]]
        if "escalation_rules" in sent:
            updated["escalation_rules"] = [self._rule(rule) for rule in rules]
        updated["summary"] = updated["name"]
        self.escalation_policies[policy_id] = updated
        return updated

    def _policy_problems(self, sent: dict[str, Any]) -> Iterator[str]:
        if "name" in sent and (not isinstance(sent["name"], str) or not sent["name"].strip()):
            yield "Name can't be blank"
        loops = sent.get("num_loops", 0)
        if not isinstance(loops, int) or isinstance(loops, bool) or loops < 0:
            yield "num_loops must be an integer of at least 0"
        if sent.get("on_call_handoff_notifications", "always") not in ("if_has_services", "always"):
            yield "on_call_handoff_notifications must be if_has_services or always"
        teams = sent.get("teams", [])
        if not isinstance(teams, list) or not all(isinstance(t, dict) and "id" in t for t in teams):
            yield "teams must be a list of team references"
        elif len(teams) > 1:
            yield "Only one team may be associated with an escalation policy"

    def _rules_problems(self, rules: Any) -> list[str]:
        if not isinstance(rules, list) or not rules:
            return ["Escalation policy must have at least one escalation rule"]
        problems = []
        for n, rule in enumerate(rules, 1):
            if not isinstance(rule, dict):
                problems.append(f"Escalation rule {n} must be an object")
                continue
            if rule.get("escalation_rule_assignment_strategy") and not (
                self.allow_assignment_strategy
            ):
                raise _AnswerError(403, ["The account does not have the round robin ability"])
            delay = rule.get("escalation_delay_in_minutes")
            if not isinstance(delay, int) or isinstance(delay, bool):
                problems.append(
                    f"Escalation rule {n}: escalation_delay_in_minutes must be an integer"
                )
            targets = rule.get("targets")
            if not isinstance(targets, list) or not 1 <= len(targets) <= 10:
                problems.append(f"Escalation rule {n} must have between 1 and 10 targets")
                continue
            for target in targets:
                kind = target.get("type") if isinstance(target, dict) else None
                if kind not in TARGET_TYPES or not isinstance(target.get("id"), str):
                    problems.append(f"Escalation rule {n}: invalid target {target!r}")
                elif kind in ("user", "user_reference") and target["id"] not in self.users:
                    problems.append(f"Escalation rule {n}: user {target['id']} not found")
        return problems

    # -- helpers -------------------------------------------------------------------------

    def _entity(self, kind: str, entity_id: str, collection: str, name: str) -> dict[str, Any]:
        return {
            "id": entity_id,
            "type": kind,
            "summary": name,
            "self": f"{self.api_url}/{collection}/{entity_id}",
            "html_url": f"{WEB_URL}/{collection}/{entity_id}",
        }

    def _get(self, collection: dict[str, dict[str, Any]], entity_id: str) -> dict[str, Any]:
        if entity_id not in collection:
            raise _AnswerError(404)
        return collection[entity_id]

    def _targets(self, user_ids: list[str]) -> list[dict[str, Any]]:
        return [{"id": user_id, "type": "user_reference"} for user_id in user_ids]

    def _rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        """A stored rule: a fresh id, targets as references of the real shape, sorted by id."""
        targets = []
        for target in rule["targets"]:
            kind = target["type"].removesuffix("_reference")  # "user" is read as user_reference
            if kind == "user":
                targets.append(_reference(self.users[target["id"]], "user_reference"))
            else:
                entity = self._entity(kind, target["id"], "schedules", target["id"])
                targets.append(_reference(entity, f"{kind}_reference"))
        stored = {
            "id": f"PRULE{next(self._serial):02d}",
            "escalation_delay_in_minutes": rule["escalation_delay_in_minutes"],
            "targets": sorted(targets, key=lambda t: (t["type"], t["id"])),
        }
        if strategy := rule.get("escalation_rule_assignment_strategy"):
            stored["escalation_rule_assignment_strategy"] = strategy
        return stored


def _page(params: httpx.QueryParams, items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """One page of a classic offset list (REFERENCE section 4)."""
    try:
        limit, offset = int(params.get("limit", 25)), int(params.get("offset", 0))
    except ValueError:
        raise _AnswerError(400, ["limit and offset must be integers"]) from None
    if limit < 1 or offset < 0:
        raise _AnswerError(400, ["limit must be positive and offset not negative"])
    limit = min(limit, 100)  # clamped, and the clamped value echoed
    if offset + limit > 10_000:
        raise _AnswerError(400, ["Offset plus limit must not exceed 10000"])
    page = items[offset : offset + limit]
    total = len(items) if params.get("total") == "true" else None
    more = offset + len(page) < len(items)
    return {key: page, "limit": limit, "offset": offset, "more": more, "total": total}


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _instant_param(params: httpx.QueryParams, name: str) -> datetime | None:
    """A ``since``/``until`` parameter; a value that is not an ISO 8601 instant is a 400."""
    if name not in params:
        return None
    try:
        when = _parse(params[name])
    except ValueError:
        raise _AnswerError(400, [f"{name} must be an ISO 8601 date-time"]) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _includes(params: httpx.QueryParams, allowed: set[str]) -> set[str]:
    asked = set(params.get_list("include[]"))
    if asked - allowed:
        raise _AnswerError(400, [f"Invalid include[]: {', '.join(sorted(asked - allowed))}"])
    return asked


def _json(request: httpx.Request) -> Any:
    try:
        return json.loads(request.content)
    except ValueError:
        raise _AnswerError(400, ["The body must be JSON"]) from None


def _reference(entity: dict[str, Any], kind: str) -> dict[str, Any]:
    keys = ("id", "summary", "self", "html_url")
    return {"type": kind, **{key: entity[key] for key in keys}}


def _uid(*parts: str) -> str:
    """A stable 14-character id in PagerDuty's style for feed events (Q...)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return "Q" + base64.b32encode(digest).decode()[:13]


@dataclass(frozen=True)
class FeedShift:
    email: str
    name: str
    start: datetime  # aware
    end: datetime


def render_feed(
    schedule_id: str,
    schedule_name: str,
    shifts: Iterable[FeedShift],
    *,
    newline: str = "\r\n",
    mailto: bool = False,
    two_part_summary: bool = False,
) -> str:
    """A schedule feed shaped like PagerDuty's (REFERENCE section 7): UTC times with
    ``VALUE=DATE-TIME``, bare-email ATTENDEE, Q-ids, no DTSTAMP. Lines over 75 octets are
    folded. ``newline="\\n"``, ``mailto`` and ``two_part_summary`` give the variants seen."""

    def stamp(when: datetime) -> str:
        return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    lines = [
        "BEGIN:VCALENDAR",
        "PRODID;X-RICAL-TZSOURCE=TZINFO:-//com.denhaven2/NONSGML ri_cal gem//EN",
        "CALSCALE:GREGORIAN",
        "VERSION:2.0",
        f"X-WR-CALNAME:On Call Schedule for {schedule_name}",
    ]
    for shift in shifts:
        summary = f"On Call - {shift.name}" + ("" if two_part_summary else f" - {schedule_name}")
        lines += [
            "BEGIN:VEVENT",
            f"DTEND;VALUE=DATE-TIME:{stamp(shift.end)}",
            f"DTSTART;VALUE=DATE-TIME:{stamp(shift.start)}",
            f"ATTENDEE:{'mailto:' if mailto else ''}{shift.email}",
            f"UID:{_uid(schedule_id, shift.email, stamp(shift.start))}",
            f"URL:{WEB_URL}/schedules#{schedule_id}",
            f"SUMMARY:{summary}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line, newline) + newline for line in lines)


def _fold(line: str, newline: str) -> str:
    """RFC 5545 folding: at most 75 octets a line, never splitting a UTF-8 character."""
    pieces: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not pieces else 74  # a continuation line starts with one space
        if len((current + char).encode()) > limit:
            pieces.append(current)
            current = ""
        current += char
    return (newline + " ").join([*pieces, current])
