"""Pages of the analytics app: the home dashboard (and, in later increments, the reports)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from crm.accounts.http import SignedInRequest
from crm.analytics.selectors import dashboard_for


@login_required
@require_GET
def home(request: SignedInRequest) -> HttpResponse:
    """``/``: the viewer's dashboard for this month (own, their teams', or everyone's)."""
    board = dashboard_for(viewer=request.user)
    return render(request, "analytics/dashboard.html", {"board": board})
