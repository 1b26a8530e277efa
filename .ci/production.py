"""CI: the production recipe (README, "Running in production") started here and checked.

It runs what the recipe tells a team to run, from the files a team copies: the environment of
``portal/systemd/oncall-portal.env.example`` (only this machine's values replaced), migrate,
collectstatic, and the ExecStart lines of ``portal/systemd/oncall-web@.service`` (two gunicorn
web processes) and ``oncall-worker@.service`` (two django-q clusters), on a scratch PostgreSQL
database and a Redis database, with the fake PagerDuty standing in for PagerDuty. This script
plays the reverse proxy and a browser: every request carries the public Host and
``X-Forwarded-Proto: https``, and either web process may answer it.

Checks: pages write through web A and read fresh from web B; every main page answers with DEBUG
off; static files have hashed names and far-future cache headers; a worker killed during a
PagerDuty sync leaves a run recorded as interrupted, and the other worker finishes the sync once.

Run it as ``.ci/production``. Setup steps stop the run when they fail; each check reports and
the run goes on; the exit status is 1 when anything failed. Every process it starts, the scratch
database, the Redis database and the temporary folder are removed on the way out.
"""

from __future__ import annotations

import http.cookies
import json
import logging
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
UNITS = ROOT / "portal" / "systemd"
# The install folder the unit files name; here it is this checkout.
UNIT_ROOT = "/srv/oncall-portal"

PORT_BASE = int(os.environ.get("CI_PORT_BASE", "8161"))  # web A, web B, the fake PagerDuty
POSTGRES_URL = os.environ.get("CI_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CI_REDIS_URL", "redis://127.0.0.1:6379/7")
PUBLIC_HOST = "oncall.ci.test"
PAGERDUTY_TOKEN = "ci-fake-token"
DEMO_POLICY = "PDEMO01"  # seed_demo's escalation policy
MANAGER = ("carol@example.com", "oncall-demo-2026")  # seed_demo's manager
SCHEDULE_PAGE = "/rotations/platform/"


# Reporting -----------------------------------------------------------------------------------


class CheckFailedError(Exception):
    """A check did not hold; the message says what was expected and what was seen."""


class SetupFailedError(Exception):
    """The set-up could not be made: nothing after it can run."""


class StoppedError(Exception):
    """A signal (CI cancelling, Ctrl-C) stops the run; everything is still taken down."""


def stop(signum: int, frame: object) -> None:
    raise StoppedError(signal.Signals(signum).name)


# What a check may meet; a set-up step also a machine without the services running.
CHECK_ERRORS = (CheckFailedError, httpx.HTTPError)
SETUP_ERRORS = (
    CheckFailedError,
    SetupFailedError,
    httpx.HTTPError,
    psycopg.Error,
    redis.RedisError,
    OSError,
    subprocess.SubprocessError,
)


@dataclass
class Report:
    """One line per step, as it ends: ok or FAIL, its time and what it found."""

    started: float = field(default_factory=time.perf_counter)
    failures: list[str] = field(default_factory=list)
    last_failed: bool = False

    def line(self, mark: str, name: str, seconds: float, note: str) -> None:
        print(f"{mark:>4}  {name} ({seconds:.1f} s){': ' + note if note else ''}", flush=True)

    def setup(self, name: str) -> AbstractContextManager[list[str]]:
        """A step the rest depends on: a failure ends the run."""
        return self.step(name, fatal=True)

    def check(self, name: str) -> AbstractContextManager[list[str]]:
        """A check: a failure is reported and the run goes on."""
        return self.step(name, fatal=False)

    @contextmanager
    def step(self, name: str, *, fatal: bool) -> Iterator[list[str]]:
        """Times the step and prints its line; the step appends notes to what it yields."""
        notes: list[str] = []
        begun = time.perf_counter()
        caught = SETUP_ERRORS if fatal else CHECK_ERRORS
        try:
            yield notes
        except caught as error:
            self.line("FAIL", name, time.perf_counter() - begun, str(error))
            self.failures.append(name)
            self.last_failed = True
            if fatal:
                raise SetupFailedError(f"{name}: {error}") from error
            return
        self.line("ok", name, time.perf_counter() - begun, "; ".join(notes))
        self.last_failed = False

    def skip(self, name: str, why: str) -> None:
        self.line("skip", name, 0, why)
        self.failures.append(name)


