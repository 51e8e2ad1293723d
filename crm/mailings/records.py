"""What mailings declare in the registry (``crm.core.records``): the consent panel on the
contact card (consent to mailings and the unsubscribed addresses, editable there)."""

from __future__ import annotations

from typing import Any

from crm.accounts.http import SignedInRequest
from crm.core.records import CardPanel
from crm.customers.models import Contact


def consent_panel(request: SignedInRequest, record: Contact) -> tuple[str, dict[str, Any]]:
    """The contact card's consent panel (the view builds its context, so the panel and its
    HTMX refresh show the same)."""
    from crm.mailings.views import consent_context  # the page's own adapter

    return "mailings/partials/consent_panel.html", consent_context(request, record)


CONTRIBUTIONS = [CardPanel("contact", "consent", consent_panel)]
