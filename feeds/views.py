"""The calendar feeds (``/calendars/<token>/<name>.ics``) and the page listing them."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from feeds import actions, serve
from portal.viewer import signed_in_user
from rotation.models import Engineer, Rotation

FEED_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


@login_not_required  # the token in the URL is the only credential (calendar clients have no login)
@require_safe
def calendar_feed(request: HttpRequest, token: str, name: str) -> HttpResponse:
    now = timezone.now()
    found = serve.find_feed(token, name)
    if found is None:
        raise Http404("No such feed")
    etag = found.etag(now)
    if serve.is_unchanged(request.META.get("HTTP_IF_NONE_MATCH"), etag):
        # The ETag pins the content (change stamp, day, feed), so nothing else needs reading:
        # the path most calendar polls take costs the one query above.
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = _feed_response(request, found, etag, now)
    response["ETag"] = etag
    # Private: the URL is a credential, so no shared cache may keep the answer.
    response["Cache-Control"] = "private, max-age=3600"
    # A calendar file needs nothing a policy could allow: the strictest one, a constant, which
    # also spares every poll the pages' policy that the middleware builds around a nonce.
    response["Content-Security-Policy"] = FEED_CSP
    if found.fetch_is_due(now):
        actions.record_feed_fetch(
            found.token_id, found.feed.name, request.headers.get("User-Agent", ""), now
        )
    return response


def _feed_response(
    request: HttpRequest, found: serve.FeedRequest, etag: str, now: datetime
) -> HttpResponse:
    """The feed, or a 304 if the client's If-Modified-Since shows it unchanged."""
    last_modified = found.last_modified(now)
    if not found.is_published(now):
        last_modified = max(last_modified, actions.publish_calendars(now=now).changed_at or now)
    response = get_conditional_response(
        request, etag=etag, last_modified=int(last_modified.timestamp())
    )
    if response is None:
        body = serve.feed_text(
            found,
            now,
            lambda slug: request.build_absolute_uri(
                reverse("rotation:schedule", args=[slug]) if slug else "/"
            ),
        )
        if body is None:
            raise Http404("No such feed")
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{found.feed.file_name}"'
    response["Last-Modified"] = http_date(last_modified.timestamp())
    return response


@never_cache  # every address on it carries the person's feed token
def calendars_page(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    token = actions.feed_token_of(user)
    engineer = Engineer.objects.filter(user=user).first()
    fetches = {fetch.feed: fetch for fetch in token.fetches.all()}
    rows = [
        {
            "feed": feed,
            "links": serve.feed_links(request, token.token, feed),
            "fetch": fetches.get(feed.name),
        }
        for feed in serve.feeds_for(list(Rotation.objects.all()), engineer)
    ]
    return render(request, "feeds/calendars.html", {"rows": rows, "now": timezone.now()})


@require_POST
def calendars_rotate(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    actions.rotate_feed_token(user, by=user)
    messages.success(
        request,
        "New feed addresses are below; the old ones stopped working. Subscribe again in your "
        "calendar apps and remove the old calendars.",
    )
    return redirect("feeds:calendars")
