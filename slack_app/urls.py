"""Routes Slack calls (no login: each request is signed by Slack)."""

from django.urls import path

from slack_app import views

app_name = "slack"
urlpatterns = [
    path("commands", views.commands, name="commands"),
    path("interactions", views.interactions, name="interactions"),
]
