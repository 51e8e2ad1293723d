"""The deal board: a pipeline's stages as columns, cards dragged between them.

The page renders the first cards of every column; a column's next page comes from
``board_column`` (HTMX). A drop posts to ``deal_move``, which answers the moved card with
the two column headers out of band, or 422 with the "fill in the missing fields" dialog;
without JavaScript the same endpoint takes a plain form and redirects back with a message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.accounts.http import SignedInRequest
from crm.core import errors
from crm.customers.selectors import users_owner_filter
from crm.sales.selectors_board import (
    BoardFilters,
    board_card,
    board_column_heads,
    board_column_page,
    board_stage,
    deal_board,
    move_requirements,
    move_updates,
)
from crm.sales.services import deals as deal_services


def _query(filters: BoardFilters) -> str:
    return urlencode(filters.as_params(pipeline=False))


@login_required
@require_GET
def board(request: SignedInRequest) -> HttpResponse:
    """The board of one pipeline under the filters in the query string."""
    filters = BoardFilters.from_params(request.GET)
    data = deal_board(user=request.user, filters=filters)
    context = {
        "board": data,
        "filters": filters,
        "filter_query": _query(filters),
        "owners": users_owner_filter(user=request.user),
    }
    return render(request, "sales/board/board.html", context)


@login_required
@require_GET
def board_column(request: SignedInRequest, stage_id: int) -> HttpResponse:
    """The next page of one column's cards, with the button for the page after it."""
    try:
        stage = board_stage(pk=stage_id)
    except errors.NotFound:
        raise Http404 from None
    filters = BoardFilters.from_params(request.GET)
    try:
        page = board_column_page(
            user=request.user, stage=stage, filters=filters, cursor=request.GET.get("cursor")
        )
    except errors.ValidationFailed as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    context = {
        "stage": stage,
        "cards": page.items,
        "next_cursor": page.next_cursor,
        "filter_query": _query(filters),
    }
    return render(request, "sales/board/partials/column_page.html", context)


def _back(request: SignedInRequest, pipeline_id: int | None) -> HttpResponse:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    url = reverse("sales:board")
    return redirect(f"{url}?{urlencode({'pipeline': pipeline_id})}" if pipeline_id else url)


def _refusal_message(exc: errors.ValidationFailed) -> str:
    if exc.message:
        return exc.message
    return " ".join(message for messages_ in exc.field_errors.values() for message in messages_)


def _refused(
    request: SignedInRequest, before: Any, exc: errors.ValidationFailed, filters: BoardFilters
) -> HttpResponse:
    message = _refusal_message(exc)
    if not request.htmx:
        messages.error(request, f"{before.title}: {message}")
        return _back(request, before.pipeline_id)
    try:
        stage = board_stage(pk=request.POST.get("stage_id"))
    except errors.NotFound:
        stage = None
    requirements = []
    if stage is not None and stage.pipeline_id == before.pipeline_id:
        requirements = move_requirements(
            deal=before, stage=stage, field_errors=exc.field_errors, submitted=request.POST
        )
    if stage is not None and requirements:
        # One sentence naming everything the dialog asks for (the service names the stage's
        # fields, but checks the reason for a loss first and alone).
        message = _("To move the deal to “%(stage)s”, fill in: %(fields)s.") % {
            "stage": stage.name,
            "fields": ", ".join(item.label for item in requirements),
        }
    context = {
        "deal": before,
        "stage": stage,
        "message": message,
        "requirements": [item for item in requirements if item.widget],
        "untyped": [item for item in requirements if not item.widget],
        "lost_comment": request.POST.get("lost_comment", ""),
        "filter_query": _query(filters),
    }
    return render(request, "sales/board/partials/move_refused.html", context, status=422)


@login_required
@require_POST
def deal_move(request: SignedInRequest, pk: int) -> HttpResponse:
    """Move a deal to ``stage_id`` (a drop on the board, the dialog, or a plain form).

    The dialog's inputs (``amount``, ``custom.<key>`` …) are applied with the move in one
    transaction; ``lost_reason_id`` and ``lost_comment`` go with a move to a lost stage.
    The query string carries the board's filters, so the returned headers count the same
    deals as the board.
    """
    filters = BoardFilters.from_params(request.GET)
    try:
        before = deal_services.deal_get(actor=request.user, pk=pk)
        deal = deal_services.deal_move(
            actor=request.user,
            pk=pk,
            stage_id=request.POST.get("stage_id"),
            lost_reason_id=request.POST.get("lost_reason_id") or None,
            lost_comment=request.POST.get("lost_comment", ""),
            updates=move_updates(request.POST) or None,
        )
    except errors.NotFound:
        raise Http404 from None
    except errors.PermissionDenied as exc:
        if request.htmx:
            return HttpResponse(exc.message, status=403, content_type="text/plain; charset=utf-8")
        raise PermissionDenied(exc.message) from None
    except errors.ValidationFailed as exc:
        return _refused(request, before, exc, filters)
    if not request.htmx:
        messages.success(
            request,
            _("“%(deal)s” moved to “%(stage)s”.") % {"deal": deal.title, "stage": deal.stage.name},
        )
        return _back(request, deal.pipeline_id)
    stages = [before.stage] if before.stage_id == deal.stage_id else [before.stage, deal.stage]
    context = {
        "cards": [board_card(user=request.user, pk=deal.pk)],
        "heads": board_column_heads(user=request.user, filters=filters, stages=stages),
        "filter_query": _query(filters),
    }
    return render(request, "sales/board/partials/move_done.html", context)


urlpatterns: list[URLPattern] = [
    path("board/", board, name="board"),
    path("board/stages/<int:stage_id>/cards/", board_column, name="board_column"),
    path("deals/<int:pk>/move/", deal_move, name="deal_move"),
]
