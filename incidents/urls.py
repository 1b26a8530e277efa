"""Routes of the incident pages (DESIGN.md's URL table)."""

from django.urls import path

from incidents import views

app_name = "incidents"
urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_new, name="new"),
    path("metrics/", views.metrics, name="metrics"),
    path("<int:pk>/", views.incident_detail, name="detail"),
    path("<int:pk>/updates/<int:update_id>/send/", views.send_update, name="send_update"),
    path("<int:pk>/postmortem/", views.postmortem, name="postmortem"),
    path("<int:pk>/postmortem.md", views.postmortem_markdown, name="postmortem_markdown"),
    path("<int:pk>/actions/<int:item_id>/done/", views.action_done, name="action_done"),
]
