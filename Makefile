# Two commands set everything up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Django 6.1 needs Python 3.12+ and the lock file is resolved for 3.12; the machine's default
# python3 may be older, so look for 3.12 on PATH, then in pyenv's versions, then anything newer.
PYENV_PYTHONS = $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V)
PYTHON ?= $(shell for p in python3.12 $(PYENV_PYTHONS) python3.13 python3.14; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := portal.settings

.PHONY: help install install-dev lock run test test-fast bench lint chromium

help:
	@echo "make run    install, migrate, load the demo team, serve the portal and its worker"
	@echo "make test   install (Chromium included) and run every test"
	@echo "make bench  throughput and query counts of the main pages"
	@echo "make lint   ruff, mypy and the migrations check"
	@echo "make lock   re-resolve requirements.lock and requirements-dev.lock (needs uv)"

# Two locks: requirements.lock is what the portal runs on (a production install takes only
# it), requirements-dev.lock adds tests, linters and type stubs, pinned to the same versions
# (it is resolved with the runtime lock as a constraint). Each has its own stamp, so make
# installs a lock again only when it changes.
$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "No Python 3.12+ found (try: pyenv install 3.12)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# This machine kind's pip config names local package folders that may not exist: hide that noise.
PIP_INSTALL = $(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r $< 2>&1 \
	| { grep -v "is ignored: it is neither a file nor a directory" || true; }; exit $${PIPESTATUS[0]}

$(BIN)/.installed: requirements.lock | $(BIN)/python
	$(PIP_INSTALL)
	touch $@

$(BIN)/.installed-dev: requirements-dev.lock | $(BIN)/python
	$(PIP_INSTALL)
	touch $@

install: $(BIN)/.installed
install-dev: $(BIN)/.installed-dev

# The commands that wrote each lock are in its header; uv is not in either lock.
lock:
	@command -v uv >/dev/null || { echo "make lock needs uv on PATH (pip install uv)"; exit 1; }
	uv pip compile pyproject.toml --python-version 3.12 --generate-hashes -o requirements.lock
	uv pip compile pyproject.toml --extra dev --python-version 3.12 --generate-hashes \
		-c requirements.lock -o requirements-dev.lock

# The feed tests also read each calendar with Mozilla's ical.js (tests/feeds/parsers.py). npm ci
# installs exactly the lock; rerun it when the lock changes, and touch the marker npm writes so
# make does not rerun it for an unchanged lock.
ICALJS := tests/icaljs
$(ICALJS)/node_modules/.package-lock.json: $(ICALJS)/package-lock.json $(ICALJS)/package.json
	@command -v npm >/dev/null || { echo "npm is needed for the ical.js feed tests (apt-get install nodejs npm)"; exit 1; }
	npm ci --prefix $(ICALJS) --no-audit --no-fund --loglevel=error
	touch $@

# The page crawl (tests/portal/test_every_page.py) injects Deque's axe-core into every page.
AXE := tests/axe
$(AXE)/node_modules/.package-lock.json: $(AXE)/package-lock.json $(AXE)/package.json
	@command -v npm >/dev/null || { echo "npm is needed for the accessibility crawl (apt-get install nodejs npm)"; exit 1; }
	npm ci --prefix $(AXE) --no-audit --no-fund --loglevel=error
	touch $@

# The single sign-on tests (tests/sso/) sign in through a real OpenID provider: panva's
# oidc-provider, the certified reference implementation, run by tests/oidc/provider.mjs.
OIDC := tests/oidc
$(OIDC)/node_modules/.package-lock.json: $(OIDC)/package-lock.json $(OIDC)/package.json
	@command -v npm >/dev/null || { echo "npm is needed for the single sign-on tests (apt-get install nodejs npm)"; exit 1; }
	npm ci --prefix $(OIDC) --no-audit --no-fund --loglevel=error
	touch $@

chromium:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The demo talks to a local fake PagerDuty (pagerduty/fake.py), never the real one;
# set both variables to use a real account.
FAKE_PAGERDUTY_PORT ?= 8025
run: export PAGERDUTY_API_URL ?= http://127.0.0.1:$(FAKE_PAGERDUTY_PORT)
run: export PAGERDUTY_API_TOKEN ?= fake-token
run: export PAGERDUTY_FEED_TRUSTED_ORIGINS ?= http://127.0.0.1:$(FAKE_PAGERDUTY_PORT)
# And a local fake Slack (slack_app/fake_api.py): the bot's Web API, its channel and the demo team
# as its users (one left out, to show someone unmatched). Set these to use a real Slack app.
FAKE_SLACK_PORT ?= 8026
run: export SLACK_API_URL ?= http://127.0.0.1:$(FAKE_SLACK_PORT)/api/
run: export SLACK_BOT_TOKEN ?= xoxb-fake-demo
run: export SLACK_SIGNING_SECRET ?= fake-demo-signing-secret
run: export SLACK_CHANNEL ?= C0ONCALL
# The banner comes once the server answers (a URL printed earlier may not open yet), and the
# demo logins come last, where they are seen, not among the migrations' lines.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py sync_schedules
	@logins="$$($(BIN)/python manage.py seed_demo)" || exit 1; \
	trap 'kill 0' EXIT INT TERM; \
		$(BIN)/python manage.py fake_pagerduty --port $(FAKE_PAGERDUTY_PORT) & \
		$(BIN)/python manage.py fake_slack --port $(FAKE_SLACK_PORT) --token "$$SLACK_BOT_TOKEN" \
			--channel "$$SLACK_CHANNEL" & \
		$(BIN)/python manage.py qcluster & \
		$(BIN)/python manage.py runserver --noreload $(HOST):$(PORT) & \
		for _ in $$(seq 300); do (: > /dev/tcp/$(HOST)/$(PORT)) 2>/dev/null && break; sleep 0.1; done; \
		echo; echo "  The portal: http://$(HOST):$(PORT)/   (Ctrl-C stops the server, the worker and the fake PagerDuty and Slack)"; \
		echo; echo "$$logins" | sed 's/^ *//; s/^/  /'; echo; \
		wait

test: install-dev chromium $(ICALJS)/node_modules/.package-lock.json $(AXE)/node_modules/.package-lock.json \
		$(OIDC)/node_modules/.package-lock.json
	$(BIN)/pytest

bench: install-dev
	$(BIN)/python -m tests.bench

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy . .ci/production.py  # mypy skips folders named with a dot
	$(BIN)/python manage.py makemigrations --check --dry-run
