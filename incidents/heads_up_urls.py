"""Routes of the heads-up board."""

from django.urls import path

from incidents import views_heads_up

app_name = "heads_up"
urlpatterns = [
    path("", views_heads_up.board, name="board"),
    path("new/", views_heads_up.new, name="new"),
]
