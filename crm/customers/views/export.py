"""The contact and company lists' old CSV addresses (``customers:<entity>_export``), kept
working: the export of every list lives in ``crm.transfer`` and is declared by this app in
``records.py`` (``crm.customers.exports``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.urls import reverse

from crm.accounts.http import SignedInRequest


@login_required
def customer_export(request: SignedInRequest, entity: str) -> HttpResponseRedirect:
    """Redirect to the CSV export of the list of ``entity`` under the same filters."""
    query = request.GET.urlencode()
    url = reverse("transfer:export_list", args=[entity, "csv"])
    return HttpResponseRedirect(f"{url}?{query}" if query else url)
