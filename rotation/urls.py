"""Routes of the rotation pages (DESIGN.md's URL table)."""

from django.urls import path

from rotation import cover_views, views

app_name = "rotation"
urlpatterns = [
    path("rotations/<slug:slug>/", views.rotation_schedule, name="schedule"),
    path("rotations/<slug:slug>/cover/new/", cover_views.cover_new, name="cover_new"),
    path(
        "covers/<int:pk>/<slug:verb>/",
        cover_views.cover_decide,
        name="cover_decide",
    ),
]
