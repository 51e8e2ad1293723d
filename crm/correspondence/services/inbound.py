"""Mail that comes back: replies to the e-mails the CRM sent, and delivery reports.

``mail_thread_claim`` is this app's ``ThreadFinder`` (``crm.core.records``): the leads
channel asks it first about every message of the sales mailbox.

* A delivery status notification (``multipart/report``, or a message from mailer-daemon /
  postmaster) that names a Message-ID the CRM sent — in its returned headers, or anywhere
  in its text — marks the e-mail ``bounced`` and the failed recipients' addresses
  (``Final-Recipient`` of a failed ``Action``, else all its recipients) undeliverable on
  every card that has them, with the report's status and diagnostic as the reason; the
  sender is notified. A report that names no message of ours but a permanent failure
  (5.x.x) for an address on a card marks that address. Anything else automatic is left to
  the leads channel (which rejects it).
* A message whose ``In-Reply-To`` or ``References`` names a Message-ID the CRM sent is an
  "email" entry (direction incoming) on the same record's timeline and on its client's,
  and the record's responsible user is notified. It never becomes a lead.
"""

from __future__ import annotations

import logging
import re
from email.message import EmailMessage, Message
from email.utils import getaddresses
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.activities.choices import CallDirection, EntryKind
from crm.activities.services import timeline_record
from crm.core.records import registry
from crm.correspondence.choices import EmailStatus
from crm.correspondence.models import OutgoingEmail
from crm.correspondence.selectors import MAIL_KINDS
from crm.correspondence.services.sending import email_delivery_record
from crm.customers.choices import ContactPointKind
from crm.customers.models import ContactPoint
from crm.leads.services.email_channel import (
    AUTOMATIC_SENDERS,
    automatic_reason,
    email_read,
    message_parse,
)
from crm.notifications.models import Notification
from crm.notifications.services import in_language, notify

logger = logging.getLogger("crm.correspondence")

MESSAGE_ID = re.compile(r"<([^<>\s@]+@[^<>\s]+)>")
MAX_IDS = 50
REASON_MAX = 300


def message_ids_in(text: str) -> list[str]:
    return list(dict.fromkeys(f"<{found}>" for found in MESSAGE_ID.findall(text)))[:MAX_IDS]


def is_report(message: Message) -> bool:
    if message.get_content_type() == "multipart/report":
        return True
    sender = getaddresses([str(message.get("From", ""))])
    address = sender[0][1] if sender else ""
    return address.split("@", 1)[0].lower() in AUTOMATIC_SENDERS


def _status_fields(message: EmailMessage) -> list[dict[str, str]]:
    """The per-recipient fields of the report's ``message/delivery-status`` part."""
    recipients: list[dict[str, str]] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks[1:]:  # the first block is about the reporting server
            if isinstance(block, str):
                continue
            fields = {key.lower(): " ".join(str(value).split()) for key, value in block.items()}
            recipients.append(fields)
    return recipients


def _address_of(field: str) -> str:
    value = field.split(";", 1)[-1].strip().strip("<>").lower()
    return value if "@" in value else ""


def failed_recipients(message: EmailMessage) -> tuple[list[str], str, bool]:
    """The failed addresses of a report, the reason (status and diagnostic) and whether
    the failure is permanent (a 5.x.x status)."""
    addresses: list[str] = []
    reasons: list[str] = []
    permanent = False
    for fields in _status_fields(message):
        action = fields.get("action", "failed").lower()
        if action not in ("failed", ""):
            continue
        address = _address_of(fields.get("final-recipient") or fields.get("original-recipient", ""))
        if address:
            addresses.append(address)
        status = fields.get("status", "")
        permanent = permanent or status.startswith("5")
        reason = " ".join(filter(None, (status, fields.get("diagnostic-code", ""))))
        if reason and reason not in reasons:
            reasons.append(reason)
    return addresses, "; ".join(reasons)[:REASON_MAX], permanent


def _sent_among(ids: list[str]) -> OutgoingEmail | None:
    if not ids:
        return None
    return OutgoingEmail.objects.filter(message_id__in=ids).order_by("-id").first()


def mark_undeliverable(addresses: list[str], reason: str) -> int:
    """Mark every card's e-mail point with one of ``addresses`` (first bounce kept)."""
    if not addresses:
        return 0
    return ContactPoint.objects.filter(
        kind=ContactPointKind.EMAIL, value__in=addresses, undeliverable_at__isnull=True
    ).update(undeliverable_at=timezone.now(), undeliverable_reason=reason[:REASON_MAX])


