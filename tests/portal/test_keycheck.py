"""The database remembers which secret key made its feed tokens, and a process started with
another key refuses to start, naming the key to bring, instead of turning every subscribed
calendar into a 404. ``rekey_feeds --confirm`` changes the key knowingly."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from feeds.actions import feed_token_of
from feeds.models import FeedFetch, FeedToken
from portal.keycheck import foreign_key_problem, refuse_a_foreign_secret_key, secret_key_check
from portal.keyring import secret_key_fingerprint
from portal.models import AuditEntry, SecretKeyFingerprint
from rotation.models import Engineer, Rotation
from tests.processes import run_manage, run_python

ANOTHER_KEY = "the-key-a-second-host-generated-for-itself-" + "x" * 20


@pytest.fixture
def erin(platform: Rotation, cast: dict[str, Engineer]) -> User:
    user = cast["erin"].user
    assert user is not None
    return user


def feed_url(user: User) -> str:
    return f"/calendars/{feed_token_of(user).token}/platform.all.ics"


def test_the_first_feed_token_records_the_key_it_was_made_with(erin: User, settings: Any) -> None:
    assert not SecretKeyFingerprint.objects.exists()
    feed_token_of(erin)
    [recorded] = SecretKeyFingerprint.objects.all()
    assert recorded.fingerprint == secret_key_fingerprint(settings.SECRET_KEY)


def test_the_key_that_made_the_tokens_may_start(erin: User) -> None:
    feed_token_of(erin)
    assert foreign_key_problem() is None
    assert secret_key_check() == []


def test_any_key_may_start_on_a_database_without_feed_tokens(db: None, settings: Any) -> None:
    settings.SECRET_KEY = ANOTHER_KEY
    assert foreign_key_problem() is None


def test_another_key_is_refused_with_the_one_to_bring(erin: User, settings: Any) -> None:
    made_with = secret_key_fingerprint(settings.SECRET_KEY)
    feed_token_of(erin)
    settings.SECRET_KEY = ANOTHER_KEY
    problem = (
        f"This database's feed tokens were made with the secret key {made_with}; this process "
        f"has {secret_key_fingerprint(ANOTHER_KEY)}. Start it with that SECRET_KEY (the "
        ".secret_key file or the SECRET_KEY variable of the host that made them), or run "
        "`manage.py rekey_feeds --confirm` to give every feed a new URL."
    )
    assert foreign_key_problem() == problem
    [error] = secret_key_check()
    assert (error.id, error.msg) == ("portal.E001", problem)
    with pytest.raises(Exception, match="feed tokens were made with the secret key"):
        refuse_a_foreign_secret_key()


def test_tokens_from_before_fingerprints_are_tried_with_the_key(erin: User, settings: Any) -> None:
    feed_token_of(erin)
    SecretKeyFingerprint.objects.all().delete()
    assert foreign_key_problem() is None
    settings.SECRET_KEY = ANOTHER_KEY
    problem = foreign_key_problem()
    assert problem is not None
    assert "made with another secret key than this process's" in problem
    assert secret_key_fingerprint(ANOTHER_KEY) in problem


def test_rekeying_gives_every_feed_a_new_url_and_remembers_the_key(
    client: Client, erin: User, settings: Any
) -> None:
    old_url = feed_url(erin)
    assert client.get(old_url).status_code == 200
    assert FeedFetch.objects.exists()
    settings.SECRET_KEY = ANOTHER_KEY

    out = StringIO()
    call_command("rekey_feeds", "--confirm", stdout=out)

    fingerprint = secret_key_fingerprint(ANOTHER_KEY)
    assert f"Re-keyed the feed tokens of 1 people with the secret key {fingerprint}" in (
        out.getvalue()
    )
    assert foreign_key_problem() is None
    assert SecretKeyFingerprint.objects.get().fingerprint == fingerprint
    assert not FeedFetch.objects.exists()
    new_url = feed_url(erin)
    assert new_url != old_url
    assert client.get(new_url).status_code == 200
    assert client.get(old_url).status_code == 404
    assert AuditEntry.objects.filter(action="feed_tokens.rekeyed").count() == 1


def test_rekeying_without_confirm_changes_nothing(erin: User, settings: Any) -> None:
    feed_token_of(erin)
    before = list(FeedToken.objects.values_list("token_hash", flat=True))
    settings.SECRET_KEY = ANOTHER_KEY
    out = StringIO()
    with pytest.raises(CommandError, match="nothing changed"):
        call_command("rekey_feeds", stdout=out)
    assert "each of the 1 people with feed addresses must subscribe again" in out.getvalue()
    assert list(FeedToken.objects.values_list("token_hash", flat=True)) == before
    assert foreign_key_problem() is not None


# The real start-up paths, in child processes on a database file ---------------------------

KEY = "the-key-that-made-this-databases-feed-tokens-" + "y" * 20
MAKE_A_FEED_TOKEN = (
    "from django.contrib.auth.models import User; from feeds.actions import feed_token_of; "
    "feed_token_of(User.objects.create_user('alice'))"
)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file migrated from empty (the check lets that through), with one feed token
    made with ``KEY``."""
    path = tmp_path_factory.mktemp("keycheck") / "portal.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": KEY}
    done = run_manage("migrate", "--verbosity", "0", env={**env, "SECRET_KEY": ANOTHER_KEY})
    assert done.returncode == 0, done.stderr
    done = run_manage("shell", "--command", MAKE_A_FEED_TOKEN, env=env)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def database(migrated: Path, tmp_path: Path) -> str:
    copy = tmp_path / "portal.sqlite3"
    shutil.copy(migrated, copy)
    return f"sqlite:///{copy}"


@pytest.mark.parametrize(
    "start",
    [
        ["manage.py", "check"],
        ["manage.py", "migrate"],
        ["manage.py", "qcluster", "--run-once"],
        ["-c", "import portal.wsgi"],
    ],
    ids=["check", "migrate", "worker", "web"],
)
def test_a_process_with_another_key_refuses_to_start(database: str, start: list[str]) -> None:
    done = run_python(*start, env={"DATABASE_URL": database, "SECRET_KEY": ANOTHER_KEY})
    assert done.returncode != 0
    assert (
        f"This database's feed tokens were made with the secret key {secret_key_fingerprint(KEY)}; "
        f"this process has {secret_key_fingerprint(ANOTHER_KEY)}." in done.stderr
    )


def test_the_web_process_with_the_right_key_starts(database: str) -> None:
    done = run_python("-c", "import portal.wsgi", env={"DATABASE_URL": database, "SECRET_KEY": KEY})
    assert done.returncode == 0, done.stderr


def test_after_rekeying_the_new_key_starts_and_the_old_one_is_refused(database: str) -> None:
    new = {"DATABASE_URL": database, "SECRET_KEY": ANOTHER_KEY}
    assert run_manage("rekey_feeds", "--confirm", env=new).returncode == 0
    assert run_manage("check", env=new).returncode == 0
    old = run_manage("check", env={**new, "SECRET_KEY": KEY})
    assert old.returncode != 0
    assert f"made with the secret key {secret_key_fingerprint(ANOTHER_KEY)}" in old.stderr
