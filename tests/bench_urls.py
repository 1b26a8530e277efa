"""The portal's URLs plus a bare view, the benchmark's baseline, a one-query view that answers
304, the floor for any conditional answer that must ask the database anything, and a one-query
view that answers as many bytes as asked, the floor of a large remembered answer (a year of
the schedule); all on the same middleware as the portal."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.urls import path

from portal.stamp import stamps
from portal.urls import urlpatterns as portal_urlpatterns


@login_not_required
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@login_not_required
def one_query_304(request: HttpRequest) -> HttpResponse:
    response = HttpResponseNotModified()
    response["ETag"] = f'"{stamps("schedule")}"'
    return response


@login_not_required
def one_query_bytes(request: HttpRequest) -> HttpResponse:
    stamps("schedule")
    size = min(int(request.GET.get("n", "0")), 10_000_000)
    return HttpResponse(b"[" + b" " * max(size - 2, 0) + b"]", content_type="application/json")


urlpatterns = [
    *portal_urlpatterns,
    path("bench/bare", bare, name="bench_bare"),
    path("bench/one-query-304", one_query_304, name="bench_one_query_304"),
    path("bench/one-query-bytes", one_query_bytes, name="bench_one_query_bytes"),
]
