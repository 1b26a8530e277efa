"""The portal's URLs plus a bare view, the benchmark's baseline, and a one-query view that
answers 304, the floor for any conditional answer that must ask the database anything; both on
the same middleware as the portal."""

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


urlpatterns = [
    *portal_urlpatterns,
    path("bench/bare", bare, name="bench_bare"),
    path("bench/one-query-304", one_query_304, name="bench_one_query_304"),
]
