"""A runbook page holds at most BODY_MAX_LENGTH characters, so that no page can tie up a worker
rendering it: the editor says so on its field, the preview answers 413 without rendering,
imports and restores are refused with the reason, and a page is shown as rendered on save."""

from __future__ import annotations

from pathlib import Path

import nh3
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from rotation.models import Rotation
from runbooks import actions
from runbooks import markdown as runbook_markdown
from runbooks.models import BODY_MAX_LENGTH, Revision, Runbook
from tests.conftest import NOW, login

pytestmark = pytest.mark.django_db

TOO_LONG = "x" * (BODY_MAX_LENGTH + 1)
TOO_LONG_MESSAGE = f"at most {BODY_MAX_LENGTH} characters (it has {BODY_MAX_LENGTH + 1})"


def turn_rendering_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on any rendering fails loudly: the Markdown renderer, and the sanitiser that
    every render ends in."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("rendered Markdown")

    monkeypatch.setattr(runbook_markdown, "render", refuse)
    monkeypatch.setattr(runbook_markdown, "render_page", refuse)
    monkeypatch.setattr(nh3, "clean", refuse)


@pytest.fixture
def renderer_off(monkeypatch: pytest.MonkeyPatch) -> None:
    turn_rendering_off(monkeypatch)


def new_page(client: Client, body: str) -> str:
    fields = {"title": "DB failover", "body": body, "base_revision": 0, "review_interval_days": 90}
    response = client.post("/runbooks/new/", fields)
    if response.status_code == 302:
        return ""
    return " ".join(response.context["form"].errors["body"])


def test_the_editor_takes_a_page_of_the_longest_length_and_no_longer(
    client: Client, platform: Rotation
) -> None:
    login(client, "erin")
    assert TOO_LONG_MESSAGE in new_page(client, TOO_LONG)
    assert not Runbook.objects.exists()
    assert new_page(client, "x" * BODY_MAX_LENGTH) == ""
    assert Runbook.objects.get().body == "x" * BODY_MAX_LENGTH


def test_the_save_action_refuses_a_body_too_long_and_writes_nothing(platform: Rotation) -> None:
    with pytest.raises(ValidationError) as refused:
        actions.save_page(None, {"title": "Long", "body": TOO_LONG}, base_revision=0, by=None)
    assert TOO_LONG_MESSAGE in " ".join(refused.value.message_dict["body"])
    assert not Runbook.objects.exists()
    assert not Revision.objects.exists()


def test_the_preview_of_a_text_too_long_is_refused_with_413_and_not_rendered(
    client: Client, platform: Rotation, renderer_off: None
) -> None:
    response = login(client, "erin").post("/runbooks/preview/", {"body": TOO_LONG})
    assert response.status_code == 413
    assert (
        f"Too long to preview or save: at most {BODY_MAX_LENGTH:,} characters, "
        f"this is {BODY_MAX_LENGTH + 1:,}." in response.content.decode()
    )


def test_the_preview_renders_a_text_of_the_longest_length(
    client: Client, platform: Rotation
) -> None:
    body = "**x** " * (BODY_MAX_LENGTH // 6)
    response = login(client, "erin").post("/runbooks/preview/", {"body": body})
    assert response.status_code == 200
    assert response.content.decode().count("<strong>x</strong>") == BODY_MAX_LENGTH // 6


def test_an_import_with_a_file_too_long_imports_nothing_and_names_it(
    platform: Rotation, tmp_path: Path
) -> None:
    (tmp_path / "Checkout-5xx.md").write_text("Roll back first.")
    (tmp_path / "Huge-page.md").write_text(TOO_LONG)
    with pytest.raises(CommandError) as refused:
        call_command("import_runbooks", str(tmp_path))
    assert (
        str(refused.value)
        == f"Nothing imported. Huge-page.md: Ensure this value has {TOO_LONG_MESSAGE}."
    )
    assert not Runbook.objects.exists()


def test_restoring_a_revision_from_before_the_limit_is_refused_with_the_reason(
    client: Client, platform: Rotation
) -> None:
    runbook = Runbook.objects.create(
        slug="old", title="Old", body="short", revision=2, updated_at=NOW, review_due_at=NOW
    )
    Revision.objects.create(runbook=runbook, number=1, title="Old", body=TOO_LONG, at=NOW)
    Revision.objects.create(runbook=runbook, number=2, title="Old", body="short", at=NOW)
    response = login(client, "erin").post(f"/runbooks/{runbook.slug}/restore/1/", follow=True)
    assert (
        f"Revision 1 cannot be restored: Ensure this value has {TOO_LONG_MESSAGE}."
        in response.content.decode()
    )
    runbook.refresh_from_db()
    assert (runbook.revision, runbook.body) == (2, "short")


def test_a_page_is_shown_as_rendered_on_save_without_rendering_again(
    client: Client, platform: Rotation, renderer_off: None
) -> None:
    runbook = Runbook.objects.create(
        slug="stored",
        title="Stored",
        body="**not this**",
        html="<p><strong>As saved</strong></p>",
        toc='<ul><li><a href="#h-a">A</a></li></ul>',
        updated_at=NOW,
        review_due_at=NOW,
    )
    response = login(client, "erin").get(runbook.get_absolute_url())
    assert response.status_code == 200
    assert "<strong>As saved</strong>" in response.content.decode()
