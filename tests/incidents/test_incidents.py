"""Incidents: the on-call snapshot, the append-only timeline, customer updates, who owes the
post-mortem and when, who may publish it, and forms that refuse impossible input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents import actions, rules
from incidents.models import SECTIONS, ActionItem, Incident, Postmortem, TimelineEntry
from portal.models import AuditEntry
from rotation.actions import save_roster
from rotation.models import Engineer, Rotation
from runbooks.actions import save_page
from tests.conftest import NOW, login

pytestmark = pytest.mark.django_db


def form(**changes: Any) -> dict[str, Any]:
    fields = {
        "title": "Checkout returns 500s",
        "severity": "SEV2",
        "status": "investigating",
        "services": "checkout, payments",
        "started_at": "2026-12-02T08:40",
        "detected_at": "2026-12-02T08:45",
        "acknowledged_at": "",
        "mitigated_at": "",
        "resolved_at": "",
        "commander": "",
        "pagerduty_url": "",
    }
    return {**fields, **changes}


def open_one(client: Client, **changes: Any) -> Incident:
    response = client.post("/incidents/new/", form(**changes))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Incident.objects.latest("id")


def user(name: str) -> User:
    return User.objects.get(email=f"{name}@example.com")


# Rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "impact", "owed"),
    [("SEV1", False, True), ("SEV2", False, True), ("SEV3", False, False), ("SEV4", True, True)],
)
def test_sev1_sev2_or_customer_impact_owe_a_postmortem(
    severity: str, impact: bool, owed: bool
) -> None:
    assert rules.postmortem_owed(severity, impact, ["SEV1", "SEV2"], True) is owed


def test_the_postmortem_is_due_five_business_days_later_skipping_weekends() -> None:
    assert rules.business_days_after(date(2026, 12, 2), 5) == date(2026, 12, 9)  # Wed -> Wed
    assert rules.business_days_after(date(2026, 12, 4), 5) == date(2026, 12, 11)  # Fri -> Fri
    assert rules.business_days_after(date(2026, 12, 5), 5) == date(2026, 12, 11)  # Sat -> Fri


# Opening, the snapshot, the timeline --------------------------------------------------------


def test_an_incident_records_who_was_on_call_and_roster_edits_never_change_it(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    incident = open_one(login(client, "erin"))
    assert incident.on_call_at_open["primary"]["name"] == "Alice"
    assert incident.on_call_at_open["secondary"]["name"] == "Erin"
    assert [s["name"] for s in incident.on_call_at_open["shadows"]] == ["Bob"]
    assert incident.commander == cast["alice"]  # the primary, by default
    assert incident.primary_at_start == cast["alice"]
    with time_machine.travel(datetime(2026, 11, 20, tzinfo=UTC), tick=False):
        save_roster(platform, [cast["erin"], cast["dave"], cast["alice"], cast["bob"]], by=None)
    incident.refresh_from_db()
    assert incident.on_call_at_open["primary"]["name"] == "Alice"


def test_times_are_typed_and_shown_in_the_viewers_own_zone(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["erin"].pk).update(time_zone="Australia/Sydney")
    login(client, "erin")
    assert "In Australia/Sydney." in client.get("/incidents/new/").content.decode()
    incident = open_one(client, started_at="2026-12-03T04:00", detected_at="2026-12-03T04:05")
    assert incident.started_at == datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # AEDT is UTC+11
    assert "Thu 3 Dec 2026 04:00 AEDT" in client.get(incident.get_absolute_url()).content.decode()
    # Someone without a zone on their profile reads the portal's (UTC here).
    login(client, "dave")
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Wed 2 Dec 2026 17:00 UTC" in page


def test_the_timeline_is_append_only(client: Client, platform: Rotation) -> None:
    incident = open_one(login(client, "erin"))
    entry = incident.timeline.get()
    entry.text = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    assert TimelineEntry.objects.get().text.startswith("Opened as SEV2")


def test_every_change_is_a_timeline_entry_with_who_and_when(
    client: Client, platform: Rotation
) -> None:
    login(client, "erin")
    incident = open_one(client)
    client.post(
        f"/incidents/{incident.pk}/",
        {
            "action": "update",
            **form(status="identified", severity="SEV1", commander=incident.commander_id),
        },
    )
    client.post(f"/incidents/{incident.pk}/", {"action": "note", "text": "Rolled back deploy 512"})
    texts = list(incident.timeline.values_list("kind", "text", "by__email"))
    assert texts[1:] == [
        ("severity", "Severity: SEV2 → SEV1.", "erin@example.com"),
        ("status", "Status: Investigating → Identified.", "erin@example.com"),
        ("note", "Rolled back deploy 512", "erin@example.com"),
    ]


# Forms --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"resolved_at": "2026-12-02T08:00", "status": "resolved"},
            "resolved_at",
            "resolved before it started",
        ),
        (
            {"acknowledged_at": "2026-12-02T08:41"},
            "acknowledged_at",
            "acknowledged before it was detected",
        ),
        ({"title": ""}, "title", "This field is required."),
        ({"severity": "SEV9"}, "severity", "Select a valid choice."),
    ],
)
def test_impossible_input_gets_a_field_error_and_saves_nothing(
    client: Client, platform: Rotation, changes: dict[str, str], field: str, message: str
) -> None:
    response = login(client, "erin").post("/incidents/new/", form(**changes))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Incident.objects.exists() and not TimelineEntry.objects.exists()


def test_a_rejected_change_keeps_the_incident_as_it_was(client: Client, platform: Rotation) -> None:
    incident = open_one(login(client, "erin"))
    response = client.post(
        f"/incidents/{incident.pk}/",
        {"action": "update", **form(status="resolved", resolved_at="2026-12-01T00:00")},
    )
    assert "resolved before it started" in response.content.decode()
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == ("investigating", None)
    assert incident.timeline.count() == 1


# Customer updates ---------------------------------------------------------------------------


def test_updates_are_drafted_from_the_template_edited_and_marked_sent(
    client: Client, platform: Rotation
) -> None:
    incident = open_one(login(client, "erin"))
    client.post(f"/incidents/{incident.pk}/", {"action": "draft"})
    draft = incident.updates.get()
    assert "We are investigating reports of problems with checkout, payments." in draft.body
    assert "Next update by 18:00 UTC." in draft.body  # SEV2: every hour
    client.post(f"/incidents/{incident.pk}/updates/{draft.pk}/send/", {"body": "We are on it."})
    draft.refresh_from_db()
    incident.refresh_from_db()
    assert (draft.body, draft.sent_at) == ("We are on it.", NOW)
    assert incident.next_update_due == NOW + timedelta(hours=1)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "We are on it." in page and "was due" not in page


def test_an_overdue_update_is_called_out(client: Client, platform: Rotation) -> None:
    incident = open_one(login(client, "erin"))
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "The next customer update was due 1\xa0hour ago" in page


# Post-mortems -------------------------------------------------------------------------------


def test_resolving_a_sev2_makes_the_primary_at_the_start_owe_a_postmortem(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # Started last week, in Dave's shift; opened today.
    incident = open_one(
        login(client, "erin"), started_at="2026-11-27T10:00", detected_at="2026-11-27T10:05"
    )
    assert Postmortem.objects.count() == 0
    with time_machine.travel(datetime(2026, 12, 4, 20, tzinfo=UTC), tick=False):  # a Friday
        client.post(
            f"/incidents/{incident.pk}/",
            {
                "action": "update",
                **form(
                    status="resolved", started_at="2026-11-27T10:00", detected_at="2026-11-27T10:05"
                ),
            },
        )
    postmortem = Postmortem.objects.get()
    assert postmortem.owner == cast["dave"]
    assert postmortem.due_on == date(2026, 12, 11)
    assert "Opened as SEV2" in postmortem.timeline


def test_a_sev3_without_customer_impact_owes_nothing(client: Client, platform: Rotation) -> None:
    incident = open_one(login(client, "erin"), severity="SEV3")
    client.post(
        f"/incidents/{incident.pk}/",
        {"action": "update", **form(severity="SEV3", status="resolved")},
    )
    assert not Postmortem.objects.exists()


def resolved_sev1(client: Client) -> Postmortem:
    incident = open_one(client, severity="SEV1", status="resolved", resolved_at="2026-12-02T09:30")
    return Postmortem.objects.get(incident=incident)


@pytest.mark.parametrize(("who", "may"), [("alice", True), ("carol", True), ("erin", False)])
def test_only_the_owner_the_commander_or_a_manager_may_publish(
    client: Client, platform: Rotation, who: str, may: bool
) -> None:
    postmortem = resolved_sev1(login(Client(), "erin"))
    sections = {"summary": "Checkout failed for **40 minutes**.", "status": "published"}
    response = login(client, who).post(f"/incidents/{postmortem.incident_id}/postmortem/", sections)
    postmortem.refresh_from_db()
    assert (postmortem.status == "published") is may
    if not may:
        assert "You cannot publish this post-mortem" in response.content.decode()


def write(client: Client, postmortem: Postmortem, **changes: str) -> str:
    """Post the post-mortem form as its page holds it, with ``changes``; the page shown back."""
    postmortem.refresh_from_db()
    fields = {name: getattr(postmortem, name) for name, _ in SECTIONS}
    fields["status"] = postmortem.status
    url = f"/incidents/{postmortem.incident_id}/postmortem/"
    return client.post(url, {**fields, **changes}, follow=True).content.decode()


def entries(postmortem: Postmortem) -> list[str]:
    return list(postmortem.incident.timeline.values_list("text", flat=True))


def test_an_engineer_who_makes_themselves_commander_still_cannot_publish(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    postmortem = resolved_sev1(login(client, "erin"))  # alice commands and owns it
    url = f"/incidents/{postmortem.incident_id}/"
    resolved = {"severity": "SEV1", "status": "resolved", "resolved_at": "2026-12-02T09:30"}
    page = client.get(url).content.decode()
    assert "Only a manager may change the commander." in page
    client.post(url, {"action": "update", **form(**resolved, commander=cast["erin"].pk)})
    postmortem.refresh_from_db()
    assert postmortem.incident.commander == cast["alice"]
    before = entries(postmortem)
    page = write(client, postmortem, summary="Nothing to see.", status="published")
    assert "You cannot publish this post-mortem" in page
    postmortem.refresh_from_db()
    assert (postmortem.status, postmortem.summary) == ("draft", "")
    assert entries(postmortem) == before
    # A manager may hand the incident over; the new commander may then publish.
    login(client, "carol").post(
        url, {"action": "update", **form(**resolved, commander=cast["erin"].pk)}
    )
    postmortem.refresh_from_db()
    assert postmortem.incident.commander == cast["erin"]
    write(login(client, "erin"), postmortem, summary="Checkout failed.", status="published")
    postmortem.refresh_from_db()
    assert postmortem.status == "published"


def test_the_actions_refuse_a_commander_change_by_an_engineer(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    incident = open_one(login(client, "erin"))
    with pytest.raises(PermissionError, match="Only a manager may change the commander"):
        actions.update_incident(
            incident, {"commander": cast["erin"], "severity": "SEV1"}, by=user("erin")
        )
    incident.refresh_from_db()
    assert (incident.commander, incident.severity) == (cast["alice"], "SEV2")
    assert incident.timeline.count() == 1


def test_only_the_owner_the_commander_or_a_manager_may_unpublish_or_revise(
    client: Client, platform: Rotation
) -> None:
    postmortem = resolved_sev1(login(client, "alice"))
    write(client, postmortem, summary="Checkout failed.", status="published")
    before = entries(postmortem)
    login(client, "erin")
    page = write(client, postmortem, status="draft")
    assert "You cannot un-publish this post-mortem" in page
    page = write(client, postmortem, summary="It was fine really.")
    assert "You cannot revise this published post-mortem" in page
    postmortem.refresh_from_db()
    assert (postmortem.status, postmortem.summary) == ("published", "Checkout failed.")
    assert entries(postmortem) == before
    # The owner may take it back.
    write(login(client, "alice"), postmortem, status="draft")
    postmortem.refresh_from_db()
    assert postmortem.status == "draft"
    assert entries(postmortem)[-1] == "Post-mortem draft."


def test_revising_a_published_postmortem_is_on_the_timeline(
    client: Client, platform: Rotation
) -> None:
    postmortem = resolved_sev1(login(client, "alice"))
    write(client, postmortem, summary="Checkout failed.", status="published")
    write(client, postmortem, summary="Checkout failed for 40 minutes.", impact="All EU buyers.")
    postmortem.refresh_from_db()
    assert (postmortem.status, postmortem.impact) == ("published", "All EU buyers.")
    assert entries(postmortem)[-1] == (
        "Post-mortem revised after publication by Alice: Summary, Impact."
    )
    assert AuditEntry.objects.filter(action="postmortem.revised").exists()


def test_a_manager_may_publish_and_only_those_who_may_are_offered_it(
    client: Client, platform: Rotation
) -> None:
    postmortem = resolved_sev1(login(client, "erin"))
    url = f"/incidents/{postmortem.incident_id}/postmortem/"
    assert 'value="published"' not in client.get(url).content.decode()
    login(client, "carol")
    assert 'value="published"' in client.get(url).content.decode()
    write(client, postmortem, summary="Checkout failed.", status="published")
    postmortem.refresh_from_db()
    assert postmortem.status == "published"
    assert entries(postmortem)[-1] == "Post-mortem published."
    assert AuditEntry.objects.filter(action="postmortem.published").exists()


def test_postmortem_markdown_is_rendered_safely_and_exported(
    client: Client, platform: Rotation
) -> None:
    postmortem = resolved_sev1(login(client, "alice"))
    url = f"/incidents/{postmortem.incident_id}/postmortem/"
    client.post(url, {"summary": "**Bad** <script>alert(1)</script>", "status": "draft"})
    page = client.get(url).content.decode()
    assert "<strong>Bad</strong>" in page and "<script>alert(1)" not in page
    exported = client.get(f"/incidents/{postmortem.incident_id}/postmortem.md")
    assert exported["Content-Type"] == "text/markdown; charset=utf-8"
    assert "## Summary\n\n**Bad** <script>alert(1)</script>" in exported.content.decode()


def test_overdue_action_items_show_on_the_dashboard_and_the_owners_page(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    postmortem = resolved_sev1(login(client, "alice"))
    client.post(
        f"/incidents/{postmortem.incident_id}/postmortem/",
        {
            "action": "action_item",
            "title": "Alert on checkout 5xx",
            "owner": cast["erin"].pk,
            "due_on": "2026-12-01",
        },
    )
    item = ActionItem.objects.get()
    assert item.is_overdue(date(2026, 12, 2))
    erin = login(Client(), "erin")
    assert "Alert on checkout 5xx" in erin.get("/").content.decode()
    me = erin.get("/me/").content.decode()
    assert "Alert on checkout 5xx" in me and "overdue" in me
    client.post(f"/incidents/{postmortem.incident_id}/actions/{item.pk}/done/", {"done": "1"})
    assert "Alert on checkout 5xx" not in erin.get("/me/").content.decode()


def test_postmortems_owed_list_mine_first_on_the_dashboard(
    client: Client, platform: Rotation
) -> None:
    resolved_sev1(login(client, "erin"))
    page = login(Client(), "alice").get("/").content.decode()
    assert "Post-mortems owed" in page and "<strong>yours</strong>" in page


# List, search, metrics, and their cost ---------------------------------------------------------


def test_list_filters_by_status_severity_service_date_and_searches_notes(
    client: Client, platform: Rotation
) -> None:
    login(client, "erin")
    a = open_one(client, title="Checkout down")
    b = open_one(client, title="Slow search", severity="SEV4", services="search")
    client.post(f"/incidents/{b.pk}/", {"action": "note", "text": "Elasticsearch heap full"})

    def titles(query: str) -> list[str]:
        return [i.title for i in client.get(f"/incidents/?{query}").context["page"]]

    assert titles("severity=SEV4") == ["Slow search"]
    assert titles("service=checkout") == ["Checkout down"]
    assert titles("q=heap") == ["Slow search"]
    assert titles("q=checkout") == ["Checkout down"]
    assert titles("status=open") == ["Slow search", "Checkout down"]
    assert titles("since=2026-12-03") == []
    assert a.pk < b.pk


def test_list_detail_and_dashboard_cost_the_same_queries_with_many_incidents(
    client: Client, platform: Rotation
) -> None:
    login(client, "erin")
    incident = open_one(client)
    client.post(f"/incidents/{incident.pk}/", {"action": "note", "text": "a note"})

    def cost(path: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    def old(count: int) -> None:
        Incident.objects.bulk_create(
            Incident(
                title=f"Old {n}",
                severity="SEV3",
                status="resolved",
                started_at=NOW - timedelta(hours=n + 1),
                resolved_at=NOW - timedelta(hours=n),
            )
            for n in range(count)
        )

    old(60)  # more than a page, so both counts below take the paging path
    few = {
        path: cost(path)
        for path in ["/incidents/", f"/incidents/{incident.pk}/", "/incidents/?q=x"]
    }
    old(10_000)
    many = {path: cost(path) for path in few}
    assert many == few


def test_metrics_page_draws_its_charts_on_the_server(client: Client, platform: Rotation) -> None:
    login(client, "erin")
    open_one(
        client,
        status="resolved",
        acknowledged_at="2026-12-02T08:50",
        resolved_at="2026-12-02T09:40",
    )
    page = client.get("/incidents/metrics/").content.decode()
    assert page.count("<svg") == 2 and "<script" not in page.split("</header>")[1]
    assert "Time to acknowledge" in page and "5 min" in page and "1 h 0 min" in page


def test_the_runbooks_used_are_boxes_to_tick_and_are_linked(
    client: Client, platform: Rotation
) -> None:
    failover = save_page(
        None, {"title": "Database failover", "body": "Promote."}, base_revision=0, by=None
    )
    login(client, "alice")
    page = client.get("/incidents/new/").content.decode()
    assert f'type="checkbox" name="runbooks" value="{failover.pk}"' in page
    assert "<option" not in page.split("Runbooks used", 1)[1].split("</fieldset>", 1)[0]
    incident = open_one(client, runbooks=[str(failover.pk)])
    assert list(incident.runbooks.all()) == [failover]


def test_an_action_items_done_is_a_button_that_says_what_it_does(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    postmortem = resolved_sev1(login(client, "alice"))
    url = f"/incidents/{postmortem.incident_id}/postmortem/"
    item = {"action": "action_item", "title": "Alert on 5xx", "owner": cast["erin"].pk}
    client.post(url, {**item, "due_on": "2026-12-20"})
    page = client.get(url).content.decode()
    assert (
        '<button type="submit" class="toggle-done" aria-label="Mark done: Alert on 5xx">'
        "&#x2713; Mark done</button>"
    ) in page
    done = ActionItem.objects.get()
    client.post(f"/incidents/{postmortem.incident_id}/actions/{done.pk}/done/", {"done": "1"})
    assert 'aria-label="Reopen: Alert on 5xx">Reopen</button>' in client.get(url).content.decode()


def test_a_changed_time_on_the_timeline_reads_in_each_readers_zone(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["erin"].pk).update(time_zone="America/Los_Angeles")
    Engineer.objects.filter(pk=cast["dave"].pk).update(time_zone="Europe/London")
    incident = open_one(login(client, "erin"))
    changes = form(started_at="2026-12-02T08:30", commander=incident.commander_id)
    client.post(f"/incidents/{incident.pk}/", {"action": "update", **changes})
    stored = incident.timeline.get(kind="started_at").text
    assert "PST" not in stored and "08:30" not in stored  # no zone frozen into the sentence
    erin_reads = client.get(incident.get_absolute_url()).content.decode()
    assert "Started at: <time" in erin_reads
    assert "Wed 2 Dec 08:40 PST</time> → <time" in erin_reads
    assert "Wed 2 Dec 08:30 PST</time>." in erin_reads
    dave_reads = login(Client(), "dave").get(incident.get_absolute_url()).content.decode()
    assert "Wed 2 Dec 16:40 GMT</time> → <time" in dave_reads
    assert "Wed 2 Dec 16:30 GMT</time>." in dave_reads


def test_timeline_text_is_escaped_around_its_times(client: Client, platform: Rotation) -> None:
    incident = open_one(login(client, "erin"))
    client.post(f"/incidents/{incident.pk}/", {"action": "note", "text": "<b>x</b>\nnext"})
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "&lt;b&gt;x&lt;/b&gt;<br>next" in page
