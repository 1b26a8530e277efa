from django.urls import path

from handoff import views

app_name = "handoff"

urlpatterns = [
    path("rotations/<slug:slug>/handoffs/", views.report_list, name="list"),
    path("rotations/<slug:slug>/handoffs/<str:day>/", views.report_page, name="report"),
]
