"""First sign-ins at once: the engineer's row is locked, so they make one user and one audit
entry, however many tabs (or retries) arrive together. Forced with threads at a barrier;
run on PostgreSQL (DATABASE_URL) to see the row lock itself at work."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import User
from django.db import connections

from portal.models import AuditEntry
from rotation.models import Engineer
from sso.actions import sign_in_engineer
from tests.conftest import restore_stamps

TABS = 8


@pytest.mark.django_db(transaction=True)
def test_first_sign_ins_at_once_make_one_user() -> None:
    restore_stamps()
    Engineer.objects.create(name="Dave Jones", email="dave@example.com")
    barrier = threading.Barrier(TABS)
    users: list[int] = []
    failures: list[BaseException] = []

    def sign_in() -> None:
        try:
            barrier.wait(timeout=30)
            users.append(sign_in_engineer("dave@example.com", is_manager=True).pk)
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign_in) for _ in range(TABS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(users) == TABS and len(set(users)) == 1
    assert User.objects.filter(email="dave@example.com").count() == 1
    assert AuditEntry.objects.filter(action="sso.linked").count() == 1
    assert AuditEntry.objects.filter(action="sso.managers_joined").count() == 1
