"""``make bench``: req/s of the main pages against a bare view under gunicorn, and their queries."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.bench_report import (
    API,
    BARE,
    CONNECTIONS,
    DASHBOARD,
    DURATION,
    ONE_QUERY_304,
    ONE_QUERY_BYTES,
    ROSTERS,
    ROUNDS,
    THREADS,
    WARMUP,
    WORKERS,
    Load,
    Result,
    report,
)

ROOT = Path(__file__).resolve().parent.parent

# wrk counts 3xx as success (a redirect to the login page would pass): count the answers whose
# status is not the expected one (200, or 304 for a conditional request) ourselves.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; expected = tonumber(args[1]) or 200 end
function response(status, headers, body)
  if status ~= expected then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("BENCH non200=%d\\n", total))
end
"""


class BenchError(Exception):
    """The benchmark could not measure something; the figures would be meaningless."""


# --- the orchestrator: no Django in this process -------------------------------------------


def helper(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run this module's helper in a subprocess on ``env``'s database; its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench_seed", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"helper {args[0]} failed:\n{done.stderr}{done.stdout}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


@contextmanager
def background_writer(env: dict[str, str], workdir: Path) -> Iterator[dict[str, Any]]:
    """The portal's writes that touch no schedule (sync runs, logins, incident notes: see
    tests/bench_seed.py) running while the block runs; the dict is filled with its counts."""
    stop = workdir / "stop-writer"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.bench_seed", "writer", str(stop)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    if writer.stdout.readline().strip() != "ready":
        writer.kill()
        raise BenchError(f"the background writer did not start:\n{writer.communicate()[1]}")
    counts: dict[str, Any] = {}
    try:
        yield counts
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=30)
    if writer.returncode != 0:
        raise BenchError(f"the background writer failed:\n{err}")
    counts.update(json.loads(out.strip().splitlines()[-1]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fetch(base: str, path: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(base + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def etag_of(base: str, path: str) -> str:
    """The ETag the running server gives ``path`` (it depends on the host, so ask it)."""
    with urllib.request.urlopen(base + path, timeout=10) as response:
        etag: str = response.headers["ETag"]
    return etag


@contextmanager
def gunicorn(env: dict[str, str], workdir: Path) -> Iterator[str]:
    """A gunicorn serving the portal (bench settings) on a free port; yields its base URL."""
    port = free_port()
    log_path = workdir / "gunicorn.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "portal.wsgi:application"),
                *("--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)),
                *("--log-level", "warning", "--no-control-socket"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise BenchError(f"gunicorn exited:\n{log_path.read_text()}")
            try:
                if fetch(base, "/healthz", {})[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"gunicorn did not answer /healthz:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def find_wrk() -> str | None:
    """wrk from PATH, installing Debian's package quietly if it is missing and we may."""
    if os.environ.get("BENCH_LOAD") == "python":
        return None
    found = shutil.which("wrk")
    if found or not shutil.which("apt-get"):
        return found

    def apt_get(*args: str) -> int:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        out = subprocess.DEVNULL
        return subprocess.run(["apt-get", *args], env=env, stdout=out, stderr=out).returncode

    print("  installing wrk (Debian package) for the load", flush=True)
    if apt_get("install", "-y", "-qq", "wrk"):
        apt_get("update", "-qq")
        apt_get("install", "-y", "-qq", "wrk")
    return shutil.which("wrk")


def wrk_load(
    wrk: str, script: Path, url: str, headers: dict[str, str], seconds: int, expect: int
) -> Load:
    command = [wrk, "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds}s"]
    command += ["--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, url, "--", str(expect)], capture_output=True, text=True)
    out = done.stdout
    if done.returncode != 0:
        raise BenchError(f"wrk failed:\n{done.stderr}{out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    not_ok = re.search(r"BENCH non200=(\d+)", out)
    if not (rate and total and not_ok):
        raise BenchError(f"unexpected wrk output:\n{out}")
    errors = re.search(r"Socket errors: (.*)", out)
    return Load(float(rate[1]), int(total[1]), int(not_ok[1]), errors[1] if errors else "")


def _hammer(
    port: int, path: str, headers: dict[str, str], seconds: float, threads: int, expect: int
) -> Load:
    """Keep ``threads`` connections busy with GETs for ``seconds`` (the fallback generator)."""
    deadline = time.monotonic() + seconds

    def client(_: int) -> tuple[int, int]:
        done = not_ok = 0
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < deadline:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            done += 1
            not_ok += response.status != expect
        connection.close()
        return done, not_ok

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(client, range(threads)))
    total = sum(done for done, _ in results)
    return Load(total / seconds, total, sum(bad for _, bad in results))


def python_load(url: str, headers: dict[str, str], seconds: int, expect: int) -> Load:
    parts = urllib.parse.urlsplit(url)
    assert parts.port is not None
    processes = min(os.cpu_count() or 1, CONNECTIONS)
    with ProcessPoolExecutor(processes) as pool:
        futures = [
            pool.submit(
                _hammer, parts.port, parts.path, headers, seconds, CONNECTIONS // processes, expect
            )
            for _ in range(processes)
        ]
        loads = [future.result() for future in futures]
    total = sum(load.requests for load in loads)
    return Load(total / seconds, total, sum(load.not_ok for load in loads))


def measure(
    wrk: str | None, workdir: Path, url: str, headers: dict[str, str], seconds: int, expect: int
) -> Load:
    """Load ``url`` for ``seconds``; fail loudly on any answer but ``expect``."""
    script = workdir / "count.lua"
    script.write_text(WRK_SCRIPT)
    if wrk:
        load = wrk_load(wrk, script, url, headers, seconds, expect)
    else:
        load = python_load(url, headers, seconds, expect)
    if load.not_ok or not load.requests:
        raise BenchError(f"{url}: {load.not_ok} of {load.requests} answers were not {expect}")
    return load


def check_fresh(base: str, env: dict[str, str], token: str, cookie: str) -> tuple[bool, str]:
    """Edit the roster under the running server; do the API and dashboard say so at once?"""
    bearer = {"Authorization": f"Bearer {token}"}

    def ask(query: str = "") -> dict[str, Any]:
        status, body = fetch(base, API + query, bearer)
        if status != 200:
            raise BenchError(f"{API}{query} answered {status}")
        answer: dict[str, Any] = json.loads(body)[0]
        return answer

    handoff = datetime.fromisoformat(ask()["shift_end"])
    at = (handoff + timedelta(hours=1)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    query = "?" + urllib.parse.urlencode({"at": at})
    before = ask(query)
    expected = helper(env, "edit", at)
    after, now = ask(query), ask()
    status, page = fetch(base, DASHBOARD, {"Cookie": cookie})
    shown = re.search(
        r"Next: <strong>(.*?)</strong> primary, <strong>(.*?)</strong> secondary", page
    )
    wrong = []
    if (after["primary"]["name"], after["secondary"]["name"]) != tuple(expected["at"].values()):
        wrong.append(f"API at {at}")
    if (now["next"]["primary"]["name"], now["next"]["secondary"]["name"]) != tuple(
        expected["now"].values()
    ):
        wrong.append("API next handoff")
    if status != 200 or not shown or shown.groups() != tuple(expected["now"].values()):
        wrong.append("dashboard next handoff")
    if before["secondary"] == after["secondary"]:
        return False, "the edit changed nothing to check"
    if wrong:
        return False, "stale: " + ", ".join(wrong)
    return True, f"secondary from {expected['effective']}: {expected['at']['secondary']}"


def bench_roster(engineers: int, wrk: str | None, secret: str) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.bench_settings",
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "SECRET_KEY": secret,
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
        }
        print(f"  {engineers} engineers: seeding 10 years of shifts, counting queries", flush=True)
        seeded = helper(env, "prepare", str(engineers))
        feed = seeded["feed"]
        pages: dict[str, tuple[str, dict[str, str], int]] = {
            "bare": (BARE, {}, 200),
            "dashboard": (DASHBOARD, {"Cookie": seeded["cookie"]}, 200),
            "api": (API, {"Authorization": f"Bearer {seeded['token']}"}, 200),
            "schedule": (seeded["schedule"], {"Authorization": f"Bearer {seeded['token']}"}, 200),
            "incidents": ("/incidents/", {"Cookie": seeded["cookie"]}, 200),
            "runbook": (seeded["runbook"], {"Cookie": seeded["cookie"]}, 200),
            "feed": (feed, {}, 200),
        }
        pages["floor bytes"] = (f"{ONE_QUERY_BYTES}?n={seeded['schedule_bytes']}", {}, 200)
        loads: dict[str, list[Load]] = {page: [] for page in [*pages, "feed 304", "floor 304"]}
        with gunicorn(env, workdir) as base:
            pages["feed 304"] = (feed, {"If-None-Match": etag_of(base, feed)}, 304)
            pages["floor 304"] = (ONE_QUERY_304, {}, 304)
            print(f"  {engineers} engineers: warming up, then {ROUNDS} rounds", flush=True)
            for path, headers, expect in pages.values():
                measure(wrk, workdir, base + path, headers, WARMUP, expect)
            with background_writer(env, workdir) as writes:
                for _ in range(ROUNDS):
                    for page, (path, headers, expect) in pages.items():
                        load = measure(wrk, workdir, base + path, headers, DURATION, expect)
                        loads[page].append(load)
                bare_path, bare_headers, bare_status = pages["bare"]
                closing = measure(
                    wrk, workdir, base + bare_path, bare_headers, DURATION, bare_status
                )
                loads["bare"].append(closing)
            fresh = check_fresh(base, env, seeded["token"], seeded["cookie"])
        return Result(
            engineers,
            loads,
            seeded["queries"],
            {**seeded["past_shifts"], "changes": seeded["changes"], "week": seeded["week"]},
            seeded["shifts"],
            fresh,
            writes,
        )


def main() -> int:
    started = time.monotonic()
    wrk = find_wrk()
    generator = f"wrk, {THREADS} threads" if wrk else "Python load generator (no wrk)"
    print(f"make bench: {generator}; rosters of {' and '.join(map(str, ROSTERS))} engineers")
    secret = secrets.token_urlsafe(50)  # shared by the helpers and gunicorn: the session cookie
    try:
        results = [bench_roster(engineers, wrk, secret) for engineers in ROSTERS]
    except (BenchError, subprocess.CalledProcessError) as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    report(results, generator)
    print(f"\n({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
