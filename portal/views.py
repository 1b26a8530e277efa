"""The dashboard, "my shifts" (/me/), the health check, the personal API token page and the
page of a login refused for too many failures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from feeds import serve
from feeds.actions import feed_token_of
from handoff.report_panel import handoff_panel
from handoff.week_panel import week_panel
from incidents import heads_up
from incidents.queries import dashboard_summary, my_action_items
from pagerduty.status import sync_status
from pagerduty.sync import DELAY_MINUTES
from portal import actions
from portal.auth import attempted_username
from portal.forms import LoginForm, ReminderChoicesForm
from portal.job_runs import job_runs
from portal.models import ApiToken, ReminderChoices
from portal.stamp import Stamps, pick, remember, stamps
from portal.viewer import signed_in_user
from rotation import health_page, onboarding, timetable
from rotation.cover_views import flagged_covers, my_covers
from rotation.effective import stretches_of
from rotation.flags import MANAGERS
from rotation.models import Engineer, Override
from rotation.oncall import on_call_now
from rotation.swaps import is_manager
from rotation.views_swaps import my_swaps, swaps_line
from rotation.views_time_off import my_time_off, time_off_line
from runbooks.models import Runbook

# The dashboard names my next shift when it starts within this (a roster of 40 comes round
# in 40 weeks).
MY_NEXT_WITHIN = timedelta(days=366)


def engineer_of(user: User, found: Stamps | None, now: datetime) -> Engineer | None:
    def lookup() -> tuple[Engineer | None, None]:
        return Engineer.objects.filter(user=user).first(), None

    return remember(("engineer_of", user.pk), pick(found, "schedule"), now, lookup)


@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    now, user = timezone.now(), signed_in_user(request)
    # Every topic a piece reads, in one query; each piece keys on its own ones.
    found = stamps("schedule", "incidents", "runbooks", "sync", "people")
    me = engineer_of(user, found, now)
    # Without a zone on their profile, the browser shows the viewer's own time (portal.js).
    my_zone = me.time_zone if me else ""
    context = {
        "my_shift": my_shift_line(me, found, now) if me else "",
        "time_off": time_off_line(me, found, now) if me else "",
        "swaps": swaps_line(me, found, now) if me else "",
        "cards": rotation_cards(my_zone, user.is_staff, found, now),
        "sync": remember(
            ("sync_status",),
            pick(found, "sync", "schedule"),  # runs and feeds; rotations and unmatched people
            now,
            lambda: (sync_status([a.rotation for a in on_call_now(None, now, found)]), None),
        ),
        "incidents": incident_panel(me, found, now),
        "heads_up": heads_up_panel(my_zone, found, now),
        "handoff": handoff_panel(me, my_zone, found, now),
        "week": week_panel(my_zone, found, now),
        "stale_runbooks": stale_runbooks_for(me, found, now),
        "flagged_covers": flagged_for(user, me, found, now),
    }
    return render(request, "portal/dashboard.html", context)


def flagged_for(
    user: User, me: Engineer | None, found: Stamps | None, now: datetime
) -> list[Override]:
    """Covers that no longer apply, for the two people in each and for managers: remembered
    until the schedule or someone's rights change, or the first of them ends."""

    def lookup() -> tuple[list[Override], datetime | None]:
        # A manager here is whom flag_broken emails (the Managers group, superusers).
        manager = user.is_superuser or user.groups.filter(name=MANAGERS).exists()
        flagged = flagged_covers(me, manager, now)
        return flagged, min((o.ends_at for o in flagged), default=None)

    key = ("flagged_covers", user.pk)
    return remember(key, pick(found, "schedule", "people"), now, lookup)


def my_shift_line(me: Engineer, found: Stamps | None, now: datetime) -> str:
    """The line about my current or next shift (a shadow week included), rendered again when
    the minute changes (it counts down) or the shift starts or ends."""

    def render_line() -> tuple[str, datetime]:
        mine = stretches_of(me, now, now + MY_NEXT_WITHIN)
        next_minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if not any(stretch.end > now for _, stretch in mine):
            return "", next_minute
        effective, my_next = next((e, s) for e, s in mine if s.end > now)
        rotation = effective.rotation
        context = {
            "now": now,
            "my_next": my_next,
            "my_rotation": rotation,
            "covering": effective.person(my_next.covering),
            "my_next_zone": me.time_zone or rotation.time_zone,
        }
        html = render_to_string("portal/dashboard.html#my_shift", context)
        edge = my_next.start if my_next.start > now else my_next.end
        return mark_safe(html), min(next_minute, edge)

    return remember(("my_shift_line", me.pk), pick(found, "schedule"), now, render_line)


