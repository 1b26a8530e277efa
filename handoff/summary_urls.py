"""Routes of the weekly livesite summary."""

from django.urls import path, register_converter

from handoff import summary_views


class DayConverter:
    """A date like 2026-12-01 (checked as a date by the view)."""

    regex = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DayConverter, "day")

app_name = "summary"
urlpatterns = [
    path("rotations/<slug:slug>/summary/", summary_views.latest_summary, name="latest"),
    path("rotations/<slug:slug>/summary/<day:day>/", summary_views.summary_page, name="week"),
    path(
        "rotations/<slug:slug>/summary/<day:day>.md",
        summary_views.summary_export,
        name="markdown",
    ),
]
