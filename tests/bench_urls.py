"""The portal's URLs plus a bare view: the benchmark's baseline, on the same middleware."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from portal.urls import urlpatterns as portal_urlpatterns


@login_not_required
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [*portal_urlpatterns, path("bench/bare", bare, name="bench_bare")]
