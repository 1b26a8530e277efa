"""Swaps under concurrency (run on PostgreSQL too): conflicting swaps of one stint accepted at
the same instant, and the notice sender running on two workers at once.

Alice offers her stint from 22 Dec to Bob (for his from 5 Jan), Erin (29 Dec) and Dave
(15 Dec); each is valid alone, and once one is accepted Alice no longer holds the stint the
others name. Three threads accept at once behind a barrier: exactly one wins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from itertools import pairwise

import pytest
from django.core import mail
from django.db import connections

from portal.models import Notice
from portal.notices import send_pending, tell
from rotation.actions import RosterError
from rotation.models import Engineer, Rotation, Swap, SwapStatus
from rotation.swaps import accept_swap, propose_swap
from tests.conftest import NOW
from tests.rotation.test_swaps import ALICE_STINT, handoff, holders

PARTNERS = {"bob": date(2027, 1, 5), "erin": date(2026, 12, 29), "dave": date(2026, 12, 15)}


def at_once(work: list[Callable[[], object]]) -> list[BaseException]:
    """Run each piece of work in its own thread, all released together by a barrier."""
    barrier = threading.Barrier(len(work))
    failures: list[BaseException] = []

    def run(piece: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            piece()
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(piece,)) for piece in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


@pytest.mark.django_db(transaction=True)
def test_of_conflicting_swaps_of_one_stint_accepted_at_once_exactly_one_wins(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    proposals = {
        name: propose_swap(
            platform,
            cast["alice"],
            handoff(platform, ALICE_STINT),
            cast[name],
            handoff(platform, day),
            by=cast["alice"].user,
        )
        for name, day in PARTNERS.items()
    }

    def accept(name: str) -> Callable[[], object]:
        return lambda: accept_swap(Swap.objects.get(pk=proposals[name].pk), by=cast[name].user)

    failures = at_once([accept(name) for name in PARTNERS])

    assert len(failures) == 2
    assert all(
        isinstance(f, RosterError) and f.problems[0].code == "swap-stint" for f in failures
    ), failures
    [won] = Swap.objects.filter(status=SwapStatus.ACCEPTED)
    assert Swap.objects.filter(status=SwapStatus.PROPOSED).count() == 2
    # The chain holds in every week from now to past the last stint involved.
    days = [date(2026, 12, 8) + n * (date(2026, 12, 15) - date(2026, 12, 8)) for n in range(8)]
    weeks = [holders(platform, day) for day in days]
    for (_, secondary), (primary, _) in pairwise(weeks):
        assert secondary == primary
    assert all(primary != secondary for primary, secondary in weeks)
    assert holders(platform, ALICE_STINT)[1] == won.partner.name


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_at_once_send_each_email_once(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    for number in range(20):
        tell(f"test:{number}", f"person{number}@example.com", "Hello", "Once only")
    mail.outbox = []

    failures = at_once([lambda: send_pending(now=NOW)] * 2)

    assert failures == []
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        f"person{number}@example.com" for number in range(20)
    )
    assert not Notice.objects.filter(sent_at__isnull=True).exists()
