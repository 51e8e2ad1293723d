"""The deal card's panels of the deal's own rows — line items and payments — share one
implementation of their add and edit views (``DealRowsPanel``); each module configures it
with its form, services and panel renderer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import models
from django.http import HttpResponse

from crm.accounts.http import SignedInRequest
from crm.core.forms import form_post
from crm.sales.forms_money import MoneyForm
from crm.sales.models import Deal
from crm.sales.services.deals import deal_get, deal_get_writable

RowT = TypeVar("RowT", bound=models.Model)
FormT = TypeVar("FormT", bound=MoneyForm)


@dataclass(frozen=True)
class DealRowsPanel(Generic[RowT, FormT]):
    """The add and edit views of one kind of a deal's rows.

    ``row_name`` is the update service's keyword for the row (``line``, ``payment``);
    ``add_form_name`` and ``editing_name`` are the renderer's keywords for the add form and
    the id of the row being edited. A refused form renders the panel again at 422 with the
    form open; a saved one answers ``after_change`` (the panel refreshed, or back to the card).
    Reads and writes ask the deal's policy (``deal_get`` / ``deal_get_writable``).
    """

    render: Callable[..., HttpResponse]  # (request, deal, *, status, **its forms)
    after_change: Callable[[SignedInRequest, Deal], HttpResponse]
    get_row: Callable[[Deal, int], RowT]
    form_class: type[FormT]
    initial: Callable[[RowT], dict[str, Any]]
    add: Callable[..., RowT]
    update: Callable[..., RowT]
    row_name: str
    add_form_name: str
    editing_name: str
    bound_edit_form: Callable[[RowT, Mapping[str, Any]], FormT] | None = None

    def edit_form(self, row: RowT) -> FormT:
        """The edit form showing ``row``."""
        return self.form_class(initial=self.initial(row))

    def add_view(self, request: SignedInRequest, deal_pk: int) -> HttpResponse:
        """POST: add a row to the deal."""
        deal = deal_get_writable(actor=request.user, pk=deal_pk)
        form: Any = self.form_class(request.POST)
        return form_post(
            form,
            lambda: self.add(actor=request.user, deal=deal, **form.service_arguments()),
            success=lambda row: self.after_change(request, _deal_of(row)),
            failure=lambda: self.render(request, deal, status=422, **{self.add_form_name: form}),
        )

    def edit_view(self, request: SignedInRequest, deal_pk: int, pk: int) -> HttpResponse:
        """GET opens the row for editing in the panel; POST saves it."""
        if request.method != "POST":
            deal = deal_get(actor=request.user, pk=deal_pk)
            row = self.get_row(deal, pk)
            return self.render(
                request, deal, edit_form=self.edit_form(row), **{self.editing_name: row.pk}
            )
        deal = deal_get_writable(actor=request.user, pk=deal_pk)
        row = self.get_row(deal, pk)
        form: Any = (
            self.bound_edit_form(row, request.POST)
            if self.bound_edit_form is not None
            else self.form_class(request.POST)
        )
        return form_post(
            form,
            lambda: self.update(
                actor=request.user,
                **{self.row_name: row},
                **form.service_arguments(for_update=True),
            ),
            success=lambda updated: self.after_change(request, _deal_of(updated)),
            failure=lambda: self.render(
                request, deal, status=422, edit_form=form, **{self.editing_name: row.pk}
            ),
        )


def _deal_of(row: models.Model) -> Deal:
    """The deal a saved row belongs to (the services return it with the deal loaded)."""
    deal: Deal = getattr(row, "deal")  # noqa: B009 - a row of any kind
    return deal
