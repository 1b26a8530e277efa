"""Calendar feeds: what a subscribed calendar receives, who may fetch it, and when it changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from feeds.actions import feed_token_of, publish_calendars, rotate_feed_token
from feeds.models import FeedFetch, FeedToken
from portal.models import hash_token
from rotation.actions import create_override
from rotation.models import Engineer, Rotation
from tests.conftest import NOW, login

pytestmark = pytest.mark.django_db


def token_of(engineer: Engineer) -> str:
    assert engineer.user is not None
    return feed_token_of(engineer.user).token


def fetch(
    client: Client, token: str, name: str, **headers: str
) -> tuple[int, bytes, dict[str, str]]:
    response = client.get(f"/calendars/{token}/{name}.ics", headers=headers)
    return response.status_code, response.content, dict(response.headers)


def fetch_then_poll(
    client: Client, token: str, name: str
) -> tuple[dict[str, str], tuple[int, bytes, dict[str, str]]]:
    """A calendar client's two requests: the feed, then a poll with the ETag it got."""
    _, _, headers = fetch(client, token, name)
    return headers, fetch(client, token, name, if_none_match=headers["ETag"])


def events(body: bytes) -> list[Any]:
    """The feed's VEVENTs by start (typed Any: icalendar's property values are a wide union)."""
    calendar = icalendar.Calendar.from_ical(body)
    return sorted(calendar.walk("VEVENT"), key=lambda e: (e.start, str(e["UID"])))


def event_at(body: bytes, when: datetime) -> Any:
    return next(e for e in events(body) if e.start <= when < e.end)


