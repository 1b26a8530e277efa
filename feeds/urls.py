"""Routes of the calendar feeds and the page listing them (DESIGN.md's URL table)."""

from django.urls import path

from feeds import views

app_name = "feeds"
urlpatterns = [
    path("calendars/", views.calendars_page, name="calendars"),
    path("calendars/rotate/", views.calendars_rotate, name="calendars_rotate"),
    path("calendars/<str:token>/<str:name>.ics", views.calendar_feed, name="feed"),
]
