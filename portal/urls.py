"""URL routes of the portal (DESIGN.md's URL table)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import views
from rotation import api_roster, api_swaps, api_time_off
from rotation import views as rotation_views

portal_patterns = (
    [
        path("", views.dashboard, name="dashboard"),
        path("me/", views.me, name="me"),
        path("me/reminders/", views.choose_reminders, name="choose_reminders"),
        path("jobs/", views.jobs, name="jobs"),
        path("account/api-token/", views.api_token, name="api_token"),
        path("account/api-token/rotate/", views.api_token_rotate, name="api_token_rotate"),
        path("account/api-token/revoke/", views.api_token_revoke, name="api_token_revoke"),
    ],
    "portal",
)

urlpatterns = [
    path("", include(portal_patterns)),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("manifest.webmanifest", views.web_manifest, name="web_manifest"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("sso/", include("sso.urls")),
    path("", include("rotation.urls")),
    path("", include("handoff.summary_urls")),
    path("", include("feeds.urls")),
    path("", include("pagerduty.urls")),
    path("", include("handoff.urls")),
    path("incidents/", include("incidents.urls")),
    path("heads-up/", include("incidents.heads_up_urls")),
    path("runbooks/", include("runbooks.urls")),
    path("slack/", include("slack_app.urls")),
    path("api/v1/oncall", rotation_views.oncall_api, name="api_oncall"),
    path("api/v1/schedule", rotation_views.schedule_api, name="api_schedule"),
    path("api/v1/swaps", api_swaps.swaps_endpoint, name="api_swaps"),
    path("api/v1/swaps/<int:swap_id>/accept", api_swaps.accept_endpoint, name="api_swap_accept"),
    path("api/v1/swaps/<int:swap_id>/decline", api_swaps.decline_endpoint, name="api_swap_decline"),
    path("api/v1/swaps/<int:swap_id>/cancel", api_swaps.cancel_endpoint, name="api_swap_cancel"),
    path("api/v1/time-off", api_time_off.time_off_api, name="api_time_off"),
    path("api/v1/time-off/<int:pk>", api_time_off.time_off_item_api, name="api_time_off_item"),
    path("api/v1/rotations/<slug:slug>/preview", api_roster.preview_api, name="api_roster_preview"),
    path(
        "password/set/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/set/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
]