def _record_url(email: OutgoingEmail) -> str:
    try:
        kind = registry.kind(email.record_kind)
    except LookupError:
        return ""
    record = kind.model._default_manager.filter(pk=email.record_id).first()
    return kind.url_of(record) if record is not None else ""


def _bounce(raw: bytes, inbound_id: int) -> dict[str, Any] | None:
    message = message_parse(raw)
    addresses, reason, permanent = failed_recipients(message)
    text = raw.decode("utf-8", "replace")
    email = _sent_among(message_ids_in(text))
    if email is None:
        if not (permanent and addresses):
            return None
        marked = mark_undeliverable(addresses, reason or _("delivery failed"))
        return {"bounce": True, "addresses": addresses, "marked": marked} if marked else None
    failed = [a for a in addresses if a in email.recipients] or email.recipients
    reason = reason or _("delivery failed")
    marked = mark_undeliverable(failed, reason)
    if email.status != EmailStatus.BOUNCED:
        OutgoingEmail.objects.filter(pk=email.pk).update(
            status=EmailStatus.BOUNCED, bounced_at=timezone.now(), last_error=reason[:500]
        )
        email_delivery_record(email=email, state=EmailStatus.BOUNCED)
        if email.sender is not None:
            with in_language(email.sender):
                title = _("The e-mail “%(subject)s” bounced") % {"subject": email.subject[:150]}
            notify(
                recipient=email.sender,
                kind=Notification.Kind.SYSTEM,
                title=title,
                body=f"{', '.join(failed)}: {reason}",
                url=_record_url(email),
                dedupe_key=f"mail-bounce:{email.pk}",
            )
    return {"bounce": True, "outgoing_email_id": email.pk, "addresses": failed, "marked": marked}


def _reply(raw: bytes, inbound_id: int) -> dict[str, Any] | None:
    parsed = email_read(raw)
    email = _sent_among(parsed.reply_to_ids)
    if email is None or email.record_kind not in MAIL_KINDS:
        return None
    kind = registry.kind(email.record_kind)
    record = kind.model._default_manager.filter(pk=email.record_id).first()
    if record is None:
        return None
    data = {
        **parsed.entry_data,
        "direction": CallDirection.INCOMING,
        "inbound_id": inbound_id,
        "in_reply_to": email.message_id,
        "outgoing_email_id": email.pk,
    }
    subjects = [record]
    client = email.contact or email.company
    if client is not None and client != record:
        subjects.append(client)
    entries = [
        timeline_record(
            subject=subject,
            kind=EntryKind.EMAIL,
            title=parsed.subject,
            body=parsed.text,
            data=data,
            direction=CallDirection.INCOMING,
        ).pk
        for subject in subjects
    ]
    owner = getattr(record, "owner", None) or email.sender
    if owner is not None:
        with in_language(owner):
            title = _("Reply to “%(subject)s” from %(sender)s") % {
                "subject": email.subject[:150],
                "sender": parsed.name or parsed.address,
            }
        notify(
            recipient=owner,
            kind=Notification.Kind.LEAD
            if email.record_kind == "lead"
            else Notification.Kind.SYSTEM,
            title=title,
            body=parsed.text[:500],
            url=kind.url_of(record),
            dedupe_key=f"mail-reply:{inbound_id}",
        )
    return {
        "attached_to": email.record_kind,
        "record_id": record.pk,
        "outgoing_email_id": email.pk,
        "entry_ids": entries,
    }


def mail_thread_claim(raw: bytes, inbound_id: int) -> dict[str, Any] | None:
    """The ``ThreadFinder`` of this app (see the module docstring): the outcome when the
    message is a bounce of, or a reply to, an e-mail the CRM sent; None otherwise. A message
    it cannot read is left to the leads channel (logged, never raised)."""
    try:
        with transaction.atomic():  # a failure undoes only this, not the arrival's batch
            headers = message_parse(raw, headers_only=True)
            if is_report(headers):
                return _bounce(raw, inbound_id)
            if automatic_reason(headers):
                return None
            return _reply(raw, inbound_id)
    except Exception:  # untrusted input: the leads channel decides what to do with it
        logger.warning("mail_thread_claim could not read inbound %s", inbound_id, exc_info=True)
        return None
