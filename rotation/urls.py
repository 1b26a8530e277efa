"""Routes of the rotation pages (DESIGN.md's URL table)."""

from django.urls import path

from rotation import views, views_swaps

app_name = "rotation"
urlpatterns = [
    path("rotations/<slug:slug>/", views.rotation_schedule, name="schedule"),
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
]