def incident_panel(me: Engineer | None, found: Stamps | None, now: datetime) -> str:
    """The incident panel's HTML, remembered while nothing changes, within the minute (it
    shows ages) and the day (what is overdue depends on the date). It names commanders and
    owners, who are engineers: the schedule's topic."""
    today = timezone.localdate(now)

    def render_panel() -> tuple[str, datetime]:
        summary = dashboard_summary(me, today)
        html = render_to_string("incidents/dashboard_panel.html", {"summary": summary})
        return mark_safe(html), now.replace(second=0, microsecond=0) + timedelta(minutes=1)

    key = ("incident_panel", me.pk if me else None, today)
    return remember(key, pick(found, "incidents", "schedule"), now, render_panel)


def heads_up_panel(my_zone: str, found: Stamps | None, now: datetime) -> str:
    """What is on now or starts within seven days, in my zone (else the portal's): one query
    when a heads-up is written, none while nothing changes; rendered again when the first one
    starts or ends, or within the hour (the seven days' horizon moves)."""

    def render_panel() -> tuple[str, datetime]:
        with timezone.override(ZoneInfo(my_zone) if my_zone else None):
            coming = heads_up.coming(now)
            html = render_to_string("incidents/heads_up_panel.html", {"coming": coming})
        edges = [t for h in coming for t in (h.starts_at, h.ends_at) if t > now]
        return mark_safe(html), min([now + timedelta(hours=1), *edges])

    return remember(("heads_up_panel", my_zone), pick(found, "incidents"), now, render_panel)


def stale_runbooks_for(me: Engineer | None, found: Stamps | None, now: datetime) -> list[Runbook]:
    """The pages past their review date, for whoever is primary now: reviewing one is part of
    the shift ("review and edit during your own shift"). Remembered until a page's review
    falls due or any page changes (the runbooks topic)."""
    answers = on_call_now(None, now, found)
    if me is None or not any(a.primary == me for a in answers):
        return []

    def lookup() -> tuple[list[Runbook], datetime | None]:
        stale = Runbook.objects.filter(review_due_at__lte=now).only(
            "slug", "title", "review_due_at"
        )
        upcoming = Runbook.objects.filter(review_due_at__gt=now).order_by("review_due_at")
        return list(stale[:10]), upcoming.values_list("review_due_at", flat=True).first()

    return remember(("stale_runbooks",), pick(found, "runbooks"), now, lookup)


def rotation_cards(my_zone: str, can_edit: bool, found: Stamps | None, now: datetime) -> str:
    """The dashboard's rotation cards, rendered again when an answer or the minute changes
    (the countdowns read in minutes)."""

    def render_cards() -> tuple[str, datetime | None]:
        answers = on_call_now(None, now, found)
        context = {
            "answers": answers,
            "my_zone": my_zone,
            "can_edit": can_edit,
            "now": now,
            # The policy the sync writes: the secondary is paged if the primary has not
            # acknowledged within this many minutes (pagerduty.sync).
            "escalate_after": DELAY_MINUTES,
        }
        html = render_to_string("portal/dashboard.html#cards", context)
        next_minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        edges = [a.changes_at for a in answers if a.changes_at is not None]
        return mark_safe(html), min([next_minute, *edges])

    key = ("rotation_cards", my_zone, can_edit)
    return remember(key, pick(found, "schedule"), now, render_cards)


@never_cache  # it shows the person's private feed address
def me(request: HttpRequest) -> HttpResponse:
    """My next six months of shifts, my feeds, and my share of on-call time this quarter.

    It lives here, beside the dashboard, because it gathers several rooms: the rotation's
    shifts, incidents' action items and a calendar feed."""
    user = signed_in_user(request)
    engineer = Engineer.objects.filter(user=user).first()
    context: dict[str, object] = {"engineer": engineer, **onboarding.me_context(engineer)}
    if engineer is not None:
        token = feed_token_of(user).token
        context["mine"] = mine = timetable.my_shifts(engineer, timezone.now())
        context["health"] = health_page.my_health(engineer, mine.schedules, timezone.now())
        context["action_items"] = my_action_items(engineer)
        context["today"] = timezone.localdate()
        context["feed"] = serve.feed_links(request, token, serve.Feed(serve.MY_SHIFTS, ""))
        context.update(my_covers(engineer, manager=is_manager(user)))
        context["swaps"] = my_swaps(engineer, timezone.now())
        context |= my_time_off(request, engineer)
        choices = ReminderChoices.objects.filter(engineer=engineer).first()
        context["reminder_form"] = ReminderChoicesForm(instance=choices)
    return render(request, "portal/me.html", context)


