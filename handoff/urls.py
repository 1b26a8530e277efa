"""Routes of the week's pages, beside the rotation's own (rotation/urls.py)."""

from django.urls import path

from handoff import report_views, week_views

app_name = "handoff"

urlpatterns = [
    path("rotations/<slug:slug>/handoffs/", report_views.report_list, name="list"),
    path("rotations/<slug:slug>/handoffs/<str:day>/", report_views.report_page, name="report"),
    path("rotations/<slug:slug>/release/", week_views.release_page, name="release"),
    path("rotations/<slug:slug>/triage/", week_views.triage_page, name="triage"),
]
