"""Feed tokens never reach the logs whole: Django's "Not Found" warnings, runserver's request
lines and gunicorn's access log show a feed path's token cut to four characters and "…"."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from django.test import Client
from django.utils.log import ServerFormatter
from gunicorn.config import Config

from feeds.actions import feed_token_of
from portal.gunicorn_logger import FeedTokenMaskingLogger
from portal.logmask import mask_feed_tokens
from rotation.models import Engineer, Rotation
from tests.processes import ROOT

TOKEN = "Zq3xSecretFeedToken0123456789abcdefghijklmn"
MASKED = "/calendars/Zq3x…/platform.all.ics"


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        (f"GET /calendars/{TOKEN}/platform.all.ics HTTP/1.1", f"GET {MASKED} HTTP/1.1"),
        (f"https://oncall/calendars/{TOKEN}/platform.all.ics?x", f"https://oncall{MASKED}?x"),
        ("POST /calendars/rotate/ HTTP/1.1", "POST /calendars/rotate/ HTTP/1.1"),
        ("GET /calendars/ HTTP/1.1", "GET /calendars/ HTTP/1.1"),
        ("Not Found: /calendars/ab/x.ics", "Not Found: /calendars/ab…/x.ics"),
    ],
)
def test_a_feed_path_keeps_four_characters_of_its_token(line: str, masked: str) -> None:
    assert mask_feed_tokens(line) == masked


@pytest.mark.django_db
def test_not_found_warnings_mask_the_token(
    client: Client,
    platform: Rotation,
    cast: dict[str, Engineer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = feed_token_of(cast["erin"].user).token  # type: ignore[arg-type]
    response = client.get(f"/calendars/{token}/platform.nosuch.ics")
    assert response.status_code == 404
    [warning] = [r for r in caplog.records if r.name == "django.request"]
    assert warning.getMessage() == f"Not Found: /calendars/{token[:4]}…/platform.nosuch.ics"
    assert token not in caplog.text


@pytest.fixture
def server_log() -> Iterator[StringIO]:
    """What the django.server logger writes, formatted as runserver prints it."""
    logger = logging.getLogger("django.server")
    # Still printed by a handler of its own (LOGGING declares Django's one again).
    assert not logger.propagate
    assert any(isinstance(h.formatter, ServerFormatter) for h in logger.handlers)
    written = StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(ServerFormatter("[{server_time}] {message}", style="{"))
    logger.addHandler(handler)
    yield written
    logger.removeHandler(handler)


def test_runserver_request_lines_mask_the_token(server_log: StringIO) -> None:
    # The request line's way into the log: http.server's log_request, Django's log_message.
    request = WSGIRequestHandler.__new__(WSGIRequestHandler)
    request.requestline = f"GET /calendars/{TOKEN}/platform.all.ics HTTP/1.1"
    request.request = None  # type: ignore[assignment]
    request.log_request(404, 179)
    assert f'"GET {MASKED} HTTP/1.1" 404 179' in server_log.getvalue()
    assert TOKEN not in server_log.getvalue()


def test_gunicorn_access_log_masks_the_token(tmp_path: Path) -> None:
    access_log = tmp_path / "access.log"
    config = Config()
    config.set("accesslog", str(access_log))
    config.set("access_log_format", '%(h)s "%(r)s" %(s)s "%(f)s" %(U)s %({raw_uri}e)s')
    path = f"/calendars/{TOKEN}/platform.all.ics"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_REFERER": f"https://oncall.example.com{path}",
    }
    response = SimpleNamespace(status="404 Not Found", sent=179, headers=[])
    FeedTokenMaskingLogger(config).access(
        response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=3)
    )
    line = access_log.read_text()
    assert line.startswith(f'10.0.0.7 "GET {MASKED} HTTP/1.1" 404 "https://oncall.example.com')
    assert line.count("/calendars/Zq3x…/") == 4
    assert TOKEN not in line


def free_port() -> int:
    """A port of the ones these tests may use (8141-8149) that nothing listens on."""
    for port in range(8141, 8150):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("ports 8141-8149 are all taken")


def test_gunicorn_started_with_the_portals_config_masks_the_token(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "-c", "portal/gunicorn.conf.py"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1"),
        ],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
            "SECRET_KEY": "a-test-key-for-one-gunicorn",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    http.get("/healthz")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and server.poll() is None, "no server"
                    time.sleep(0.2)
            assert http.get(f"/calendars/{TOKEN}/platform.nosuch.ics").status_code == 404
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert '"GET /calendars/Zq3x…/platform.nosuch.ics HTTP/1.1" 404' in out
    assert "Not Found: /calendars/Zq3x…/platform.nosuch.ics" in err
    assert TOKEN not in out + err
