"""Routes of the rotation pages and calendar feeds (DESIGN.md's URL table)."""

from django.urls import path

from rotation import views

app_name = "rotation"
urlpatterns = [
    path("calendars/", views.calendars_page, name="calendars"),
    path("calendars/rotate/", views.calendars_rotate, name="calendars_rotate"),
    path("calendars/<str:token>/<str:name>.ics", views.calendar_feed, name="feed"),
    path("rotations/<slug:slug>/", views.rotation_schedule, name="schedule"),
    path("me/", views.me, name="me"),
    path("sync/", views.sync_page, name="sync"),
]
