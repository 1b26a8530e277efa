"""Signing in through a real OpenID provider: engineers linked by verified email, the managers'
group following the provider, and every refusal on a page that says why."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from portal.actions import MANAGERS, ensure_managers_group
from portal.models import AuditEntry
from rotation.models import Engineer
from tests.conftest import make_engineer, restore_stamps
from tests.sso.conftest import TEST_CALLBACK
from tests.sso.provider import sign_in_at_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(db: None) -> dict[str, Engineer]:
    """Alice (a user already), Carol (a manager) and Dave (an engineer who never logged in).
    Built on the real clock: the provider's tokens carry real times."""
    restore_stamps()
    carol = make_engineer("carol", staff=True)
    assert carol.user is not None
    carol.user.groups.add(ensure_managers_group())
    dave = Engineer.objects.create(name="Dave Jones", email="dave@example.com")
    return {"alice": make_engineer("alice"), "carol": carol, "dave": dave}


def sign_in(client: Client, login: str, next_url: str = "") -> tuple[str, object]:
    """Starts at /sso/start/, signs in at the provider as ``login``; the portal's answer."""
    start = client.get("/sso/start/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302
    back = sign_in_at_provider(start["Location"], login, back_to=TEST_CALLBACK)
    parts = urlsplit(back)
    response = client.get(f"{parts.path}?{parts.query}")
    return back, response


def signed_in_as(client: Client) -> str | None:
    response = client.get("/me/")
    return None if response.status_code != 200 else response.context["user"].username


def test_engineer_signs_in_and_lands_on_the_dashboard(
    client: Client, sso: str, team: dict[str, Engineer]
) -> None:
    _, response = sign_in(client, "alice")
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert response["Location"] == "/"  # type: ignore[index]
    assert signed_in_as(client) == "alice@example.com"


def test_sign_in_returns_to_the_page_asked_for(
    client: Client, sso: str, team: dict[str, Engineer]
) -> None:
    _, response = sign_in(client, "alice", next_url="/me/")
    assert response["Location"] == "/me/"  # type: ignore[index]


def test_first_sign_in_makes_the_user_of_an_engineer_without_one(
    client: Client, sso: str, team: dict[str, Engineer]
) -> None:
    sign_in(client, "dave")
    team["dave"].refresh_from_db()
    user = team["dave"].user
    assert user is not None and user.email == "dave@example.com"
    assert not user.has_usable_password()
    assert signed_in_as(client) == "dave@example.com"
    assert AuditEntry.objects.filter(action="sso.linked", subject="dave@example.com").exists()


def test_a_second_sign_in_reuses_the_linked_user(
    client: Client, sso: str, team: dict[str, Engineer]
) -> None:
    sign_in(client, "dave")
    sign_in(Client(), "dave")
    assert User.objects.filter(email="dave@example.com").count() == 1


def test_the_providers_group_makes_a_manager(
    client: Client, sso: str, team: dict[str, Engineer]
) -> None:
    sign_in(client, "dave")  # in "oncall-managers" at the provider
    team["dave"].refresh_from_db()
    assert team["dave"].user is not None
    assert team["dave"].user.groups.filter(name=MANAGERS).exists()
    assert AuditEntry.objects.filter(action="sso.managers_joined").count() == 1


def test_a_manager_out_of_the_providers_group_stops_being_one(
    client: Client, sso: str, team: dict[str, Engineer]
) -> None:
    alice = team["alice"].user
    assert alice is not None
    alice.groups.add(ensure_managers_group())
    sign_in(client, "alice")  # in "staff" only at the provider
    assert not alice.groups.filter(name=MANAGERS).exists()
    assert AuditEntry.objects.filter(action="sso.managers_left", subject=alice.username).exists()


def test_without_a_managers_group_set_membership_is_left_alone(
    client: Client, sso: str, team: dict[str, Engineer], settings: object
) -> None:
    settings.OIDC_MANAGERS_GROUP = ""  # type: ignore[attr-defined]
    alice = team["alice"].user
    assert alice is not None
    alice.groups.add(ensure_managers_group())
    sign_in(client, "alice")
    assert alice.groups.filter(name=MANAGERS).exists()
    assert signed_in_as(client) == "alice@example.com"


@pytest.mark.parametrize(
    ("login", "reason", "says"),
    [
        ("alice-elsewhere", "wrong-audience", "meant for another application"),
        ("alice-late", "expired", "The sign-in has expired"),
        ("bob-unverified", "unverified-email", "not verified"),
        ("stranger", "unknown-email", "No engineer with this email"),
    ],
)
def test_a_refused_sign_in_says_why_and_signs_nobody_in(
    client: Client, sso: str, team: dict[str, Engineer], login: str, reason: str, says: str
) -> None:
    users_before = User.objects.count()
    _, response = sign_in(client, login)
    assert response.status_code == 403  # type: ignore[attr-defined]
    page = response.content.decode()  # type: ignore[attr-defined]
    assert f'data-refusal="{reason}"' in page
    assert says in page
    assert 'href="/login/"' in page  # a way back
    assert signed_in_as(client) is None
    assert User.objects.count() == users_before


def test_an_unknown_email_is_told_to_ask_a_manager(
    client: Client, sso: str, team: dict[str, Engineer]
) -> None:
    _, response = sign_in(client, "stranger")
    page = response.content.decode()  # type: ignore[attr-defined]
    assert "Ask a manager to add you" in page
    assert "knows you as <strong>stranger@example.com</strong>" in page


def test_an_answer_for_a_state_never_handed_out_is_refused(
    client: Client, sso: str, team: dict[str, Engineer]
) -> None:
    client.get("/sso/start/")
    response = client.get("/sso/callback/", {"code": "a-code", "state": "made-up"})
    assert response.status_code == 400
    assert 'data-refusal="bad-state"' in response.content.decode()
    assert signed_in_as(client) is None


def test_an_answer_cannot_be_replayed(client: Client, sso: str, team: dict[str, Engineer]) -> None:
    back, _ = sign_in(client, "alice")
    client.logout()
    parts = urlsplit(back)
    response = client.get(f"{parts.path}?{parts.query}")
    assert 'data-refusal="bad-state"' in response.content.decode()
    assert signed_in_as(client) is None


def test_an_error_from_the_provider_is_refused(
    client: Client, sso: str, team: dict[str, Engineer]
) -> None:
    start = client.get("/sso/start/")
    state = dict(p.split("=") for p in urlsplit(start["Location"]).query.split("&"))["state"]
    response = client.get("/sso/callback/", {"error": "access_denied", "state": state})
    assert response.status_code == 403
    assert 'data-refusal="provider-error"' in response.content.decode()


def test_a_provider_that_cannot_be_reached_is_said_so(
    client: Client, sso: str, settings: object
) -> None:
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # type: ignore[attr-defined]
    response = client.get("/sso/start/")
    assert response.status_code == 503
    assert 'data-refusal="provider-unreachable"' in response.content.decode()


def test_the_login_page_offers_the_provider(client: Client, sso: str) -> None:
    page = client.get("/login/?next=/me/").content.decode()
    assert "Sign in with Test Identity" in page
    assert 'href="/sso/start/?next=/me/"' in page
    assert 'name="password"' in page


def test_without_an_issuer_nothing_changes(client: Client, db: None) -> None:
    page = client.get("/login/").content.decode()
    assert "Sign in with" not in page
    assert client.get("/sso/start/").status_code == 404
    assert client.get("/sso/callback/", {"code": "c", "state": "s"}).status_code == 404


def test_a_password_lockout_does_not_stop_a_sign_in_through_the_provider(
    client: Client, sso: str, team: dict[str, Engineer], settings: object
) -> None:
    # django-axes' backend runs first for every authenticate(); it needs the request, which
    # the callback passes, and counts passwords only.
    for _ in range(settings.AXES_FAILURE_LIMIT):  # type: ignore[attr-defined]
        client.post("/login/", {"username": "alice@example.com", "password": "wrong"})
    assert (
        client.post("/login/", {"username": "alice@example.com", "password": "x"}).status_code
        == 429
    )
    _, response = sign_in(client, "alice")
    assert response["Location"] == "/"  # type: ignore[index]
    assert signed_in_as(client) == "alice@example.com"


def test_a_code_the_provider_will_not_exchange_is_refused(
    client: Client, sso: str, team: dict[str, Engineer], settings: object
) -> None:
    settings.OIDC_CLIENT_SECRET = "not-the-registered-secret"  # type: ignore[attr-defined]
    _, response = sign_in(client, "alice")
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert 'data-refusal="provider-error"' in response.content.decode()  # type: ignore[attr-defined]
    assert signed_in_as(client) is None
