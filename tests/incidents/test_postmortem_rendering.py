"""A post-mortem's sections are rendered when they are saved and shown as stored, so a page view
renders nothing; each section holds at most SECTION_MAX_LENGTH characters, the timeline the
post-mortem starts with included."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.test import Client

from incidents import actions
from incidents.models import SECTION_MAX_LENGTH, SECTIONS, Postmortem
from rotation.models import Rotation
from tests.conftest import login
from tests.incidents.test_incidents import open_one, resolved_sev1, user, write
from tests.runbooks.test_page_length import turn_rendering_off

pytestmark = pytest.mark.django_db

TOO_LONG = "x" * (SECTION_MAX_LENGTH + 1)


def test_sections_are_rendered_on_save_and_the_page_renders_nothing(
    client: Client, platform: Rotation, monkeypatch: pytest.MonkeyPatch
) -> None:
    postmortem = resolved_sev1(login(client, "alice"))
    write(client, postmortem, summary="**Bad** <script>alert(1)</script>", impact="")
    postmortem.refresh_from_db()
    assert set(postmortem.sections_html) == {"summary", "timeline"}  # the sections with text
    turn_rendering_off(monkeypatch)
    page = client.get(f"/incidents/{postmortem.incident_id}/postmortem/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h3>Summary</h3>" in html and "<strong>Bad</strong>" in html
    assert "<script>alert(1)" not in html
    assert "<h3>Impact</h3>" not in html


def test_the_postmortem_owed_is_rendered_when_it_is_made(
    client: Client, platform: Rotation
) -> None:
    postmortem = resolved_sev1(login(client, "erin"))
    assert "Opened as SEV1" in postmortem.sections_html["timeline"]
    assert postmortem.sections_html["timeline"].startswith("<ul>")


@pytest.mark.parametrize("section", [name for name, _ in SECTIONS])
def test_a_section_longer_than_it_holds_gets_a_field_error_and_nothing_is_saved(
    client: Client, platform: Rotation, section: str
) -> None:
    postmortem = resolved_sev1(login(client, "alice"))
    before = {name: getattr(postmortem, name) for name, _ in SECTIONS}
    page = write(client, postmortem, **{section: TOO_LONG})
    assert (
        f"Ensure this value has at most {SECTION_MAX_LENGTH} characters "
        f"(it has {SECTION_MAX_LENGTH + 1})." in page
    )
    postmortem.refresh_from_db()
    assert {name: getattr(postmortem, name) for name, _ in SECTIONS} == before


def test_a_section_of_the_longest_length_is_saved(client: Client, platform: Rotation) -> None:
    postmortem = resolved_sev1(login(client, "alice"))
    write(client, postmortem, went_well="y" * SECTION_MAX_LENGTH)
    postmortem.refresh_from_db()
    assert postmortem.went_well == "y" * SECTION_MAX_LENGTH
    assert postmortem.sections_html["went_well"] == f"<p>{'y' * SECTION_MAX_LENGTH}</p>\n"


def test_the_save_action_refuses_a_section_too_long_before_writing(
    client: Client, platform: Rotation
) -> None:
    postmortem = resolved_sev1(login(client, "alice"))
    entries = postmortem.incident.timeline.count()
    with pytest.raises(ValidationError) as refused:
        actions.save_postmortem(postmortem, {"summary": TOO_LONG}, "published", by=user("alice"))
    assert list(refused.value.message_dict) == ["summary"]
    postmortem.refresh_from_db()
    assert (postmortem.summary, postmortem.status) == ("", "draft")
    assert postmortem.incident.timeline.count() == entries


def test_a_long_timeline_starts_the_postmortem_cut_to_fit_so_it_can_be_saved(
    client: Client, platform: Rotation
) -> None:
    incident = open_one(login(client, "erin"), severity="SEV1")
    note = "Checked the load balancer's logs again; nothing new. " * 3
    for _ in range(80):  # 80 notes of about 190 characters: more than a section holds
        actions.add_note(incident, note, by=user("erin"))
    actions.update_incident(incident, {"status": "resolved"}, by=user("erin"))
    postmortem = Postmortem.objects.get(incident=incident)
    lines = postmortem.timeline.splitlines()
    assert len(postmortem.timeline) <= SECTION_MAX_LENGTH
    assert "Opened as SEV1" in lines[0]
    before = incident.timeline.exclude(kind="postmortem").count()  # the entries it was made from
    more = before - (len(lines) - 1)
    assert more > 0
    assert lines[-1] == f"- … and {more} more on the incident's timeline."
    write(login(client, "alice"), postmortem, summary="Written.")
    postmortem.refresh_from_db()
    assert postmortem.summary == "Written."


def test_the_migration_renders_the_postmortems_written_before_it(
    client: Client, platform: Rotation
) -> None:
    postmortem = resolved_sev1(login(client, "alice"))
    write(client, postmortem, summary="Checkout failed for **40 minutes**.")
    Postmortem.objects.update(sections_html={})  # as every row was before the migration
    migration = importlib.import_module("incidents.migrations.0005_postmortem_sections_html")
    migration.render_sections(apps, None)
    postmortem.refresh_from_db()
    assert set(postmortem.sections_html) == {"summary", "timeline"}
    assert "<strong>40 minutes</strong>" in postmortem.sections_html["summary"]
