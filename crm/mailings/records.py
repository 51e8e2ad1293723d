"""What mailings declare in the registry (``crm.core.records``): the consent panel on the
contact card (consent to mailings and the unsubscribed addresses, editable there), the
sweep that starts scheduled mailings and resumes those whose worker died, and the thread
finder that takes replies to and bounces of a mailing's messages."""

from __future__ import annotations

from typing import Any

from crm.accounts.http import SignedInRequest
from crm.core.records import CardPanel, Sweep, ThreadFinder
from crm.customers.models import Contact
from crm.mailings.services.delivery import mailing_sweep
from crm.mailings.services.inbound import mailing_thread_claim


def consent_panel(request: SignedInRequest, record: Contact) -> tuple[str, dict[str, Any]]:
    """The contact card's consent panel (the view builds its context, so the panel and its
    HTMX refresh show the same)."""
    from crm.mailings.views import consent_context  # the page's own adapter

    return "mailings/partials/consent_panel.html", consent_context(request, record)


CONTRIBUTIONS = [
    CardPanel("contact", "consent", consent_panel),
    Sweep("mailings.sending", 60, mailing_sweep),
    ThreadFinder("mailings.threads", mailing_thread_claim),
]
