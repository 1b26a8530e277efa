"""Routes of the rotation pages (DESIGN.md's URL table)."""

from django.urls import path

from rotation import roster_views, views

app_name = "rotation"
urlpatterns = [
    path("rotations/<slug:slug>/", views.rotation_schedule, name="schedule"),
    path("rotations/<slug:slug>/roster/", roster_views.roster_page, name="roster"),
    path("onboarding/<int:pk>/tick/", roster_views.onboarding_tick, name="onboarding_tick"),
]
