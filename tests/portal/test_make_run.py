"""``make run``'s banner: printed once the server answers, with the demo logins last.

The recipe runs for real, with a stand-in ``python`` whose commands print what Django's would
and whose runserver binds its port a second late, as a real one does after its checks.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

PORT = 8191  # this project's helpers' range

STAND_IN = """#!{python}
import socket, sys, time
args = sys.argv[2:]
if args[0] == "migrate":
    for n in range(30):
        print(f"  Applying app.{{n:04d}}_change... OK", flush=True)
elif args[0] == "seed_demo":
    print("Demo team ready: 8 engineers on Platform.")
    print("  Log in as carol@example.com (manager) or alice@example.com (engineer), password p")
elif args[0] == "runserver":
    time.sleep(1)
    host, port = args[-1].rsplit(":", 1)
    server = socket.create_server((host, int(port)))
    print("LISTENING", flush=True)
    while True:
        server.accept()[0].close()
elif args[0] in ("fake_pagerduty", "fake_slack", "qcluster"):
    time.sleep(60)
"""


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_banner_follows_the_listening_server_and_ends_with_the_logins(
    tmp_path: Path,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python"
    python.write_text(STAND_IN.format(python=sys.executable))
    python.chmod(0o755)
    (bin_dir / ".installed").touch()  # newer than requirements.lock: nothing to install
    run = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"VENV={tmp_path}", f"BIN={bin_dir}",
         f"PORT={PORT}", "HOST=127.0.0.1"],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "PAGERDUTY_API_URL": "http://127.0.0.1:1"},
    )  # fmt: skip
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        assert run.stdout is not None
        while time.monotonic() < deadline and not any("password" in line for line in lines):
            lines.append(run.stdout.readline().rstrip("\n"))
        # Whatever else comes within a moment (nothing should) is read too.
        time.sleep(0.5)
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=10)
    banner = next(i for i, line in enumerate(lines) if "The portal: http://127.0.0.1:8191/" in line)
    assert lines.index("LISTENING") < banner
    shown = [line for line in lines if line.strip()]
    assert shown[-1].strip().startswith("Log in as carol@example.com (manager)")
    assert "Applying" not in "\n".join(lines[banner:])
