"""Two managers save different orders from pages opened on the same roster, at once: one
wins, the other is refused as stale, and nothing of the refused save is written."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from portal.models import AuditEntry, Notice
from rotation.actions import RosterError
from rotation.models import Engineer, Rotation
from rotation.roster_edit import NewEngineer, roster_version, save_roster_edit
from tests.conftest import NOW


@pytest.mark.django_db(transaction=True)
def test_two_managers_saving_at_once_one_wins_and_the_other_is_refused_as_stale(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    opened = roster_version(platform)
    newcomer = NewEngineer("Sam", "sam@example.com", "", create_login=True)
    edits = [
        (["alice", "dave", "erin", "bob"], None),
        (["erin", "dave", "alice", "bob", "sam"], newcomer),
    ]
    barrier = threading.Barrier(len(edits))
    saved: list[list[str]] = []
    refused: list[RosterError] = []
    failures: list[BaseException] = []

    def save(names: list[str], new: NewEngineer | None) -> None:
        emails = [f"{name}@example.com" for name in names]
        try:
            rotation = Rotation.objects.get(pk=platform.pk)
            barrier.wait(timeout=30)
            save_roster_edit(rotation, emails, new, version=opened, by=None, now=NOW)
            saved.append(emails)
        except RosterError as error:
            refused.append(error)
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=save, args=edit) for edit in edits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(saved) == len(refused) == 1
    assert refused[0].problems[0].code == "stale"
    (winner,) = saved
    members = list(
        platform.memberships.order_by("position").values_list("engineer__email", flat=True)
    )
    assert members == winner
    era = platform.eras.order_by("starts_at").last()
    assert era is not None
    emails = dict(Engineer.objects.values_list("id", "email"))
    assert [emails[i] for i in era.member_ids] == winner
    # The loser's newcomer, login, shadow week and notices are not half there.
    sam_saved = "sam@example.com" in winner
    assert Engineer.objects.filter(email="sam@example.com").exists() == sam_saved
    assert platform.shadows.filter(engineer__email="sam@example.com").exists() == sam_saved
    assert AuditEntry.objects.filter(action="roster.saved").count() == 2  # fixture + winner
    entry = AuditEntry.objects.filter(action="roster.saved").latest("at", "id")
    roster_notices = Notice.objects.filter(key__startswith="roster:")
    assert {n.key.split(":")[1] for n in roster_notices} == {str(entry.pk)}
