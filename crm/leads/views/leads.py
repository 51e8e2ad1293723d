"""Lead pages: the card (the list, board and forms are added next to it)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from crm.core.forms import domain_errors
from crm.leads.selectors import lead_timeline
from crm.leads.services.leads import lead_get


@login_required
@domain_errors
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get(actor=request.user, pk=pk)
    context = {
        "lead": lead,
        "record": lead,
        "entity": "lead",
        "timeline_page": lead_timeline(lead=lead),
    }
    return render(request, "leads/lead_detail.html", context)


urlpatterns: list[URLPattern] = [path("<int:pk>/", lead_detail, name="lead_detail")]
