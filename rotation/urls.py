"""Routes of the rotation pages (DESIGN.md's URL table)."""

from django.urls import path

from rotation import views

app_name = "rotation"
urlpatterns = [
    path("rotations/<slug:slug>/", views.rotation_schedule, name="schedule"),
]