@never_cache
def jobs(request: HttpRequest) -> HttpResponse:
    """Managers: every periodic job, its cadence and why, its last and next run, last failure."""
    user = signed_in_user(request)
    if not (user.is_superuser or user.groups.filter(name=MANAGERS).exists()):
        raise PermissionDenied("only a manager may see the jobs")
    return render(request, "portal/jobs.html", {"jobs": job_runs()})


@require_POST
def choose_reminders(request: HttpRequest) -> HttpResponse:
    """Save the reminder switches of /me/ and go back to them."""
    engineer = Engineer.objects.filter(user=signed_in_user(request)).first()
    form = ReminderChoicesForm(request.POST)
    if engineer is not None and form.is_valid():  # boxes: every post is valid
        actions.choose_reminders(engineer.pk, form.cleaned_data, by=request.user)
        messages.success(request, "Your reminder choices are saved.")
    return redirect(reverse("portal:me") + "#reminders")


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return JsonResponse({"status": "error", "database": str(error)}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@login_not_required
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every visit to a page without one (a feed, the JSON)."""
    return redirect(static("icons/favicon.ico"), permanent=True)


@login_not_required
def web_manifest(request: HttpRequest) -> JsonResponse:
    """What a phone needs to pin the portal to its home screen."""
    icons = [
        {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        {
            "src": static("icons/icon-maskable-512.png"),
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
        {"src": static("icons/favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
    ]
    manifest = {
        "name": "On-call portal",
        "short_name": "On call",
        "start_url": reverse("portal:dashboard"),
        "scope": reverse("portal:dashboard"),
        "display": "standalone",
        "background_color": "#f5f7fa",
        "theme_color": "#1d2330",
        "icons": icons,
    }
    return JsonResponse(manifest, content_type="application/manifest+json")


@never_cache
def api_token(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    context = {
        "has_token": ApiToken.objects.filter(user=user).exists(),
        "version": actions.api_token_version(user),
    }
    return render(request, "portal/api_token.html", context)


@never_cache  # the page that shows a new token must never be kept by a cache or a browser
@require_POST
def api_token_rotate(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    replacing = request.POST.get("replacing", "none")
    try:
        token = actions.rotate_api_token(user, by=user, replacing=replacing)
    except actions.TokenFormUsedError:
        messages.info(
            request,
            "That form was already used, so no other token was made and the one it showed was "
            "not replaced. If you did not copy it, replace it below.",
        )
        return redirect("portal:api_token")
    if replacing == "none":
        messages.success(request, "Your API token was created.")
    else:
        messages.success(request, "A new token was created; the old one no longer works.")
    context = {"has_token": True, "token": token, "version": actions.api_token_version(user)}
    return render(request, "portal/api_token.html", context)


@require_POST
def api_token_revoke(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    actions.revoke_api_token(user, by=user)
    messages.success(request, "Your API token was revoked.")
    return redirect("portal:api_token")


class LoginView(auth_views.LoginView):
    """/login/: the provider's button when single sign-on is set up, the password form unless
    PASSWORD_LOGIN is off."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sso_name"] = settings.OIDC_PROVIDER_NAME if settings.OIDC_ISSUER else ""
        context["password_login"] = settings.PASSWORD_LOGIN
        return context


@never_cache
def login_locked_out(
    request: HttpRequest, original_response: HttpResponse, credentials: dict[str, Any] | None
) -> HttpResponse:
    """The answer to a login refused for too many failures (django-axes' AXES_LOCKOUT_CALLABLE),
    on the portal's and the admin's login pages alike: 429, and when to try again. The refused
    attempt itself was just counted, and each one starts the cool-off again, so it ends one
    cool-off from now."""
    cool_off: timedelta = settings.AXES_COOLOFF_TIME
    context = {
        "username": attempted_username(request, credentials),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "until": timezone.localtime(timezone.now() + cool_off),
        "cool_off_minutes": round(cool_off.total_seconds() / 60),
    }
    return render(request, "registration/locked_out.html", context, status=429)
