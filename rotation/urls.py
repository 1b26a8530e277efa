"""Routes of the rotation pages (DESIGN.md's URL table)."""

from django.urls import path

from rotation import cover_views, roster_views, views, views_swaps, views_time_off

app_name = "rotation"
urlpatterns = [
    path("rotations/<slug:slug>/", views.rotation_schedule, name="schedule"),
    path("rotations/<slug:slug>/cover/new/", cover_views.cover_new, name="cover_new"),
    path(
        "covers/<int:pk>/<slug:verb>/",
        cover_views.cover_decide,
        name="cover_decide",
    ),
    path("swaps/new/", views_swaps.new_swap, name="swap_new"),
    path(
        "swaps/<int:swap_id>/accept/",
        views_swaps.decide_swap,
        {"action": "accept"},
        name="swap_accept",
    ),
    path(
        "swaps/<int:swap_id>/decline/",
        views_swaps.decide_swap,
        {"action": "decline"},
        name="swap_decline",
    ),
    path(
        "swaps/<int:swap_id>/cancel/",
        views_swaps.decide_swap,
        {"action": "cancel"},
        name="swap_cancel",
    ),
    path("me/time-off/", views_time_off.time_off_add, name="time_off_add"),
    path("me/time-off/<int:pk>/delete/", views_time_off.time_off_delete, name="time_off_delete"),
    path("me/time-off/propose/", views_time_off.propose_from_time_off, name="time_off_propose"),
    path("rotations/<slug:slug>/roster/", roster_views.roster_page, name="roster"),
    path("onboarding/<int:pk>/tick/", roster_views.onboarding_tick, name="onboarding_tick"),
]
