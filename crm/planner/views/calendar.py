"""The calendar page (day, week, month; mine or a team's) and the iCalendar feed with its
secret, revocable URL."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from crm.accounts.http import SignedInRequest
from crm.core.permissions import can_write
from crm.planner import ical, selectors, services

VIEWS = ("month", "week", "day")


def _anchor(value: str | None) -> dt.date:
    try:
        day = dt.date.fromisoformat(value or "")
    except ValueError:
        return timezone.localdate()
    return day if 2000 <= day.year <= 2100 else timezone.localdate()


@login_required
@require_GET
def calendar(request: SignedInRequest) -> HttpResponse:
    """The grid of the chosen period; open tasks the user may change can be dragged."""
    requested_view = request.GET.get("view", "")
    view = requested_view if requested_view in VIEWS else "month"
    teams = selectors.teams_led(request.user)
    scope = "team" if request.GET.get("scope") == "team" and teams else "mine"
    try:
        team_id = int(request.GET.get("team") or 0) or None
    except ValueError:
        team_id = None
    if team_id and team_id not in {team.pk for team in teams}:
        raise Http404(_("Not found."))
    grid = selectors.calendar_view(
        user=request.user,
        view=view,
        anchor=_anchor(request.GET.get("date")),
        scope=scope,
        team_id=team_id,
    )
    context = {
        "grid": grid,
        "view": view,
        "scope": scope,
        "teams": teams,
        "team_id": team_id,
        "can_write": can_write(request.user),
        "weekdays": [grid.start + dt.timedelta(days=offset) for offset in range(7)],
        # Items link to "<task_url><id>/": one reverse() for the page, not one per task.
        "task_url": reverse("planner:task_detail", args=[0]).removesuffix("0/"),
    }
    return render(request, "planner/calendar.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def feed_settings(request: SignedInRequest) -> HttpResponse:
    """Make a new secret feed URL (the old one stops working) or revoke it."""
    url = ""
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            services.feed_token_revoke(actor=request.user)
            messages.success(request, _("The calendar link no longer works."))
            return redirect("planner:feed_settings")
        _token, secret = services.feed_token_create(actor=request.user)
        url = request.build_absolute_uri(reverse("planner:feed", args=[secret]))
    active = request.user.feed_tokens.filter(revoked_at__isnull=True).first()
    return render(request, "planner/feed_settings.html", {"url": url, "active": active})


@require_GET
@never_cache
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The user's tasks as iCalendar, for Google Calendar, Outlook and Thunderbird."""
    user = services.feed_token_authenticate(token)
    if user is None:
        raise Http404(_("Not found."))
    body = ical.calendar_feed(user=user, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="tasks.ics"'
    return response
