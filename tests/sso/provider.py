"""A real OpenID provider for the tests (tests/oidc/provider.mjs, panva's oidc-provider on
Node), and a scripted browser that signs in on its development login pages."""

from __future__ import annotations

import html
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import httpx
from django.conf import settings

HARNESS = Path(settings.BASE_DIR) / "tests" / "oidc"
CLIENT_ID = "oncall-portal"
CLIENT_SECRET = "a-test-client-secret"


@contextmanager
def running_provider(*redirect_uris: str) -> Iterator[str]:
    """Starts the provider for ``redirect_uris`` on a free port; yields its issuer URL."""
    if not (HARNESS / "node_modules" / "oidc-provider").exists():
        raise RuntimeError("run `npm ci --prefix tests/oidc` (make test does)")
    process = subprocess.Popen(
        ["node", str(HARNESS / "provider.mjs"), CLIENT_ID, CLIENT_SECRET, ",".join(redirect_uris)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # its warnings: Node 20, the in-memory store, dev pages
        text=True,
    )
    try:
        assert process.stdout is not None
        issuer = process.stdout.readline().strip()
        if not issuer.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the OpenID provider did not start: {issuer!r}")
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)


def sign_in_at_provider(authorize_url: str, login: str, *, back_to: str) -> str:
    """Signs in as ``login`` on the provider's own pages (any password) and consents, as a
    person would; returns the URL the provider then sends the browser to (``back_to``...)."""
    with httpx.Client(timeout=10) as browser:
        response = browser.get(authorize_url)
        for _ in range(12):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(back_to):
                    return location
                response = browser.get(location)
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            prompt = re.search(r'name="prompt" value="(\w+)"', response.text)
            if form is None or prompt is None:
                raise AssertionError(f"no form on the provider's page: {response.text[:500]}")
            fields = {"prompt": prompt[1]}
            if prompt[1] == "login":
                fields |= {"login": login, "password": "any password"}
            action = urljoin(str(response.url), html.unescape(form[1]))
            response = browser.post(action, data=fields)
    raise AssertionError("the provider never sent the browser back")
