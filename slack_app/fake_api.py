"""A local stand-in for Slack's Web API, checking what Slack checks, for tests and the demo.

It serves ``/api/<method>`` for the methods the app calls (slack_app/api.py), reading arguments
from the query string, a form body or a JSON body as Slack does, and answers Slack's JSON:
``{"ok": true, ...}`` or ``{"ok": false, "error": ...}`` with Slack's error names
(``not_authed``, ``invalid_auth``, ``unknown_method``, ``users_not_found``, ``user_not_found``,
``invalid_arguments``, ``name_already_exists``, ``no_such_subteam``, ``invalid_users``,
``channel_not_found``, ``no_text``, ``invalid_blocks``). It holds users (with emails), user
groups and the messages posted, and ``/response/<n>`` takes what the app posts to an
interaction's ``response_url``. ``signed`` builds what Slack sends to the portal (a slash
command, a button click) with its signature, so tests and the demo can play Slack's part.

References: https://api.slack.com/methods, https://api.slack.com/authentication/verifying-requests-from-slack,
https://api.slack.com/interactivity/slash-commands, https://api.slack.com/reference/interaction-payloads/block-actions
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from slack_app.fake import MAX_BLOCKS, FakeSlack, _block_ok

ELEMENT_TYPES = {"button"}
Answer = dict[str, Any]


@dataclass
class FakeUser:
    id: str
    name: str
    email: str


@dataclass
class FakeGroup:
    id: str
    name: str
    handle: str
    description: str = ""
    users: list[str] = field(default_factory=list)


def _blocks_ok(blocks: Any) -> bool:
    if not isinstance(blocks, list) or not blocks or len(blocks) > MAX_BLOCKS:
        return False
    for block in blocks:
        if isinstance(block, dict) and block.get("type") == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= 25:
                return False
            for element in elements:
                if not isinstance(element, dict) or element.get("type") not in ELEMENT_TYPES:
                    return False
                text = element.get("text", {})
                if text.get("type") != "plain_text" or not element.get("action_id"):
                    return False
        elif not _block_ok(block):
            return False
    return True


class FakeSlackApi:
    """The stand-in's state; ``calls`` lists (method, arguments) of every accepted call and
    ``refused`` (method, error) of every refusal, so tests see what the app sent."""

    def __init__(self, token: str = "xoxb-fake", channels: tuple[str, ...] = ("C0ONCALL",)):
        self.token = token
        self.channels = set(channels)
        self.users: dict[str, FakeUser] = {}
        self.groups: dict[str, FakeGroup] = {}
        self.messages: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refused: list[tuple[str, str]] = []
        self.webhook = FakeSlack()
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        self.methods: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "auth.test": lambda args: {"ok": True, "user_id": "UBOT"},
            "users.lookupByEmail": self._lookup,
            "users.info": self._info,
            "usergroups.list": self._list_groups,
            "usergroups.create": self._create_group,
            "usergroups.users.update": self._update_group,
            "chat.postMessage": self._post,
        }

    def add_user(self, name: str, email: str) -> str:
        """A Slack user with this email; its id is ``user_id_for(email)``, so a separate
        process (``fake_slack --command``) can act as them."""
        with self.lock:
            user = FakeUser(user_id_for(email), name, email.lower())
            self.users[user.id] = user
            return user.id

    def group(self, handle: str) -> FakeGroup | None:
        return next((g for g in self.groups.values() if g.handle == handle), None)

    def writes(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    # The methods ------------------------------------------------------------------------

    def _lookup(self, args: dict[str, Any]) -> Answer:
        email = str(args.get("email", "")).lower()
        if not email:
            return {"ok": False, "error": "invalid_arguments"}
        for user in self.users.values():
            if user.email == email:
                return {"ok": True, "user": self._user(user)}
        return {"ok": False, "error": "users_not_found"}

    def _user(self, user: FakeUser) -> dict[str, Any]:
        return {"id": user.id, "name": user.name, "profile": {"email": user.email}}

    def _info(self, args: dict[str, Any]) -> Answer:
        user = self.users.get(str(args.get("user", "")))
        return {"ok": True, "user": self._user(user)} if user else _error("user_not_found")

    def _list_groups(self, args: dict[str, Any]) -> Answer:
        groups = [_group(g, with_users=args.get("include_users") in (True, "1", "true"))
                  for g in self.groups.values()]  # fmt: skip
        return {"ok": True, "usergroups": groups}

    def _create_group(self, args: dict[str, Any]) -> Answer:
        name, handle = str(args.get("name", "")), str(args.get("handle", ""))
        if not name:
            return _error("invalid_arguments")
        taken = {g.name for g in self.groups.values()} | {g.handle for g in self.groups.values()}
        if name in taken or handle in taken:
            return _error("name_already_exists")
        group = FakeGroup(f"S{next(self._ids):07d}", name, handle, str(args.get("description", "")))
        self.groups[group.id] = group
        return {"ok": True, "usergroup": _group(group, with_users=True)}

    def _update_group(self, args: dict[str, Any]) -> Answer:
        group = self.groups.get(str(args.get("usergroup", "")))
        if group is None:
            return _error("no_such_subteam")
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users or any(u not in self.users for u in users):
            return _error("invalid_users")
        group.users = users
        return {"ok": True, "usergroup": _group(group, with_users=True)}

    def _post(self, args: dict[str, Any]) -> Answer:
        if str(args.get("channel", "")) not in self.channels:
            return _error("channel_not_found")
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                return _error("invalid_blocks")
        if blocks is not None and not _blocks_ok(blocks):
            return _error("invalid_blocks")
        if not args.get("text") and not blocks:
            return _error("no_text")
        ts = f"{time.time():.6f}"
        self.messages.append({"channel": args["channel"], "ts": ts, **args, "blocks": blocks})
        return {"ok": True, "channel": args["channel"], "ts": ts}

    # Requests ---------------------------------------------------------------------------

    def answer(self, method: str, authorization: str, args: dict[str, Any]) -> Answer:
        with self.lock:
            if method not in self.methods:
                answer = _error("unknown_method")
            elif not authorization.startswith("Bearer "):
                answer = _error("not_authed")
            elif authorization.removeprefix("Bearer ") != self.token:
                answer = _error("invalid_auth")
            else:
                answer = self.methods[method](args)
            if answer["ok"]:
                self.calls.append((method, args))
            else:
                self.refused.append((method, answer["error"]))
            return answer

    def respond(self, body: bytes) -> tuple[int, str]:
        """A post to a ``response_url``: JSON with text or valid blocks."""
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, "invalid_payload"
        blocks = payload.get("blocks") if isinstance(payload, dict) else None
        if not isinstance(payload, dict) or (blocks is not None and not _blocks_ok(blocks)):
            return 400, "invalid_blocks"
        if not payload.get("text") and not blocks:
            return 400, "no_text"
        with self.lock:
            self.responses.append(payload)
        return 200, "ok"

    @contextmanager
    def serve(self, port: int = 0) -> Iterator[str]:
        """Serve on 127.0.0.1:``port`` (0: any free one) in a thread; yields the API's URL."""
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield f"{self.base}/api/"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

    def response_url(self) -> str:
        return f"{getattr(self, 'base', 'http://127.0.0.1:9')}/response/{next(self._ids)}"