def test_primary_feed_names_the_role_person_and_rotation(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    status, body, headers = fetch(client, token_of(cast["erin"]), "platform.primary")
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    now = event_at(body, NOW)
    assert now["SUMMARY"] == "Primary on call: Alice (Platform)"
    assert now["TRANSP"] == "TRANSPARENT"
    assert {str(e["SUMMARY"]).split(":")[0] for e in events(body)} == {"Primary on call"}


def test_a_covered_piece_of_the_week_says_whom_it_covers(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    create_override(
        platform,
        role="primary",
        engineer=cast["dave"],
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=6),
        reason="Alice at the dentist",
        by=None,
    )
    _, body, _ = fetch(client, token_of(cast["erin"]), "platform.primary")
    assert event_at(body, NOW)["SUMMARY"] == "Primary on call: Dave (Platform), covering Alice"
    later = event_at(body, NOW + timedelta(hours=7))
    assert later["SUMMARY"] == "Primary on call: Alice (Platform)"


def test_description_gives_the_handoff_the_partner_and_a_link_back(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    _, body, _ = fetch(client, token_of(cast["erin"]), "platform.primary")
    description = str(event_at(body, NOW)["DESCRIPTION"])
    assert "hands off Tue 8 Dec 2026 10:00 PST" in description
    assert "Secondary: Erin." in description
    assert "Shadow: Bob." in description
    assert "http://testserver/rotations/platform/" in description


def test_secondary_feed_names_the_primary_as_partner(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    _, body, _ = fetch(client, token_of(cast["erin"]), "platform.secondary")
    now = event_at(body, NOW)
    assert now["SUMMARY"] == "Secondary on call: Erin (Platform)"
    assert "Primary: Alice." in str(now["DESCRIPTION"])


def test_shadow_feed_holds_the_shadow_week(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    _, body, _ = fetch(client, token_of(cast["erin"]), "platform.shadow")
    (only,) = events(body)
    assert only["SUMMARY"] == "Shadow on call: Bob (Platform)"
    assert only.start == datetime(2026, 12, 1, 18, tzinfo=UTC)


def test_rotation_feed_holds_every_role(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    _, body, _ = fetch(client, token_of(cast["erin"]), "platform.all")
    this_week = [e for e in events(body) if e.start <= NOW < e.end]
    assert sorted(str(e["SUMMARY"]) for e in this_week) == [
        "Primary on call: Alice (Platform)",
        "Secondary on call: Erin (Platform)",
        "Shadow on call: Bob (Platform)",
    ]


def test_feed_reaches_a_month_back_and_a_year_ahead(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    with time_machine.travel(NOW + timedelta(days=60), tick=False):
        _, body, _ = fetch(client, token_of(cast["erin"]), "platform.primary")
    starts = [e.start for e in events(body)]
    later = NOW + timedelta(days=60)
    assert min(starts) <= later - timedelta(days=31) < min(starts) + timedelta(days=7)
    assert max(starts) + timedelta(days=7) >= later + timedelta(days=365) > max(starts)


def test_times_are_in_the_rotations_zone_with_its_vtimezone(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    _, body, _ = fetch(client, token_of(cast["erin"]), "platform.primary")
    text = body.decode()
    assert "DTSTART;TZID=America/Los_Angeles:20261201T100000\r\n" in text
    calendar = icalendar.Calendar.from_ical(body)
    (zone,) = calendar.walk("VTIMEZONE")
    assert zone["TZID"] == "America/Los_Angeles"
    # One observance per clock change, never a multi-value RDATE (ical.js misreads those).
    assert "RDATE" not in text and "RRULE" not in text
    onsets = {o.decoded("DTSTART") for o in zone.walk("DAYLIGHT")}
    assert datetime(2027, 3, 14, 2, 0) in onsets


def test_feed_has_crlf_lines_refresh_hints_and_explicit_stamps(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    _, body, _ = fetch(client, token_of(cast["erin"]), "platform.primary")
    assert body.count(b"\r\n") == body.count(b"\n")
    text = body.decode()
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    assert "X-PUBLISHED-TTL:PT1H\r\n" in text
    for event in events(body):
        assert event["DTSTAMP"].dt == event["LAST-MODIFIED"].dt
        assert "SEQUENCE" in event


def test_feed_is_the_same_byte_for_byte_until_something_changes(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    token = token_of(cast["erin"])
    _, first, _ = fetch(client, token, "platform.all")
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        _, again, _ = fetch(client, token, "platform.all")
    assert first == again


def test_an_override_changes_only_the_shift_it_cuts(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    token = token_of(cast["erin"])
    _, before, _ = fetch(client, token, "platform.primary")
    start, end = datetime(2026, 12, 3, 22, tzinfo=UTC), datetime(2026, 12, 4, 17, tzinfo=UTC)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        create_override(
            platform, role="primary", engineer=cast["dave"], starts_at=start, ends_at=end, by=None
        )
        _, after, _ = fetch(client, token, "platform.primary")
    old = {str(e["UID"]): e for e in events(before)}
    new = {str(e["UID"]): e for e in events(after)}
    cut = event_at(before, NOW)
    uid = str(cut["UID"])
    assert new[uid]["SEQUENCE"] == cut["SEQUENCE"] + 1
    assert new[uid]["LAST-MODIFIED"].dt == NOW + timedelta(hours=1)
    assert new[uid].end == start
    covering = event_at(after, start)
    assert covering["SUMMARY"] == "Primary on call: Dave (Platform), covering Alice"
    assert (covering.start, covering.end) == (start, end)
    assert event_at(after, end)["SUMMARY"] == "Primary on call: Alice (Platform)"
    untouched = [u for u in old if u != uid]
    assert untouched
    for other in untouched:
        assert new[other].to_ical() == old[other].to_ical()


def test_a_renamed_person_updates_their_events(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    token = token_of(cast["erin"])
    _, before, _ = fetch(client, token, "platform.primary")
    Engineer.objects.filter(pk=cast["alice"].pk).update(name="Alice Nguyen")
    _, after, _ = fetch(client, token, "platform.primary")
    renamed = event_at(after, NOW)
    assert renamed["SUMMARY"] == "Primary on call: Alice Nguyen (Platform)"
    assert renamed["SEQUENCE"] == event_at(before, NOW)["SEQUENCE"] + 1


def test_my_feed_holds_only_my_shifts_across_rotations(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    _, body, _ = fetch(client, token_of(cast["erin"]), "my-shifts")
    found = events(body)
    assert found
    assert all("Erin (Platform)" in str(e["SUMMARY"]) for e in found)
    assert {str(e["SUMMARY"]).split(" on call")[0] for e in found} == {"Primary", "Secondary"}


# Who may fetch ----------------------------------------------------------------------------


def test_unknown_token_gets_404_and_no_login_redirect(client: Client, platform: Rotation) -> None:
    status, body, _ = fetch(client, "x" * 43, "platform.primary")
    assert status == 404
    assert b"login" not in body.lower()


def test_unknown_feed_name_gets_404(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    token = token_of(cast["erin"])
    assert fetch(client, token, "nope.primary")[0] == 404
    assert fetch(client, token, "platform.everything")[0] == 404


def test_a_rotated_token_stops_working_at_once(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    old = token_of(cast["erin"])
    assert fetch(client, old, "platform.primary")[0] == 200
    user = cast["erin"].user
    assert user is not None
    new = rotate_feed_token(user, by=user).token
    assert fetch(client, old, "platform.primary")[0] == 404
    assert fetch(client, new, "platform.primary")[0] == 200


def test_a_deactivated_user_loses_their_feeds(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    token = token_of(cast["erin"])
    User.objects.filter(email="erin@example.com").update(is_active=False)
    assert fetch(client, token, "platform.primary")[0] == 404


def test_tokens_are_long_random_and_stored_only_hashed(cast: dict[str, Engineer]) -> None:
    tokens = {token_of(cast[name]) for name in ["alice", "erin", "bob"]}
    assert len(tokens) == 3
    assert all(len(token) >= 43 for token in tokens)  # 256 bits in URL-safe base64
    stored = list(FeedToken.objects.values_list("seed", "token_hash"))
    assert {hash_token(t) for t in tokens} == {h for _, h in stored}
    assert not any(t in seed for t in tokens for seed, _ in stored)


def test_a_new_server_key_gives_new_addresses_and_retires_the_old(
    client: Client, platform: Rotation, cast: dict[str, Engineer], settings: object
) -> None:
    old = token_of(cast["erin"])
    settings.SECRET_KEY = "another-key-" + "k" * 50  # type: ignore[attr-defined]
    new = token_of(cast["erin"])
    assert new != old
    assert fetch(client, old, "platform.primary")[0] == 404
    assert fetch(client, new, "platform.primary")[0] == 200


# HTTP caching and cost --------------------------------------------------------------------


def test_unchanged_feed_answers_304_to_its_etag(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    token = token_of(cast["erin"])
    headers, (status, body, again) = fetch_then_poll(client, token, "platform.primary")
    assert (status, body) == (304, b"")
    assert again["ETag"] == headers["ETag"]
    status, _, _ = fetch(
        client, token, "platform.primary", if_modified_since=headers["Last-Modified"]
    )
    assert status == 304


def test_a_304_keeps_the_etag_and_the_private_cache_rule(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    headers, (_, _, again) = fetch_then_poll(client, token_of(cast["erin"]), "platform.primary")
    assert again["ETag"] == headers["ETag"]
    assert again["Cache-Control"] == "private, max-age=3600"
    assert "Content-Type" not in again


def test_a_feed_forbids_everything_a_page_policy_could_allow(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    headers, (_, _, again) = fetch_then_poll(client, token_of(cast["erin"]), "platform.primary")
    for answer in (headers, again):
        assert answer["Content-Security-Policy"] == (
            "default-src 'none'; frame-ancestors 'none'; sandbox"
        )


@pytest.mark.parametrize(
    "if_none_match",
    ["W/{etag}", '"some-other-tag", {etag}', "*", " {etag} "],
    ids=["weak", "in a list", "any", "spaced"],
)
def test_an_etag_matches_however_the_client_writes_it(
    client: Client, platform: Rotation, cast: dict[str, Engineer], if_none_match: str
) -> None:
    token = token_of(cast["erin"])
    _, _, headers = fetch(client, token, "platform.primary")
    written = if_none_match.format(etag=headers["ETag"])
    status, _, _ = fetch(client, token, "platform.primary", if_none_match=written)
    assert status == 304


def test_another_feeds_etag_or_a_stale_one_gets_the_feed(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    token = token_of(cast["erin"])
    _, _, primary = fetch(client, token, "platform.primary")
    status, body, _ = fetch(client, token, "platform.secondary", if_none_match=primary["ETag"])
    assert status == 200 and b"Secondary on call" in body
    status, _, _ = fetch(client, token, "platform.primary", if_none_match='"stale"')
    assert status == 200


def test_a_304_to_a_rotated_token_is_a_404(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    old = token_of(cast["erin"])
    _, _, headers = fetch(client, old, "platform.primary")
    user = cast["erin"].user
    assert user is not None
    rotate_feed_token(user, by=user)
    status, _, _ = fetch(client, old, "platform.primary", if_none_match=headers["ETag"])
    assert status == 404


def test_a_change_makes_the_old_etag_fetch_the_new_feed(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    token = token_of(cast["erin"])
    _, _, headers = fetch(client, token, "platform.primary")
    create_override(
        platform,
        role="primary",
        engineer=cast["dave"],
        starts_at=NOW + timedelta(days=8),
        ends_at=NOW + timedelta(days=9),
        by=None,
    )
    status, body, _ = fetch(client, token, "platform.primary", if_none_match=headers["ETag"])
    assert status == 200
    assert b"Primary on call: Dave (Platform)" in body


def test_a_new_day_moves_the_window_and_the_etag(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    token = token_of(cast["erin"])
    _, _, headers = fetch(client, token, "platform.primary")
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        status, _, _ = fetch(client, token, "platform.primary", if_none_match=headers["ETag"])
    assert status == 200


def test_a_years_feed_costs_three_queries_and_a_304_two(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    token = token_of(cast["erin"])
    publish_calendars()
    with CaptureQueriesContext(connection) as full:
        _, body, headers = fetch(client, token, "platform.all")
    assert len(events(body)) > 100
    FeedFetch.objects.all().delete()  # so the 304 also notes the fetch: its costliest case
    with CaptureQueriesContext(connection) as conditional:
        status, _, _ = fetch(client, token, "platform.all", if_none_match=headers["ETag"])
    assert status == 304
    with CaptureQueriesContext(connection) as polled:
        status, _, _ = fetch(client, token, "platform.all", if_none_match=headers["ETag"])
    assert status == 304
    with CaptureQueriesContext(connection) as again:
        status, repeat, _ = fetch(client, token, "platform.all")
    assert (status, repeat) == (200, body)
    assert len(full) <= 3, [q["sql"][:80] for q in full.captured_queries]
    assert len(conditional) <= 2, [q["sql"][:80] for q in conditional.captured_queries]
    # A poll within minutes of the last one has no fetch to note: the token lookup alone.
    assert len(polled) == 1, [q["sql"][:80] for q in polled.captured_queries]
    # The text is remembered while nothing changes: the next subscriber costs the token lookup.
    assert len(again) == 1, [q["sql"][:80] for q in again.captured_queries]


def test_fetches_are_noted_for_the_calendars_page(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    token = token_of(cast["erin"])
    fetch(client, token, "platform.primary", user_agent="Google-Calendar-Importer")
    page = login(Client(), "erin").get("/calendars/").content.decode()
    assert "Google-Calendar-Importer" in page
    (noted,) = FeedFetch.objects.all()
    assert (noted.feed, noted.fetched_at) == ("platform.primary", NOW)


def test_a_mistyped_feed_address_is_404_not_a_login_page(
    client: Client, platform: Rotation
) -> None:
    for path in ["/calendars/abc/", "/calendars/abc/platform.primary.ical", "/calendars/abc/x/y"]:
        assert client.get(path).status_code == 404, path


def test_a_head_request_gets_the_headers_only(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    response = client.head(f"/calendars/{token_of(cast['erin'])}/platform.primary.ics")
    assert response.status_code == 200
    assert response["ETag"] and response.content == b""
