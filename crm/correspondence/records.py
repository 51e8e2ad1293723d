"""What correspondence declares in the registry (``crm.core.records``): the "E-mail" and
"SMS" panels on contact, company, lead and deal cards, the thread finder that takes replies
and bounces from the sales mailbox before the leads channel, the sweeps of queued e-mails
and SMS whose job was lost, the polling of SMS delivery statuses, and its tables in the
full export."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from crm.accounts.http import SignedInRequest
from crm.core.records import BaseTable, CardPanel, Sweep, ThreadFinder, registry
from crm.correspondence.models import EmailTemplate, OutgoingEmail, SmsMessage
from crm.correspondence.selectors import MAIL_KINDS
from crm.correspondence.services.inbound import mail_thread_claim
from crm.correspondence.services.sending import outgoing_sweep
from crm.correspondence.services.sms import sms_poll, sms_sweep


def _writable_kind(request: SignedInRequest, record: Any) -> Any:
    """The record's kind if it is one mail is written from and the user may change the
    record (no query); None otherwise."""
    kind = registry.kind_for(type(record))
    if kind is None or kind.key not in MAIL_KINDS:
        return None
    may_change = getattr(kind.policy, "may_change", None)
    if may_change is None or not may_change(request.user, record):
        return None
    return kind


def mail_panel(request: SignedInRequest, record: Any) -> tuple[str, dict[str, Any]] | None:
    """A "Write an e-mail" button for whoever may change the record (no query)."""
    kind = _writable_kind(request, record)
    if kind is None:
        return None
    return "correspondence/partials/card_panel.html", {
        "write_url": reverse("correspondence:compose", args=[kind.key, record.pk])
    }


def sms_panel(request: SignedInRequest, record: Any) -> tuple[str, dict[str, Any]] | None:
    """A "Write an SMS" button for whoever may change the record (no query)."""
    kind = _writable_kind(request, record)
    if kind is None:
        return None
    return "correspondence/partials/sms_panel.html", {
        "write_url": reverse("correspondence:sms_compose", args=[kind.key, record.pk])
    }


CONTRIBUTIONS = [
    *(CardPanel(kind, "email", mail_panel) for kind in MAIL_KINDS),
    *(CardPanel(kind, "sms", sms_panel) for kind in MAIL_KINDS),
    ThreadFinder("correspondence.threads", mail_thread_claim),
    Sweep("correspondence.outgoing", 120, outgoing_sweep),
    Sweep("correspondence.sms", 120, sms_sweep),
    Sweep("correspondence.sms_status", 300, sms_poll),
    BaseTable("email_templates", EmailTemplate, order=96),
    BaseTable("outgoing_emails", OutgoingEmail, order=97, many=("attachments",)),
    BaseTable("sms_messages", SmsMessage, order=98),
]
