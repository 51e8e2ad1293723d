"""The search page and the navbar typeahead: every record kind that declares a search
(``crm.core.records.Search``) answers in its own section — today contacts and companies."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm.accounts.http import SignedInRequest
from crm.core.records import RecordKind, registry

PAGE_LIMIT = 50
SUGGEST_LIMIT = 8


def _query(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:100]


def _sections(request: SignedInRequest, q: str, limit: int) -> list[tuple[RecordKind, list[Any]]]:
    """Each searchable kind with the records of it ``request.user`` may see matching ``q``."""
    return [
        (kind, kind.search.find(request.user, q, limit))
        for kind in registry.searchable()
        if kind.search is not None
    ]


def _by_section(sections: list[tuple[RecordKind, list[Any]]]) -> dict[str, list[Any]]:
    return {kind.search.section: records for kind, records in sections if kind.search}


@login_required
def search(request: SignedInRequest) -> HttpResponse:
    """Every visible record of each searchable kind matching ``?q=`` (up to 50 of each)."""
    q = _query(request)
    context = {
        "search_query": q,
        "sections": _sections(request, q, PAGE_LIMIT),
        "limit": PAGE_LIMIT,
    }
    return render(request, "customers/search.html", context)


@login_required
def search_suggest(request: SignedInRequest) -> HttpResponse:
    """The typeahead fragment under the navbar box; empty for an empty query."""
    q = _query(request)
    if not q:
        return HttpResponse("")
    sections = _sections(request, q, SUGGEST_LIMIT)
    found = any(records for _kind, records in sections)
    context = {"q": q, "sections": sections, "results": _by_section(sections), "found": found}
    return render(request, "customers/partials/search_suggest.html", context)
