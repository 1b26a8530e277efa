"""Routes of the PagerDuty page (DESIGN.md's URL table)."""

from django.urls import path

from pagerduty import views

app_name = "pagerduty"
urlpatterns = [
    path("sync/", views.sync_page, name="sync"),
    path("rotations/<slug:slug>/escalation/", views.escalation_page, name="escalation"),
]
