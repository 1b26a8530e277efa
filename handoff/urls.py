"""Routes of the week's pages, beside the rotation's own (rotation/urls.py)."""

from django.urls import path

from handoff import views

app_name = "handoff"
urlpatterns = [
    path("rotations/<slug:slug>/release/", views.release_page, name="release"),
    path("rotations/<slug:slug>/triage/", views.triage_page, name="triage"),
]
