"""``manage.py`` and Python code run in a child process, with only the environment a test gives.

For what a test cannot see from inside its own process: settings read at start-up, refusals to
start, what a command prints. The child inherits nothing of the portal's variables from the
test run (its database, its key), so each test says exactly which ones it starts with.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a Python process needs from the machine, and nothing the portal's settings read.
INHERITED = ("PATH", "HOME", "LANG", "TMPDIR")


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_python(str(ROOT / "manage.py"), *args, env=env)


def run_python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    machine = {name: os.environ[name] for name in INHERITED if name in os.environ}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**machine, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
