"""What correspondence declares in the registry (``crm.core.records``): the "E-mail" panel
on contact, company, lead and deal cards, the thread finder that takes replies and bounces
from the sales mailbox before the leads channel, the sweep of queued e-mails whose job was
lost, and its tables in the full export."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from crm.accounts.http import SignedInRequest
from crm.core.records import BaseTable, CardPanel, Sweep, ThreadFinder, registry
from crm.correspondence.models import EmailTemplate, OutgoingEmail
from crm.correspondence.selectors import MAIL_KINDS
from crm.correspondence.services.inbound import mail_thread_claim
from crm.correspondence.services.sending import outgoing_sweep


def mail_panel(request: SignedInRequest, record: Any) -> tuple[str, dict[str, Any]] | None:
    """A "Write an e-mail" button for whoever may change the record (no query)."""
    kind = registry.kind_for(type(record))
    if kind is None or kind.key not in MAIL_KINDS:
        return None
    may_change = getattr(kind.policy, "may_change", None)
    if may_change is None or not may_change(request.user, record):
        return None
    return "correspondence/partials/card_panel.html", {
        "write_url": reverse("correspondence:compose", args=[kind.key, record.pk])
    }


CONTRIBUTIONS = [
    *(CardPanel(kind, "email", mail_panel) for kind in MAIL_KINDS),
    ThreadFinder("correspondence.threads", mail_thread_claim),
    Sweep("correspondence.outgoing", 120, outgoing_sweep),
    BaseTable("email_templates", EmailTemplate, order=96),
    BaseTable("outgoing_emails", OutgoingEmail, order=97, many=("attachments",)),
]
