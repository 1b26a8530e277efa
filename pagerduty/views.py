"""The PagerDuty pages: ``/sync/`` (every job run and the drift in PagerDuty's feeds) and each
rotation's escalation path with its on-call SLO."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from pagerduty import escalation
from pagerduty.models import SyncRun
from pagerduty.status import sync_status
from pagerduty.sync import DELAY_MINUTES
from portal.viewer import in_viewer_zone
from rotation.models import Rotation

SYNC_RUNS_SHOWN = 100


@in_viewer_zone
def sync_page(request: HttpRequest) -> HttpResponse:
    """Every PagerDuty job run, newest first, and the drift each schedule feed shows."""
    runs = SyncRun.objects.select_related("rotation")[:SYNC_RUNS_SHOWN]
    context = {"runs": runs, "sync": sync_status(list(Rotation.objects.all()))}
    return render(request, "pagerduty/sync.html", context)


@in_viewer_zone
def escalation_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Who a page reaches, in what order and after how long, and how quickly pages have been
    acknowledged: the last weeks and each person this quarter."""
    rotation = get_object_or_404(Rotation, slug=slug)
    now = timezone.now()
    found = escalation.rotation_slo(rotation, now)
    context = {
        "rotation": rotation,
        "path": escalation.read_path(rotation),
        "now_holding": escalation.holders_now(found.effective, now),
        "slo": found.figures,
        "delay": DELAY_MINUTES,
    }
    return render(request, "pagerduty/escalation.html", context)
