"""The week's release checklist: steps read from a runbook's task items, copied once when the
week's release opens, ticked and unticked with who and when by the week's people.

The cast (tests/conftest.py): week 1 runs from Tuesday 1 December 10:00 in Los Angeles, alice
primary and erin secondary; dave was primary the week before; carol manages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from handoff.checklist import DEFAULT_STEPS, MOST_STEPS, STEP_LENGTH, task_items
from handoff.models import Release, ReleaseStep, WeekSetup
from handoff.release import (
    ReleaseError,
    open_release,
    release_state,
    this_week,
    tick_step,
    week_named,
)
from portal.models import AuditEntry
from rotation.models import Engineer, Rotation
from runbooks.actions import save_page
from runbooks.models import Runbook
from tests.conftest import NOW, login
from tests.rotation.test_swaps_race import at_once


def user_of(engineer: Engineer) -> User:
    assert engineer.user is not None
    return engineer.user


WEEK_1 = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # Tuesday 1 December 10:00 in Los Angeles
RUNBOOK = """Our release.

- [ ] Tag **master**
* [x] Deploy to [staging](https://staging.example.com)
1. [ ] Check `staging` with [[Smoke tests|the smoke tests]]
- a plain bullet, not a step

```
- [ ] an example inside code, not a step
```
"""


def release_runbook(rotation: Rotation, body: str = RUNBOOK) -> Runbook:
    page = save_page(None, {"title": "Weekly release", "body": body}, base_revision=0, by=None)
    WeekSetup.objects.update_or_create(rotation=rotation, defaults={"release_runbook": page})
    return page


def test_task_items_are_steps_in_plain_words_and_code_is_not() -> None:
    assert task_items(RUNBOOK) == [
        "Tag master",
        "Deploy to staging",
        "Check staging with the smoke tests",
    ]


def test_a_page_of_task_items_is_capped_in_count_and_length() -> None:
    many = "\n".join(f"- [ ] step {n} " + "x" * 400 for n in range(80))
    items = task_items(many)
    assert len(items) == MOST_STEPS
    assert all(len(item) <= STEP_LENGTH for item in items)
    assert items[0].startswith("step 0 x") and items[0].endswith("…")


def test_a_tilde_fence_hides_its_items_until_it_closes() -> None:
    body = "~~~\n- [ ] hidden\n```\n- [ ] still hidden\n~~~\n- [ ] shown"
    assert task_items(body) == ["shown"]


def test_this_week_is_named_by_its_handoff_date(platform: Rotation) -> None:
    assert this_week(platform, NOW) == (WEEK_1, WEEK_1 + timedelta(days=7))
    assert week_named(platform, WEEK_1.date()) == this_week(platform, NOW)
    assert week_named(platform, WEEK_1.date() + timedelta(days=1)) is None


def test_without_a_runbook_the_guides_steps_are_the_checklist(platform: Rotation) -> None:
    state = release_state(platform, WEEK_1)
    assert [s.text for s in state.steps] == list(DEFAULT_STEPS)
    assert (state.done, state.total, state.is_open) == (0, 5, False)
    assert state.owner is not None and state.owner.name == "Alice"


def test_the_steps_are_copied_once_so_a_runbook_edit_changes_next_week(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    page = release_runbook(platform)
    week = this_week(platform, NOW)
    assert week is not None
    tick_step(platform, week, 1, done=True, by=user_of(cast["alice"]), now=NOW)
    save_page(
        page,
        {"title": page.title, "body": "- [ ] Something else"},
        base_revision=page.revision,
        by=None,
    )
    assert open_release(platform, WEEK_1) == Release.objects.get()
    state = release_state(platform, WEEK_1)
    assert [s.text for s in state.steps] == [
        "Tag master",
        "Deploy to staging",
        task_items(RUNBOOK)[2],
    ]
    assert state.owner == cast["alice"] and state.is_open
    assert [s.text for s in release_state(platform, WEEK_1 + timedelta(days=7)).steps] == [
        "Something else"
    ]


def test_a_tick_says_who_and_when_and_an_untick_clears_it(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    week = (WEEK_1, WEEK_1 + timedelta(days=7))
    erin = user_of(cast["erin"])
    step = tick_step(platform, week, 2, done=True, by=erin, now=NOW)
    assert (step.done_by, step.done_at) == (erin, NOW)
    state = release_state(platform, WEEK_1)
    assert (state.done, state.total, state.complete) == (1, 5, False)
    assert state.steps[1].done_by == "Erin" and state.steps[1].done_at == NOW
    later = NOW + timedelta(hours=1)
    # A second tick keeps the first one's who and when.
    again = tick_step(platform, week, 2, done=True, by=user_of(cast["alice"]), now=later)
    assert (again.done_by, again.done_at) == (erin, NOW)
    cleared = tick_step(platform, week, 2, done=False, by=user_of(cast["alice"]), now=later)
    assert cleared.done_at is None and cleared.done_by is None
    actions = list(
        AuditEntry.objects.filter(action__startswith="release.").values_list("action", flat=True)
    )
    assert sorted(actions) == ["release.opened", "release.step_ticked", "release.step_unticked"]


def test_every_step_ticked_completes_the_release(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    week = (WEEK_1, WEEK_1 + timedelta(days=7))
    for position in range(1, 6):
        tick_step(platform, week, position, done=True, by=user_of(cast["carol"]), now=NOW)
    assert release_state(platform, WEEK_1).complete


def test_someone_not_on_the_week_may_not_tick_and_is_told_who_may(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    week = (WEEK_1, WEEK_1 + timedelta(days=7))
    with pytest.raises(ReleaseError, match="Only Alice, that week's primary or secondary"):
        tick_step(platform, week, 1, done=True, by=user_of(cast["dave"]), now=NOW)
    assert not ReleaseStep.objects.filter(done_at__isnull=False).exists()


def test_a_week_not_begun_cannot_be_ticked(platform: Rotation, cast: dict[str, Engineer]) -> None:
    week = (WEEK_1 + timedelta(days=7), WEEK_1 + timedelta(days=14))
    with pytest.raises(ReleaseError, match="not begun"):
        tick_step(platform, week, 1, done=True, by=user_of(cast["erin"]), now=NOW)
    assert not Release.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_openers_at_once_make_one_release_with_its_steps_once(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    opened: list[Release] = []
    failures = at_once([lambda: opened.append(open_release(platform, WEEK_1)) for _ in range(4)])
    assert failures == []
    assert len({release.pk for release in opened}) == 1
    assert Release.objects.count() == 1
    assert ReleaseStep.objects.count() == len(DEFAULT_STEPS)
    assert AuditEntry.objects.filter(action="release.opened").count() == 1


def test_the_release_page_ticks_a_step_and_shows_who_and_when_in_the_readers_zone(
    client: Client,
    platform: Rotation,
    cast: dict[str, Engineer],
    django_assert_max_num_queries: object,
) -> None:
    Engineer.objects.filter(pk=cast["erin"].pk).update(time_zone="Europe/Berlin")
    login(client, "erin")
    page = client.get("/rotations/platform/release/").content.decode()
    assert "0 of 5 steps done" in page and "Cut the release from a green master" in page
    response = client.post("/rotations/platform/release/", {"position": "1", "done": "on"})
    assert response.status_code == 302
    with django_assert_max_num_queries(20):  # type: ignore[operator]
        page = client.get("/rotations/platform/release/").content.decode()
    assert "1 of 5 steps done" in page and "Erin, <time" in page
    assert "Wed 2 Dec 18:00 CET" in page


def test_the_release_page_refuses_an_outsider_with_a_message(
    client: Client, platform: Rotation
) -> None:
    login(client, "dave")
    response = client.post(
        "/rotations/platform/release/", {"position": "1", "done": "on"}, follow=True
    )
    assert "Only Alice" in response.content.decode()
    assert not ReleaseStep.objects.filter(done_at__isnull=False).exists()


def test_a_past_week_is_named_by_its_handoff_date(client: Client, platform: Rotation) -> None:
    login(client, "dave")
    page = client.get("/rotations/platform/release/?week=2026-11-24").content.decode()
    assert "shepherded by Dave" in page
    bad = client.get("/rotations/platform/release/?week=2026-11-25").content.decode()
    assert "No week of Platform starts on" in bad and "shepherded by Alice" in bad