def user_id_for(email: str) -> str:
    return "U" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:10].upper()


def _error(name: str) -> Answer:
    return {"ok": False, "error": name}


def _group(group: FakeGroup, *, with_users: bool) -> dict[str, Any]:
    found: dict[str, Any] = {"id": group.id, "name": group.name, "handle": group.handle}
    found["description"] = group.description
    if with_users:
        found["users"] = list(group.users)
    return found


def _arguments(handler: BaseHTTPRequestHandler, body: bytes) -> dict[str, Any] | None:
    args: dict[str, Any] = dict(parse_qsl(urlsplit(handler.path).query))
    kind = handler.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            loaded = json.loads(body or b"{}")
        except ValueError:
            return None
        if not isinstance(loaded, dict):
            return None
        args.update(loaded)
    elif body:
        args.update(parse_qsl(body.decode()))
    return args


def _handler_for(fake: FakeSlackApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = urlsplit(self.path).path
            if path.startswith("/response/"):
                status, text = fake.respond(body)
                self._send(status, "text/plain", text.encode())
                return
            if path.startswith("/services/"):  # the incoming webhook, for webhook-only setups
                status, text = fake.webhook.answer(
                    "POST", self.headers.get("Content-Type", ""), body
                )
                self._send(status, "text/plain", text.encode())
                return
            args = _arguments(self, body)
            if not path.startswith("/api/") or args is None:
                self._send(200, "application/json", b'{"ok": false, "error": "invalid_json"}')
                return
            answer = fake.answer(
                path.removeprefix("/api/"), self.headers.get("Authorization", ""), args
            )
            self._send(200, "application/json", json.dumps(answer).encode())

        def _send(self, status: int, kind: str, encoded: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def do_GET(self) -> None:
            self._reply()

        def do_POST(self) -> None:
            self._reply()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet in tests

    return Handler


# Playing Slack's part towards the portal ------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature of a request body (verifying-requests-from-slack)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(secret: str, body: bytes, *, at: float | None = None) -> dict[str, str]:
    """The headers Slack sends with ``body``, signed at ``at`` (now by default)."""
    timestamp = str(int(time.time() if at is None else at))
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(secret, timestamp, body),
    }


def command_body(user_id: str, text: str = "", *, response_url: str = "") -> bytes:
    """A ``/oncall`` slash command as Slack posts it (form-encoded)."""
    return urlencode(
        {"command": "/oncall", "text": text, "user_id": user_id, "team_id": "T0FAKE",
         "channel_id": "C0ONCALL", "response_url": response_url, "trigger_id": "0.0.fake"}
    ).encode()  # fmt: skip


def click_body(user_id: str, action_id: str, value: str, *, response_url: str = "") -> bytes:
    """A ``block_actions`` interaction (a button clicked): a form field ``payload`` of JSON."""
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "team_id": "T0FAKE"},
        "team": {"id": "T0FAKE"},
        "channel": {"id": "C0ONCALL"},
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "value": value,
                     "block_id": "decide", "action_ts": f"{time.time():.6f}"}],
    }  # fmt: skip
    return urlencode({"payload": json.dumps(payload)}).encode()