def expect(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailedError(message)


def wait_for(what: str, seconds: float, probe: Callable[[], object], every: float = 0.2) -> Any:
    """``probe()``'s first truthy answer within ``seconds``; else a failure naming ``what``."""
    deadline = time.monotonic() + seconds
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise CheckFailedError(f"waited {seconds:.0f} s for {what}")
        time.sleep(every)


# The recipe's files ---------------------------------------------------------------------------


def recipe_environment(path: Path) -> dict[str, str]:
    """The KEY=VALUE lines of the documented environment file."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def unit_command(unit: str, instance: str) -> list[str]:
    """A systemd unit's ExecStart, for this checkout and instance (``%i``)."""
    text = (UNITS / unit).read_text()
    found = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE)
    if found is None:
        raise SetupFailedError(f"{unit} has no ExecStart line")
    line = found.group(1).replace(UNIT_ROOT, str(ROOT)).replace("%i", instance)
    return shlex.split(line)


# Processes, the database, Redis -------------------------------------------------------------


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process tree (its own session): no cleanup runs anywhere in it."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@dataclass
class Machine:
    """Everything started here, to be taken down on the way out."""

    folder: Path
    env: dict[str, str]
    database: str
    services: list[Service] = field(default_factory=list)

    def run(self, *arguments: str) -> str:
        """A ``manage.py`` command in the production environment; its output."""
        done = subprocess.run(
            [str(PYTHON), "manage.py", *arguments],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            raise SetupFailedError(f"manage.py {' '.join(arguments)}: {done.stderr.strip()[-800:]}")
        return done.stdout

    def start(self, name: str, command: list[str]) -> Service:
        log = self.folder / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a tree
            )
        service = Service(name, process, log)
        self.services.append(service)
        return service

    def stop_all(self) -> None:
        for service in self.services:
            if service.process.poll() is None:
                os.killpg(service.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for service in self.services:
            try:
                service.process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait()


def create_database(name: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_redis() -> None:
    with redis.Redis.from_url(REDIS_URL) as client:
        client.flushdb()


# The reverse proxy and a browser --------------------------------------------------------------


class Browser:
    """A browser behind the reverse proxy: requests go to web A or web B, as a load balancer
    would send them, with the public Host and the proxy's X-Forwarded-Proto. Cookies are kept
    by hand because they are Secure and the last hop is plain HTTP."""

    def __init__(self, backends: dict[str, int]) -> None:
        self.backends = backends
        self.cookies: dict[str, str] = {}
        self.http = httpx.Client(timeout=20, follow_redirects=False)

    def request(
        self,
        method: str,
        web: str,
        path: str,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            headers |= {
                "Origin": f"https://{PUBLIC_HOST}",
                "Referer": f"https://{PUBLIC_HOST}{path}",
            }
        url = f"http://127.0.0.1:{self.backends[web]}{path}"
        response = self.http.request(method, url, data=data, headers=headers)
        for header in response.headers.get_list("set-cookie"):
            for name, morsel in http.cookies.SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, web: str, path: str, status: int = 200) -> str:
        response = self.request("GET", web, path)
        expect(
            response.status_code == status,
            f"GET {path} on web {web}: {response.status_code}, expected {status}",
        )
        return response.text

    def submit(self, web: str, path: str, form: Form, **changes: str) -> httpx.Response:
        """Post a form as a browser would: its fields as the page gave them, with changes."""
        return self.request("POST", web, form.action or path, {**form.fields, **changes})


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


class FormReader(HTMLParser):
    """The forms of a page and the values a browser would send for each."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._text: list[str] | None = None
        self._textarea = ""
        self._select = ""
        self._option: tuple[str | None, bool] | None = None

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        found = dict(attributes)
        name = found.get("name") or ""
        if tag == "form":
            self._form = Form(found.get("action") or "")
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and name:
            kind = (found.get("type") or "text").lower()
            if kind in {"submit", "button", "image", "file", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in found:
                return
            self._form.fields[name] = found.get("value") or ("on" if kind == "checkbox" else "")
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            self._select = name
            self._form.options[name] = []
        elif tag == "option" and self._select:
            self._option, self._text = (found.get("value"), "selected" in found), []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        form = self._form
        if form is None:
            return
        if tag == "textarea" and self._textarea and self._text is not None:
            # A browser drops the newline that follows <textarea>.
            form.fields[self._textarea] = "".join(self._text).removeprefix("\n")
            self._textarea, self._text = "", None
        elif tag == "option" and self._option is not None and self._text is not None:
            value, selected = self._option
            label = "".join(self._text).strip()
            form.options[self._select].append((label if value is None else value, label))
            if selected or self._select not in form.fields:
                form.fields[self._select] = label if value is None else value
            self._option, self._text = None, None
        elif tag == "select":
            self._select = ""
        elif tag == "form":
            self._form = None


def form_with(page: str, field_name: str) -> Form:
    reader = FormReader()
    reader.feed(page)
    for form in reader.forms:
        if field_name in form.fields or field_name in form.options:
            return form
    raise CheckFailedError(f"no form with a {field_name!r} field on the page")


# The steps ------------------------------------------------------------------------------------


def production_environment(folder: Path, database: str) -> dict[str, str]:
    """The documented environment with only this machine's values replaced."""
    env = recipe_environment(UNITS / "oncall-portal.env.example")
    env |= {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": PUBLIC_HOST,
        "CSRF_TRUSTED_ORIGINS": f"https://{PUBLIC_HOST}",
        "DATABASE_URL": f"{POSTGRES_URL.rsplit('/', 1)[0]}/{database}",
        "REDIS_URL": REDIS_URL,
        "STATIC_ROOT": str(folder / "staticfiles"),
        "EMAIL_URL": "",  # mail printed to the worker's log
        "PAGERDUTY_API_URL": f"http://127.0.0.1:{PORT_BASE + 2}",
        "PAGERDUTY_API_TOKEN": PAGERDUTY_TOKEN,
        # The fake's feeds are fetched as written (no HTTPS, a loopback address).
        "PAGERDUTY_FEED_TRUSTED_ORIGINS": f"http://127.0.0.1:{PORT_BASE + 2}",
        "PAGERDUTY_FROM_EMAIL": MANAGER[0],
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONUNBUFFERED": "1",
    }
    return {**{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}, **env}


def log_in(browser: Browser, web: str) -> None:
    form = form_with(browser.get(web, "/login/"), "password")
    email, password = MANAGER
    answer = browser.submit(web, "/login/", form, username=email, password=password)
    expect(answer.status_code == 302, f"login on web {web}: {answer.status_code}, expected 302")


def logout_on_a_ends_the_session_on_b(backends: dict[str, int], notes: list[str]) -> None:
    """A session logged out of on web A is refused by web B, even to a copy of its cookie:
    sessions are rows read through a cache that both processes share (Redis here)."""
    owner, thief = Browser(backends), Browser(backends)
    log_in(owner, "A")
    thief.cookies = dict(owner.cookies)
    thief.get("B", "/me/")  # the copy works while the session lives, on the other process
    reader = FormReader()
    reader.feed(owner.get("A", "/me/"))
    logout = next(form for form in reader.forms if form.action == "/logout/")
    answer = owner.submit("A", "/logout/", logout)
    expect(answer.status_code == 302, f"logout on web A: {answer.status_code}, expected 302")
    refused = thief.request("GET", "B", "/me/")
    expect(
        refused.status_code == 302 and refused.headers["location"].startswith("/login/"),
        f"web B still served the logged-out session: {refused.status_code}",
    )
    notes.append("the copied cookie is sent to /login/ by web B")


def a_runbook(browser: Browser) -> str:
    """The slug of a runbook on /runbooks/ (seed_demo imports three)."""
    listing = browser.get("B", "/runbooks/")
    found = re.findall(r'href="/runbooks/([a-z0-9-]+)/"', listing)
    slugs = [slug for slug in found if slug not in {"new", "preview"}]
    expect(slugs, "no runbook on /runbooks/")
    return str(slugs[0])


def edit_runbook_on_a_read_on_b(browser: Browser, notes: list[str]) -> None:
    page = f"/runbooks/{a_runbook(browser)}/"
    marker = f"Checked by CI {secrets.token_hex(6)}"
    for _ in range(4):  # read on B first, so that B's workers remember the page as it was
        expect(marker not in browser.get("B", page), "the marker was there before the edit")
    form = form_with(browser.get("A", page + "edit/"), "body")
    body = form.fields["body"] + f"\n\n{marker}\n"
    answer = browser.submit("A", page + "edit/", form, body=body, message="CI")
    expect(answer.status_code == 302, f"runbook save on web A: {answer.status_code}, expected 302")
    for _ in range(4):
        expect(marker in browser.get("B", page), f"web B served {page} without the edit")
    notes.append(f"{page} edited on A, read on B")


def override_on_a_read_on_b(browser: Browser, notes: list[str]) -> None:
    from django.utils import timezone

    from rotation.actions import override_problems
    from rotation.models import Rotation

    rotation = Rotation.objects.get(slug="platform")
    # 09:00-17:00 on the Thursday after the next handoff, in the rotation's zone: one shift.
    thursday = rotation.calendar.handoff_day_after(timezone.now()) + timedelta(days=2)
    zone = rotation.calendar.time_zone
    start = datetime(thursday.year, thursday.month, thursday.day, 9, tzinfo=zone)
    end = start + timedelta(hours=8)
    members = [m.engineer for m in rotation.memberships.select_related("engineer")]
    free = [e for e in members if not override_problems(rotation, "primary", e, start, end)]
    expect(free, f"nobody may be primary {start:%a %d %b %H:%M}-{end:%H:%M}")
    engineer = free[0]
    covering = f'{engineer.name} <span class="covering">'
    for _ in range(4):  # read on B first, so that B's workers remember the page as it was
        expect(covering not in browser.get("B", SCHEDULE_PAGE), "covering before the override")
    form = form_with(browser.get("A", "/admin/rotation/override/add/"), "starts_at_0")
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    answer = browser.submit(
        "A",
        "/admin/rotation/override/add/",
        form,
        rotation=str(rotation.pk),
        role="primary",
        engineer=str(engineer.pk),
        starts_at_0=f"{local_start:%Y-%m-%d}",
        starts_at_1=f"{local_start:%H:%M}",
        ends_at_0=f"{local_end:%Y-%m-%d}",
        ends_at_1=f"{local_end:%H:%M}",
        reason="CI",
    )
    expect(answer.status_code == 302, f"override in the admin on web A: {answer.status_code}")
    for _ in range(4):
        page = browser.get("B", SCHEDULE_PAGE)
        expect(covering in page, f"web B's {SCHEDULE_PAGE} does not show {engineer.name} covering")
    notes.append(f"{engineer.name} covers {thursday:%a %d %b}: added on A, shown on B")


def main_pages(runbook: str) -> list[str]:
    return [
        "/",
        "/me/",
        SCHEDULE_PAGE,
        "/calendars/",
        "/sync/",
        "/incidents/",
        "/incidents/new/",
        "/incidents/metrics/",
        "/runbooks/",
        f"/runbooks/{runbook}/",
        f"/runbooks/{runbook}/edit/",
        f"/runbooks/{runbook}/history/",
        "/runbooks/new/",
        "/account/api-token/",
        "/admin/",
        "/api/v1/oncall",
    ]


def check_static_files(browser: Browser, notes: list[str]) -> None:
    page = browser.get("B", "/")
    found = re.search(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', page)
    if found is None:
        raise CheckFailedError("the dashboard does not link a hashed portal.css")
    response = browser.request("GET", "B", found.group(1), headers={"Accept-Encoding": "gzip"})
    expect(response.status_code == 200, f"{found.group(1)}: {response.status_code}")
    cache = response.headers.get("cache-control", "")
    max_age = re.search(r"max-age=(\d+)", cache)
    expect(
        max_age and int(max_age.group(1)) >= 365 * 24 * 3600 and "immutable" in cache,
        f"{found.group(1)} Cache-Control: {cache!r}, expected a year or more and immutable",
    )
    expect(response.headers.get("content-encoding") == "gzip", "not served compressed")
    notes.append(f"{found.group(1)}: {cache}, gzip")


# The PagerDuty sync, and a worker killed during it ----------------------------------------------
#
# This part needs what branch pd adds (issue 12, finding 7), named here in one place:
# - ``manage.py fake_pagerduty --delay SECONDS``: each write waits that long before the fake
#   applies it, so the worker can be killed while its write is on the way;
# - a policy sync is recorded as a SyncRun with outcome "running" before it calls PagerDuty, and
#   a run whose worker died is recorded as "interrupted" by a later run; claims are leases of
#   about 30 s, so the other worker takes over promptly.

RUNNING, INTERRUPTED = "running", "interrupted"
WRITE_DELAY = 6  # seconds the fake waits before each write: the window to kill the worker in
TAKEOVER_WITHIN = 100  # seconds: the claim's lease (30-45 s) and a few enqueued runs


def fake_pagerduty_arguments() -> list[str]:
    """How this fake is slowed before each write, or [] when it cannot be."""
    from django.core.management import load_command_class

    command = load_command_class("pagerduty", "fake_pagerduty")
    parser = command.create_parser("manage.py", "fake_pagerduty")
    return ["--delay", str(WRITE_DELAY)] if "--delay" in parser.format_help() else []


def fake_policy(port: int) -> dict[str, Any]:
    answer = httpx.get(
        f"http://127.0.0.1:{port}/escalation_policies/{DEMO_POLICY}",
        headers={
            "Authorization": f"Token token={PAGERDUTY_TOKEN}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        },
        timeout=10,
    )
    answer.raise_for_status()
    policy: dict[str, Any] = answer.json()["escalation_policy"]
    return policy


def fake_user_ids(port: int) -> dict[str, str]:
    answer = httpx.get(
        f"http://127.0.0.1:{port}/users",
        params={"limit": 100},
        headers={
            "Authorization": f"Token token={PAGERDUTY_TOKEN}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        },
        timeout=10,
    )
    answer.raise_for_status()
    return {user["email"]: user["id"] for user in answer.json()["users"]}


def policy_levels(policy: dict[str, Any]) -> list[list[str]]:
    return [sorted(t["id"] for t in rule["targets"]) for rule in policy["escalation_rules"]]


def policy_writes(before: dict[str, Any], after: dict[str, Any]) -> float:
    """How many writes the fake applied to the policy between two readings of it.

    Counted on PagerDuty's side, as a killed worker cannot tell (the fake's access log has no
    line for a write whose client died before the answer): every write stores its rules under
    fresh ids (PRULE01, PRULE02...) from one sequence, so the ids used up since ``before``,
    divided by the rules a write stores, are the writes."""

    def last_rule(policy: dict[str, Any]) -> int:
        return max(int(rule["id"].removeprefix("PRULE")) for rule in policy["escalation_rules"])

    return (last_rule(after) - last_rule(before)) / len(after["escalation_rules"])


def enqueue_sync(label: str) -> None:
    """What the every-minute schedule does, now: one run of the policy sync job."""
    from django_q.tasks import async_task

    async_task("pagerduty.jobs.sync_pagerduty_policies", task_name=label)


def policy_runs() -> list[tuple[int, str]]:
    from pagerduty.models import SyncRun

    runs = SyncRun.objects.filter(kind=SyncRun.Kind.POLICY).order_by("id")
    return list(runs.values_list("id", "outcome"))


def connections_to(port: int) -> set[tuple[int, str]]:
    """(pid, local address) of every open TCP connection to ``port`` on this machine."""
    listing = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( dport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.findall(r"^\s*\d+\s+\d+\s+(\S+)\s+\S+\s+users:.*?pid=(\d+)", listing, re.MULTILINE)
    return {(int(pid), local) for local, pid in found}


def write_in_flight(worker: Service, port: int) -> bool:
    """Whether a process of ``worker``'s tree waits on a request to the fake for over a second.

    The fake answers reads at once and one request per connection (HTTP/1.0), so a connection
    that stays open is a write held by the fake's delay."""

    def waiting() -> set[str]:
        mine = set()
        for pid, local in connections_to(port):
            try:
                if os.getpgid(pid) == worker.process.pid:
                    mine.add(local)
            except ProcessLookupError:
                pass
        return mine

    first = waiting()
    if not first:
        return False
    time.sleep(1)
    return bool(first & waiting())


def interrupt_a_sync(report: Report, workers: list[Service], browser: Browser) -> None:
    """Kill the worker that runs a sync while it writes; the other one finishes it, once."""
    with report.check("the fake PagerDuty holds the demo's wrong policy") as notes:
        before = fake_policy(PORT_BASE + 2)
        levels = policy_levels(before)
        expect(len(levels) == 1, f"levels {levels}: seed_demo's fake has one wrong level")
        notes.append(f"levels {levels}")
    later = [
        "a worker picks a sync up; killed while it writes",
        "the other worker takes the sync over and finishes it",
        "PagerDuty's policy equals the roster, written once",
        "the portal records the interrupted run",
    ]
    if report.last_failed:
        for name in later:
            report.skip(name, "the fake's policy is not the one to fix")
        return
    with report.check(later[0]) as notes:
        enqueue_sync("ci-sync-1")
        picked = wait_for(
            "a worker to log 'processing ci-sync-1'",
            20,
            lambda: [w for w in workers if "processing ci-sync-1" in w.text()],
        )
        victim = picked[0]
        try:
            running = wait_for(
                f"a policy SyncRun with outcome {RUNNING!r} (recorded before it calls PagerDuty)",
                20,
                lambda: [pk for pk, outcome in policy_runs() if outcome == RUNNING],
                every=0.05,
            )[0]
        except CheckFailedError as error:
            raise CheckFailedError(f"{error}; the runs seen: {policy_runs()}") from None
        wait_for(
            f"{victim.name} to send its write to PagerDuty",
            20,
            partial(write_in_flight, victim, PORT_BASE + 2),
            every=0.1,
        )
        victim.kill()
        notes.append(f"{victim.name} killed (SIGKILL, its whole tree) in run {running}'s write")
    if report.last_failed:
        for name in later[1:]:
            report.skip(name, "no sync was interrupted")
        return
    (survivor,) = [w for w in workers if w is not victim]
    with report.check(f"{survivor.name} takes the sync over and finishes it") as notes:
        begun = time.monotonic()
        finished: list[tuple[int, str]] = []
        while not finished:
            waited = time.monotonic() - begun
            expect(
                waited < TAKEOVER_WITHIN,
                f"waited {TAKEOVER_WITHIN} s for a policy run after the kill to end changed or "
                f"in sync; the runs seen: {policy_runs()}",
            )
            # What the every-minute schedule does, every few seconds.
            enqueue_sync(f"ci-sync-{2 + int(waited)}")
            time.sleep(5)
            finished = [
                (pk, outcome)
                for pk, outcome in policy_runs()
                if pk > running and outcome in {"changed", "in_sync"}
            ]
        pk, outcome = finished[0]
        notes.append(f"run {pk} {outcome}, {time.monotonic() - begun:.0f} s after the kill")
    with report.check(later[2]) as notes:
        port = PORT_BASE + 2
        (answer,) = json.loads(browser.get("B", "/api/v1/oncall?rotation=platform"))
        ids = fake_user_ids(port)
        wanted = [[ids[answer["primary"]["email"]]], [ids[answer["secondary"]["email"]]]]
        after = fake_policy(port)
        levels = policy_levels(after)
        expect(levels == wanted, f"the fake's levels are {levels}, the roster's {wanted}")
        writes = policy_writes(before, after)
        expect(writes == 1, f"the fake applied {writes:g} writes to {DEMO_POLICY}, expected 1")
        notes.append(f"levels {levels}, 1 write")
    with report.check(later[3]) as notes:
        interrupted = [pk for pk, outcome in policy_runs() if outcome == INTERRUPTED]
        expect(interrupted == [running], f"runs {policy_runs()}: expected {running} {INTERRUPTED}")
        expect(INTERRUPTED in browser.get("B", "/sync/").lower(), "/sync/ does not show it")
        notes.append(f"run {running} {INTERRUPTED}, shown on /sync/")


# The run --------------------------------------------------------------------------------------


def run(report: Report, machine: Machine) -> None:
    web_ports = {"A": PORT_BASE, "B": PORT_BASE + 1}
    with report.setup("scratch PostgreSQL database and Redis database") as notes:
        create_database(machine.database)
        empty_redis()
        notes.append(f"{machine.database}, {REDIS_URL}")
    with report.setup("migrate") as notes:
        machine.run("migrate", "--noinput")
    with report.setup("collectstatic (manifest storage)") as notes:
        notes.append(machine.run("collectstatic", "--noinput").strip().splitlines()[-1])
    with report.setup("seed_demo") as notes:
        machine.run("seed_demo")
        notes.append("the demo team, its runbooks and escalation policy")

    # This process reads the database (to pick an override, to see sync runs) and enqueues jobs
    # as the portal does: Django, set up with the same environment.
    os.environ.update(machine.env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    # The portal's logging config logs every request httpx makes; the steps report their own.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    slow = fake_pagerduty_arguments()

    with report.setup("start the fake PagerDuty, two web processes and two workers") as notes:
        fake_port = str(PORT_BASE + 2)
        machine.start(
            "fake-pagerduty",
            [str(PYTHON), "manage.py", "fake_pagerduty", "--port", fake_port, *slow],
        )
        for web, port in web_ports.items():
            machine.start(f"web-{web}", unit_command("oncall-web@.service", str(port)))
        workers = [
            machine.start(f"worker-{n}", unit_command("oncall-worker@.service", str(n)))
            for n in (1, 2)
        ]
        browser = Browser(web_ports)
        for web in web_ports:
            wait_for(f"web {web}'s /healthz", 30, partial(answers, browser.get, web, "/healthz"))
        wait_for("the fake PagerDuty", 30, partial(answers, fake_user_ids, PORT_BASE + 2))
        for worker in workers:
            wait_for(f"{worker.name} to run", 30, partial(logged, worker, " running."))
        notes.append(f"web A :{PORT_BASE}, web B :{PORT_BASE + 1}, PagerDuty :{fake_port}")

    with report.setup("log in on web A (CSRF, session), the session works on web B") as notes:
        log_in(browser, "A")
        browser.get("B", "/")  # 200, not the login page's redirect
    with report.check("a runbook edited through web A reads fresh from web B") as notes:
        edit_runbook_on_a_read_on_b(browser, notes)
    with report.check("an override added through web A shows at once on web B") as notes:
        override_on_a_read_on_b(browser, notes)
    with report.check("a session logged out on web A is refused by web B") as notes:
        logout_on_a_ends_the_session_on_b(browser.backends, notes)
    with report.check("every main page answers 200 with DEBUG off") as notes:
        runbook = a_runbook(browser)
        for n, path in enumerate(main_pages(runbook)):
            browser.get("AB"[n % 2], path)
        notes.append(f"{len(main_pages(runbook))} pages, on A and B in turn")
    with report.check("static files: hashed names, cached for a year, compressed") as notes:
        check_static_files(browser, notes)
    with report.check("the fake PagerDuty waits before each write") as notes:
        expect(slow, "fake_pagerduty has no --delay option yet (branch pd adds it)")
        notes.append(f"{WRITE_DELAY} s")
    interrupt_a_sync(report, workers, browser)


def answers(probe: Callable[..., object], *arguments: Any) -> bool:
    """Whether ``probe(*arguments)`` answers without an error (a server is up)."""
    try:
        probe(*arguments)
    except (CheckFailedError, httpx.HTTPError):
        return False
    return True


def logged(service: Service, text: str) -> bool:
    return text in service.text()


def main() -> int:
    report = Report()
    folder = Path(tempfile.mkdtemp(prefix="portal-production-"))
    database = f"portal_ci_production_{os.getpid()}"
    machine = Machine(folder, production_environment(folder, database), database)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"The production recipe on this machine (logs in {folder} until the end)", flush=True)
    try:
        run(report, machine)
    except SetupFailedError:
        pass
    except StoppedError as signal_name:
        report.failures.append(f"stopped by {signal_name}")
    finally:
        if report.failures:
            for service in machine.services:
                tail = "\n".join(service.text().splitlines()[-25:])
                print(f"---- {service.name}, the end of its log\n{tail}", flush=True)
        clean_up(machine)
    seconds = time.perf_counter() - report.started
    if report.failures:
        print(f"FAILED in {seconds:.0f} s: {'; '.join(report.failures)}")
        return 1
    print(f"All held, in {seconds:.0f} s.")
    return 0


def close_connections() -> None:
    if "django.db" in sys.modules:  # Django was set up
        from django.db import connections

        connections.close_all()


def clean_up(machine: Machine) -> None:
    """Every process, the scratch database, the Redis database and the folder, each whatever
    became of the others."""
    steps: list[tuple[str, Callable[[], object]]] = [
        ("close this process's connections", close_connections),
        ("stop the processes", machine.stop_all),
        ("drop the scratch database", lambda: drop_database(machine.database)),
        ("empty the Redis database", empty_redis),
        ("remove the folder", lambda: shutil.rmtree(machine.folder)),
    ]
    for name, step in steps:
        try:
            step()
        except Exception as error:
            print(f"cleanup: could not {name}: {error}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
