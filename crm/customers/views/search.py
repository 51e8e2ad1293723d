"""The search page and the navbar typeahead over contacts and companies."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm.accounts.http import SignedInRequest
from crm.customers import selectors

PAGE_LIMIT = 50
SUGGEST_LIMIT = 8


def _query(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:100]


@login_required
def search(request: SignedInRequest) -> HttpResponse:
    """Every visible contact and company matching ``?q=`` (up to 50 of each)."""
    q = _query(request)
    results = selectors.customer_search(user=request.user, q=q, limit=PAGE_LIMIT)
    context = {"search_query": q, "results": results, "limit": PAGE_LIMIT}
    return render(request, "customers/search.html", context)


@login_required
def search_suggest(request: SignedInRequest) -> HttpResponse:
    """The typeahead fragment under the navbar box; empty for an empty query."""
    q = _query(request)
    if not q:
        return HttpResponse("")
    results = selectors.customer_search(user=request.user, q=q, limit=SUGGEST_LIMIT)
    return render(request, "customers/partials/search_suggest.html", {"q": q, "results": results})
