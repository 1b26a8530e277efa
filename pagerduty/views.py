"""The PagerDuty page (``/sync/``): every job run and the drift in PagerDuty's feeds."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pagerduty.models import SyncRun
from pagerduty.status import sync_status
from portal.viewer import in_viewer_zone
from rotation.models import Rotation

SYNC_RUNS_SHOWN = 100


@in_viewer_zone
def sync_page(request: HttpRequest) -> HttpResponse:
    """Every PagerDuty job run, newest first, and the drift each schedule feed shows."""
    runs = SyncRun.objects.select_related("rotation")[:SYNC_RUNS_SHOWN]
    context = {"runs": runs, "sync": sync_status(list(Rotation.objects.all()))}
    return render(request, "pagerduty/sync.html", context)
