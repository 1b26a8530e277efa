"""The heads-up board (/heads-up/) and posting a heads-up (/heads-up/new/)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from incidents import heads_up
from incidents.forms import HeadsUpForm
from portal.viewer import in_viewer_zone, signed_in_user


@in_viewer_zone
def board(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    found = heads_up.board(now)
    # A customer-facing one not yet over offers its drafted notice to copy.
    upcoming = [
        (h, heads_up.customer_notice(h) if h.customer_facing else "") for h in found.now_and_ahead
    ]
    context = {"upcoming": upcoming, "past": found.past, "now": now}
    return render(request, "incidents/heads_up.html", context)


@in_viewer_zone
def new(request: HttpRequest) -> HttpResponse:
    form = HeadsUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        posted = heads_up.post_heads_up(form.cleaned_data, by=signed_in_user(request))
        messages.success(request, "Heads-up posted.")
        return redirect(reverse("heads_up:board") + f"#heads-up-{posted.pk}")
    return render(request, "incidents/heads_up_new.html", {"form": form})
