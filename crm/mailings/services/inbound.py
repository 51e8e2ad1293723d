"""Mail that comes back about a mailing's messages: bounces and replies.

``mailing_thread_claim`` is this app's ``ThreadFinder`` (``crm.core.records``), asked before
correspondence's (mailings is installed first). A mailing's message is found by its
Message-ID, kept on its recipient row:

* a delivery report naming it marks the row bounced and the address undeliverable on every
  card (as a bounce of an e-mail from a card does), with the report's reason;
* a reply (``In-Reply-To``/``References``) marks the row replied and lands on the
  contact's timeline as an incoming e-mail; the contact's responsible user is notified.

Anything else is left to the next finder (correspondence, then the leads channel).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.activities.choices import CallDirection, EntryKind
from crm.activities.services import timeline_record
from crm.correspondence.services.inbound import (
    failed_recipients,
    is_report,
    mark_undeliverable,
    message_ids_in,
)
from crm.leads.services.email_channel import automatic_reason, email_read, message_parse
from crm.mailings.models import MailingRecipient
from crm.notifications.models import Notification
from crm.notifications.services import in_language, notify

logger = logging.getLogger("crm.mailings")


def _bounce(raw: bytes) -> dict[str, Any] | None:
    ids = message_ids_in(raw.decode("utf-8", "replace"))
    row = (
        MailingRecipient.objects.filter(message_id__in=ids).order_by("-id").first() if ids else None
    )
    if row is None:
        return None
    _addresses, reason, _permanent = failed_recipients(message_parse(raw))
    reason = reason or _("delivery failed")
    marked = mark_undeliverable([row.address], reason)
    MailingRecipient.objects.filter(pk=row.pk, bounced_at__isnull=True).update(
        bounced_at=timezone.now(), error=reason[:500]
    )
    return {
        "bounce": True,
        "mailing_id": row.mailing_id,
        "recipient_id": row.pk,
        "addresses": [row.address],
        "marked": marked,
    }


def _reply(raw: bytes, inbound_id: int) -> dict[str, Any] | None:
    parsed = email_read(raw)
    if not parsed.reply_to_ids:
        return None
    row = (
        MailingRecipient.objects.filter(message_id__in=parsed.reply_to_ids)
        .select_related("contact__owner", "mailing")
        .order_by("-id")
        .first()
    )
    if row is None or row.contact is None:
        return None
    MailingRecipient.objects.filter(pk=row.pk, replied_at__isnull=True).update(
        replied_at=timezone.now()
    )
    contact = row.contact
    entry = timeline_record(
        subject=contact,
        kind=EntryKind.EMAIL,
        title=parsed.subject,
        body=parsed.text,
        data={
            **parsed.entry_data,
            "direction": CallDirection.INCOMING,
            "inbound_id": inbound_id,
            "in_reply_to": row.message_id,
            "mailing_id": row.mailing_id,
        },
        direction=CallDirection.INCOMING,
    )
    if contact.owner is not None:
        with in_language(contact.owner):
            title = _("Reply to the mailing “%(name)s” from %(sender)s") % {
                "name": row.mailing.name[:150],
                "sender": parsed.name or parsed.address,
            }
        notify(
            recipient=contact.owner,
            kind=Notification.Kind.SYSTEM,
            title=title,
            body=parsed.text[:500],
            url=reverse("customers:contact_detail", args=[contact.pk]),
            dedupe_key=f"mailing-reply:{inbound_id}",
        )
    return {
        "attached_to": "contact",
        "record_id": contact.pk,
        "mailing_id": row.mailing_id,
        "recipient_id": row.pk,
        "entry_ids": [entry.pk],
    }


def mailing_thread_claim(raw: bytes, inbound_id: int) -> dict[str, Any] | None:
    """The ``ThreadFinder`` of mailings (see the module docstring): the outcome when the
    message is a bounce of, or a reply to, a mailing's message; None otherwise. A message
    it cannot read is left to the next finder (logged, never raised)."""
    try:
        with transaction.atomic():
            headers = message_parse(raw, headers_only=True)
            if is_report(headers):
                return _bounce(raw)
            if automatic_reason(headers):
                return None
            return _reply(raw, inbound_id)
    except Exception:  # untrusted input: the next finder decides
        logger.warning("mailing_thread_claim could not read inbound %s", inbound_id, exc_info=True)
        return None
