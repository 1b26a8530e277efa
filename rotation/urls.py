"""Routes of the rotation pages (DESIGN.md's URL table)."""

from django.urls import path

from rotation import views, views_time_off

app_name = "rotation"
urlpatterns = [
    path("rotations/<slug:slug>/", views.rotation_schedule, name="schedule"),
    path("me/time-off/", views_time_off.time_off_add, name="time_off_add"),
    path("me/time-off/<int:pk>/delete/", views_time_off.time_off_delete, name="time_off_delete"),
    path("me/time-off/propose/", views_time_off.propose_from_time_off, name="time_off_propose"),
]
