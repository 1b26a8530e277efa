"""A local stand-in for a Slack incoming webhook, checking what Slack checks.

Reference: https://api.slack.com/messaging/webhooks#handling_errors and
https://api.slack.com/reference/block-kit/blocks: a POST of JSON; ``text`` or valid
``blocks``; at most 50 blocks, each of a known type; a section's text object is ``mrkdwn``
or ``plain_text`` and at most 3000 characters. It answers 200 "ok", or 400 with Slack's
error strings (``invalid_payload``, ``no_text``, ``invalid_blocks``). Tests post through the
real client over HTTP to ``FakeSlack.serve()`` and read ``received``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BLOCK_TYPES = {
    "actions", "context", "divider", "file", "header", "image", "input", "rich_text",
    "section", "video", "markdown",
}  # fmt: skip
TEXT_TYPES = {"mrkdwn", "plain_text"}
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000


def _text_ok(text: Any) -> bool:
    return (
        isinstance(text, dict)
        and text.get("type") in TEXT_TYPES
        and isinstance(text.get("text"), str)
        and 0 < len(text["text"]) <= MAX_SECTION_TEXT
    )


def _block_ok(block: Any) -> bool:
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        return False
    if block["type"] == "section":
        fields = block.get("fields", [])
        return ("text" in block or fields) and (
            ("text" not in block or _text_ok(block["text"])) and all(map(_text_ok, fields))
        )
    return True


def check(method: str, content_type: str, body: bytes) -> tuple[int, str, dict[str, Any] | None]:
    """What Slack would answer to this request: (status, body, the payload when accepted)."""
    if method != "POST":
        return 405, "invalid_method", None
    if content_type.split(";")[0].strip().lower() != "application/json":
        return 400, "invalid_payload", None
    try:
        payload = json.loads(body)
    except ValueError:
        return 400, "invalid_payload", None
    if not isinstance(payload, dict):
        return 400, "invalid_payload", None
    blocks = payload.get("blocks")
    if blocks is not None and (
        not isinstance(blocks, list)
        or len(blocks) > MAX_BLOCKS
        or not all(_block_ok(block) for block in blocks)
    ):
        return 400, "invalid_blocks", None
    if not payload.get("text") and not blocks:
        return 400, "no_text", None
    return 200, "ok", payload


class FakeSlack:
    """The stand-in: every accepted payload lands in ``received``, every refusal in
    ``refused`` (its error string)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.lock = threading.Lock()

    def answer(self, method: str, content_type: str, body: bytes) -> tuple[int, str]:
        status, text, payload = check(method, content_type, body)
        with self.lock:
            if payload is not None:
                self.received.append(payload)
            else:
                self.refused.append(text)
        return status, text

    @contextmanager
    def serve(self, port: int = 0) -> Iterator[str]:
        """Serve on 127.0.0.1:``port`` (0: any free one) in a thread; yields the webhook URL."""
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/fake"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


def _handler_for(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status, text = fake.answer(method, self.headers.get("Content-Type", ""), body)
            encoded = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def do_POST(self) -> None:
            self._reply("POST")

        def do_GET(self) -> None:
            self._reply("GET")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet in tests

    return Handler
