"""The manager's roster page: reorder, add and remove with the preview shown before saving;
joiners shadow first and get a checklist; leavers' covers and swaps listed; stale pages refused."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from portal.models import Notice
from portal.notices import send_pending
from rotation.actions import create_override
from rotation.models import Engineer, OnboardingStep, Override, Rotation, ShadowBooking, TimeOff
from rotation.roster_edit import roster_version
from tests.conftest import NOW, login, make_engineer

pytestmark = pytest.mark.django_db

PAGE = "/rotations/platform/roster/"


def state(rotation: Rotation, emails: list[str], **extra: str) -> dict[str, Any]:
    return {"member": emails, "version": roster_version(rotation), **extra}


def current(rotation: Rotation) -> list[str]:
    return list(rotation.memberships.order_by("position").values_list("engineer__email", flat=True))


ORDER = ["dave@example.com", "alice@example.com", "erin@example.com", "bob@example.com"]


def test_an_engineer_gets_403_on_the_page(client: Client, platform: Rotation) -> None:
    login(client, "alice")
    assert client.get(PAGE).status_code == 403
    assert (
        client.post(PAGE, state(platform, ORDER, op="save", previewed=",".join(ORDER))).status_code
        == 403
    )


def test_the_page_shows_the_order_and_is_linked_from_the_schedule(
    client: Client, platform: Rotation, django_assert_max_num_queries: Any
) -> None:
    login(client, "carol")
    assert PAGE in client.get("/rotations/platform/").content.decode()
    with django_assert_max_num_queries(40):
        page = client.get(PAGE).content.decode()
    for name in ("Dave", "Alice", "Erin", "Bob"):
        assert name in page
    assert "Move up" in page and "Move down" in page


def test_moving_without_javascript_shows_the_preview_and_saves_nothing(
    client: Client, platform: Rotation
) -> None:
    login(client, "carol")
    page = client.post(PAGE, state(platform, ORDER, op="down:0")).content.decode()
    assert "From the handoff on" in page and "Gains" in page
    assert current(platform) == ORDER  # nothing saved yet


def test_save_saves_exactly_the_previewed_order_and_tells_each_person_once(
    client: Client, platform: Rotation, mailoutbox: list[Any]
) -> None:
    login(client, "carol")
    new = ["alice@example.com", "dave@example.com", "erin@example.com", "bob@example.com"]
    response = client.post(PAGE, state(platform, new, op="save", previewed=",".join(new)))
    assert response.status_code == 302
    assert current(platform) == new
    send_pending()
    send_pending()
    addresses = [mail.to[0] for mail in mailoutbox]
    assert len(addresses) == len(set(addresses)) > 0


def test_a_save_of_an_order_that_is_not_the_previewed_one_shows_the_preview_again(
    client: Client, platform: Rotation
) -> None:
    login(client, "carol")
    new = ["alice@example.com", "dave@example.com", "erin@example.com", "bob@example.com"]
    response = client.post(PAGE, state(platform, new, op="save", previewed=",".join(ORDER)))
    assert response.status_code == 200
    assert "changed since the preview" in response.content.decode()
    assert current(platform) == ORDER


def test_a_stale_page_is_refused_with_a_clear_message(client: Client, platform: Rotation) -> None:
    login(client, "carol")
    opened = roster_version(platform)
    first = ["alice@example.com", "dave@example.com", "erin@example.com", "bob@example.com"]
    client.post(PAGE, {**state(platform, first), "op": "save", "previewed": ",".join(first)})
    second = ["erin@example.com", "alice@example.com", "dave@example.com", "bob@example.com"]
    data = {"member": second, "version": opened, "op": "save", "previewed": ",".join(second)}
    page = client.post(PAGE, data).content.decode()
    assert "Someone saved this roster since you opened the page" in page
    assert current(platform) == first


def test_a_leaver_below_two_is_refused_clearly(client: Client, platform: Rotation) -> None:
    login(client, "carol")
    page = client.post(PAGE, state(platform, ["alice@example.com"], op="preview")).content.decode()
    assert "A rotation needs at least two people on call; this order has 1" in page
    data = state(platform, ["alice@example.com"], op="save", previewed="alice@example.com")
    client.post(PAGE, data)
    assert current(platform) == ORDER


def test_a_leavers_future_covers_are_listed_to_be_reassigned(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    start = NOW + timedelta(days=30)
    override = create_override(
        platform,
        role="primary",
        engineer=cast["carol"],
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        by=None,
    )
    Override.objects.filter(pk=override.pk).update(covers=cast["erin"])
    login(client, "carol")
    rest = [email for email in ORDER if email != "erin@example.com"]
    page = client.post(PAGE, state(platform, rest, op="remove:2")).content.decode()
    assert "Erin leaves the order" in page
    assert "To be reassigned" in page
    assert f"/admin/rotation/override/{override.pk}/change/" in page


def test_a_joiner_is_booked_to_shadow_their_first_free_week_and_placed_after_it(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    sam = make_engineer("sam")
    # Away the week from the next handoff (Tue 8 Dec): the shadow week is the one after.
    TimeOff.objects.create(engineer=sam, starts_on=date(2026, 12, 9), ends_on=date(2026, 12, 11))
    login(client, "carol")
    page = client.post(PAGE, state(platform, ORDER, op="add", engineer="sam@example.com"))
    text = page.content.decode()
    assert "Sam</strong> shadows the week from <strong>Tue 15 Dec 2026" in text
    emails = [e for e in page.context["view"].state.emails]
    data = state(platform, emails, op="save", previewed=",".join(emails))
    assert client.post(PAGE, data).status_code == 302
    assert ShadowBooking.objects.filter(engineer=sam, week_of=date(2026, 12, 15)).exists()
    assert OnboardingStep.objects.filter(engineer=sam, rotation=platform).count() == 4
    # Never on call before the shadow week ends (Tue 22 Dec 10:00 PST).
    first = (
        platform.shifts.filter(engineer=sam).exclude(role="shadow").order_by("starts_at").first()
    )
    assert first is not None and first.starts_at.astimezone(platform.zone).date() >= date(
        2026, 12, 22
    )


def test_forcing_a_newcomer_on_call_before_their_shadow_week_is_refused(
    client: Client, platform: Rotation
) -> None:
    make_engineer("sam")
    login(client, "carol")
    # Right after Erin, who is primary from the next handoff: Sam would be her secondary in
    # the very week he shadows.
    page = client.post(
        PAGE, state(platform, ORDER, op="add", engineer="sam@example.com", position="4")
    ).content.decode()
    assert "This order can't be saved" in page
    assert "before their shadow" in page


def test_a_manager_creates_a_newcomer_with_a_login_and_a_link_to_set_a_password(
    client: Client, platform: Rotation, mailoutbox: list[Any]
) -> None:
    login(client, "carol")
    data = state(
        platform,
        ORDER,
        op="add_new",
        new_name="Sam Newman",
        new_email="sam@example.com",
        new_zone="Europe/Berlin",
        new_login="1",
    )
    page = client.post(PAGE, data)
    assert Engineer.objects.filter(email="sam@example.com").count() == 0  # not before the save
    view = page.context["view"]
    assert "sam@example.com" in view.state.emails
    assert view.preview is not None
    save = {
        **state(platform, view.state.emails, op="save", previewed=",".join(view.state.emails)),
        "newcomer_name": "Sam Newman",
        "newcomer_email": "sam@example.com",
        "newcomer_zone": "Europe/Berlin",
        "newcomer_login": "1",
    }
    assert client.post(PAGE, save).status_code == 302
    sam = Engineer.objects.get(email="sam@example.com")
    assert sam.user is not None and not sam.user.has_usable_password()
    assert OnboardingStep.objects.filter(engineer=sam).count() == 4
    send_pending()
    [link] = [m for m in mailoutbox if m.to == ["sam@example.com"] and "password" in m.subject]
    assert "/password/set/" in link.body
    url = next(word for word in link.body.split() if "/password/set/" in word)
    anonymous = Client()
    form = anonymous.get(urlsplit(url).path, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    assert Notice.objects.filter(key__startswith="login-created:").count() == 1


def test_a_new_engineer_form_with_errors_keeps_what_was_typed(
    client: Client, platform: Rotation
) -> None:
    login(client, "carol")
    data = state(platform, ORDER, op="add_new", new_name="Sam", new_email="not-an-email")
    response = client.post(PAGE, data)
    assert response.status_code == 400
    text = response.content.decode()
    assert 'value="Sam"' in text and "Enter their email address" in text
    assert not User.objects.filter(username="not-an-email").exists()


def test_a_leaver_can_be_deactivated_with_the_save_unless_an_override_still_names_them(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "carol")
    rest = [email for email in ORDER if email != "erin@example.com"]
    data = state(platform, rest, op="save", previewed=",".join(rest), deactivate="erin@example.com")
    start = NOW + timedelta(days=47)
    override = create_override(
        platform,
        role="secondary",
        engineer=cast["erin"],
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        by=None,
    )
    page = client.post(PAGE, data).content.decode()
    assert "holds an override" in page
    assert current(platform) == ORDER  # nothing saved: the roster edit went with the refusal
    override.delete()
    assert client.post(PAGE, {**data, "version": roster_version(platform)}).status_code == 302
    cast["erin"].refresh_from_db()
    assert not cast["erin"].is_active
    assert current(platform) == rest
