"""Routes of the runbook pages (DESIGN.md's URL table)."""

from django.urls import path

from runbooks import views

app_name = "runbooks"
urlpatterns = [
    path("", views.runbook_list, name="list"),
    path("new/", views.runbook_edit, name="new"),
    path("preview/", views.preview, name="preview"),
    path("<slug:slug>/", views.runbook_page, name="page"),
    path("<slug:slug>/edit/", views.runbook_edit, name="edit"),
    path("<slug:slug>/history/", views.history, name="history"),
    path("<slug:slug>/restore/<int:number>/", views.restore, name="restore"),
    path("<slug:slug>/reviewed/", views.reviewed, name="reviewed"),
]
