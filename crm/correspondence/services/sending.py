"""Writing an e-mail from a record's card and sending it in the background.

``email_send`` checks everything before it writes (addresses, header injection, an address
a bounce marked, the sender, placeholders that cannot be filled, the files and their size),
then in one transaction stores the ``OutgoingEmail`` with a fresh Message-ID, its new files,
and an "email" entry (direction outgoing) on the record's timeline and on its client's, and
enqueues ``email_send_job`` on commit. ``email_deliver`` (the job) claims the row with one
conditional UPDATE, hands the message to Django's e-mail backend (SMTP) and records the
outcome; a failure is retried with back-off, the sweep re-enqueues what a lost job left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.utils import make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.activities.choices import CallDirection, EntryKind
from crm.activities.models import TimelineEntry
from crm.activities.services import attachment_store, timeline_record
from crm.activities.uploads import FileTooLarge, check_upload
from crm.core.errors import ValidationFailed
from crm.core.normalize import normalize_email
from crm.core.permissions import ScopedUser
from crm.core.policies import CHANGE
from crm.correspondence.choices import EmailStatus, SenderChoice
from crm.correspondence.models import EmailTemplate, OutgoingEmail, SenderSettings
from crm.correspondence.selectors import (
    attachment_choices,
    record_for_mail,
    sender_settings_get,
    templates_for,
    undeliverable_addresses,
)
from crm.correspondence.services.placeholders import client_of
from crm.correspondence.services.templates import email_render, has_line_break
from crm.customers.models import Company, Contact

logger = logging.getLogger("crm.correspondence")

MAX_RECIPIENTS = 50
MAX_ATTACHMENTS = 20
MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=10)  # far longer than one SMTP conversation may take
SMTP_TIMEOUT_SECONDS = 30
SWEEP_GRACE = timedelta(minutes=2)
SWEEP_BATCH = 500
NAME_MAX = 150


@dataclass
class Draft:
    """What the writer chose: addresses (each list as given), the subject and text as
    template text (placeholders are filled when sending), the template it came from, the
    sender (``company`` or ``own``), files of the record by attachment id, and new uploads."""

    to: list[str]
    subject: str
    body: str
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    sender: str = SenderChoice.COMPANY
    template_id: int | None = None
    attachment_ids: list[int] = field(default_factory=list)
    uploads: list[UploadedFile[Any]] = field(default_factory=list)


class AttachmentsTooLarge(ValidationFailed):
    """A file, or the files of one e-mail together, over the size limit."""

    status_code = 413


def from_header(name: str, address: str) -> str:
    """``Name <address>`` with the name quoted when it must be (not yet encoded: Django's
    e-mail encodes it as a header)."""
    if not name:
        return address
    local, _at, domain = address.rpartition("@")
    return str(Address(display_name=name, username=local, domain=domain))


def retry_delay(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 1, 5, 25 and 125 minutes."""
    return timedelta(minutes=5 ** (attempts - 1))


# --- checking -------------------------------------------------------------------------------


def _addresses(values: list[str], name: str, errors: dict[str, list[str]]) -> list[str]:
    """Normalised, distinct addresses of one field; problems go to ``errors[name]``."""
    found: list[str] = []
    for raw in values:
        text = str(raw or "")
        if has_line_break(text):
            errors.setdefault(name, []).append(_("An address may not contain a line break."))
            continue
        # "Anna <anna@x.ru>" is accepted: only the address is kept.
        text = parseaddr(text)[1] or text if "<" in text else text
        if not text.strip():
            continue
        try:
            address = normalize_email(text)
        except ValueError:
            errors.setdefault(name, []).append(
                _("“%(address)s” is not an e-mail address.") % {"address": text[:100]}
            )
            continue
        if address not in found:
            found.append(address)
    return found


def sender_for(*, actor: ScopedUser, choice: str) -> tuple[str, str]:
    """The From name and address of an e-mail ``actor`` sends as ``choice``: the company's
    sales address (``CRM_MAIL_FROM``) or their own (``SenderSettings``)."""
    if choice == SenderChoice.OWN:
        own = sender_settings_get(user=actor)
        if not own.from_address:
            raise ValidationFailed(
                _("Check the sender."),
                field_errors={"sender": [_("Set your own address in the sender settings first.")]},
            )
        return own.from_name or str(actor), own.from_address
    if choice != SenderChoice.COMPANY:
        raise ValidationFailed(
            _("Check the sender."), field_errors={"sender": [_("Choose the sender.")]}
        )
    name, address = parseaddr(settings.CRM_MAIL_FROM)
    return name, address or settings.CRM_MAIL_FROM


def _template(actor: ScopedUser, template_id: int | None, errors: dict[str, list[str]]) -> Any:
    if template_id is None:
        return None
    template = templates_for(user=actor).filter(pk=template_id).first()
    if template is None:
        errors["template_id"] = [_("Choose one of your templates.")]
    return template


def _files(record: Any, draft: Draft, errors: dict[str, list[str]]) -> list[Any]:
    """The chosen files of the record; unknown ids go to ``errors``; the total size (with
    the uploads, checked by content first) over the limit raises 413 naming
    ``attachments``."""
    wanted = list(dict.fromkeys(draft.attachment_ids))
    if len(wanted) + len(draft.uploads) > MAX_ATTACHMENTS:
        errors["attachment_ids"] = [_("At most %(n)d files.") % {"n": MAX_ATTACHMENTS}]
        return []
    offered = {attachment.pk: attachment for attachment in attachment_choices(record)}
    chosen = [offered[pk] for pk in wanted if pk in offered]
    if len(chosen) != len(wanted):
        errors["attachment_ids"] = [_("Choose files of this record.")]
    for upload in draft.uploads:
        try:
            check_upload(upload)  # a refused type: 400 naming "file"
        except FileTooLarge as error:
            raise AttachmentsTooLarge(error.message, field_errors=error.field_errors) from None
    total = sum(a.size for a in chosen) + sum(u.size or 0 for u in draft.uploads)
    if total > settings.CRM_MAIL_ATTACHMENTS_MAX_BYTES:
        limit = settings.CRM_MAIL_ATTACHMENTS_MAX_BYTES / 2**20
        raise AttachmentsTooLarge(
            _("The files are too large."),
            field_errors={
                "attachments": [
                    _("The files of one e-mail may weigh at most %(limit).0f MB.")
                    % {"limit": limit}
                ]
            },
        )
    return chosen


def _check_undeliverable(fields: dict[str, list[str]], errors: dict[str, list[str]]) -> None:
    marked = undeliverable_addresses([a for values in fields.values() for a in values])
    for name, values in fields.items():
        for address in values:
            if address in marked:
                point = marked[address]
                errors.setdefault(name, []).append(
                    _("%(address)s is undeliverable (a bounce on %(date)s: %(reason)s).")
                    % {
                        "address": address,
                        "date": timezone.localtime(point.undeliverable_at).date().isoformat()
                        if point.undeliverable_at
                        else "",
                        "reason": point.undeliverable_reason or "—",
                    }
                )


# --- sending --------------------------------------------------------------------------------


def new_message_id(address: str) -> str:
    """A fresh Message-ID on the domain of the sender's ``address``."""
    domain = address.rsplit("@", 1)[-1] if "@" in address else "crm.localhost"
    return make_msgid(domain=domain)


def _entry_data(email: OutgoingEmail, attachments: list[Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "direction": CallDirection.OUTGOING,
        "from": from_header(email.from_name, email.from_address),
        "to": email.to,
        "outgoing_email_id": email.pk,
        "message_id": email.message_id,
        "delivery": email.status,
    }
    if email.cc:
        data["cc"] = email.cc
    if email.bcc:
        data["bcc"] = email.bcc
    if attachments:
        data["attachments"] = [
            {"id": a.pk, "name": a.original_name, "size": a.size} for a in attachments
        ]
    return data


def _timeline_subjects(record: Any) -> list[Any]:
    """The record and, for a deal or lead, its client (the contact, else the company)."""
    if isinstance(record, Contact | Company):
        return [record]
    client = client_of(record)
    return [record, client] if client is not None else [record]


def email_send(*, actor: ScopedUser, kind: str, record_id: int, draft: Draft) -> OutgoingEmail:
    """Write an e-mail from the record ``kind``/``record_id`` and queue it (see the module).

    Preconditions: ``actor`` may see the record (else ``NotFound``) and change it (else
    ``PermissionDenied``). Every problem is found before anything is written and raised as
    one ``ValidationFailed`` naming the fields (``to``, ``cc``, ``bcc``, ``subject``,
    ``body``, ``sender``, ``template_id``, ``attachment_ids``); a file of a refused type is
    400 naming ``file``, files over the size limit 413 naming ``file`` or ``attachments``.
    """
    record = record_for_mail(user=actor, kind=kind, pk=record_id, action=CHANGE)
    errors: dict[str, list[str]] = {}
    addresses = {
        "to": _addresses(draft.to, "to", errors),
        "cc": _addresses(draft.cc, "cc", errors),
        "bcc": _addresses(draft.bcc, "bcc", errors),
    }
    if not addresses["to"] and "to" not in errors:
        errors["to"] = [_("Choose at least one recipient.")]
    if sum(len(values) for values in addresses.values()) > MAX_RECIPIENTS:
        errors["to"] = [_("At most %(n)d recipients.") % {"n": MAX_RECIPIENTS}]
    _check_undeliverable(addresses, errors)
    if not draft.subject.strip() and not has_line_break(draft.subject):
        errors["subject"] = [_("Write the subject.")]
    if not draft.body.strip():
        errors["body"] = [_("Write the text.")]
    try:
        from_name, from_address = sender_for(actor=actor, choice=draft.sender)
    except ValidationFailed as error:
        errors.update(error.field_errors)
        from_name = from_address = ""
    template: EmailTemplate | None = _template(actor, draft.template_id, errors)
    rendered = None
    try:
        rendered = email_render(
            actor=actor,
            record=record,
            subject=draft.subject,
            body=draft.body,
            language=template.language if template else "",
        )
    except ValidationFailed as error:
        for name, messages in error.field_errors.items():
            errors.setdefault(name, messages)
    if rendered is not None:
        for name, part in (("subject", rendered.subject), ("body", rendered.body)):
            if part.missing and name not in errors:
                names = ", ".join(f"{{{{ {missing} }}}}" for missing in part.missing)
                errors[name] = [
                    _("Placeholders that cannot be filled: %(names)s. Fill in the record or "
                      "remove them.") % {"names": names}
                ]  # fmt: skip
    files = _files(record, draft, errors)
    if errors or rendered is None:
        raise ValidationFailed(_("Check the e-mail."), field_errors=errors)
    with transaction.atomic():
        stored = [attachment_store(upload=upload, author=actor) for upload in draft.uploads]
        client = client_of(record)
        email = OutgoingEmail.objects.create(
            record_kind=kind,
            record_id=record.pk,
            contact=client if isinstance(client, Contact) else None,
            company=client if isinstance(client, Company) else None,
            sender_id=actor.pk,
            template=template,
            from_name=from_name,
            from_address=from_address,
            reply_to=settings.CRM_MAIL_REPLY_TO,
            to=addresses["to"],
            cc=addresses["cc"],
            bcc=addresses["bcc"],
            subject=rendered.subject.text,
            body=rendered.body.text,
            message_id=new_message_id(from_address),
        )
        attachments = [*files, *stored]
        email.attachments.set(attachments)
        data = _entry_data(email, attachments)
        email.entry_ids = [
            timeline_record(
                subject=subject,
                kind=EntryKind.EMAIL,
                author=actor,
                title=email.subject,
                body=email.body,
                data=data,
                direction=CallDirection.OUTGOING,
            ).pk
            for subject in _timeline_subjects(record)
        ]
        email.save(update_fields=["entry_ids"])
        email_id = email.pk
        transaction.on_commit(lambda: enqueue_send([email_id]))
    return email


def enqueue_send(ids: list[int], run_after: datetime | None = None) -> None:
    """Enqueue ``email_send_job`` per id. A failure is logged, not raised: the row keeps
    its schedule and the sweep enqueues it again."""
    from crm.correspondence.jobs import email_send_job  # the job imports this module

    job = email_send_job
    if run_after is not None:
        if not job.get_backend().supports_defer:
            return  # a backend that cannot wait: left to the sweep
        job = job.using(run_after=run_after)
    for email_id in ids:
        try:
            job.enqueue(email_id)
        except Exception:
            logger.exception("enqueue_failed job=email_send id=%s", email_id)


def email_delivery_record(*, email: OutgoingEmail, state: str) -> None:
    """Show ``state`` on the e-mail's timeline entries (their ``data["delivery"]``)."""
    if not email.entry_ids:
        return
    entries = list(TimelineEntry.objects.filter(pk__in=email.entry_ids))
    for entry in entries:
        entry.data = {**entry.data, "delivery": state}
    TimelineEntry.objects.bulk_update(entries, ["data"])


def message_of(
    *,
    subject: str,
    body: str,
    from_name: str,
    from_address: str,
    to: list[str],
    reply_to: str,
    message_id: str,
    cc: list[str] | None = None,
    bcc: list[str] | None = None,
    headers: dict[str, str] | None = None,
    connection: Any = None,
) -> EmailMessage:
    """A plain-text ``EmailMessage`` with its From, Reply-To and Message-ID (and extra
    ``headers``): the one way this CRM builds a message, for an e-mail from a card and for
    each message of a mailing (``crm.mailings``)."""
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=from_header(from_name, from_address),
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=[reply_to] if reply_to else None,
        headers={**(headers or {}), "Message-ID": message_id},
        connection=connection,
    )


def message_build(email: OutgoingEmail, *, connection: Any = None) -> EmailMessage:
    """The e-mail as Django's ``EmailMessage``: plain text, its Message-ID, the files."""
    message = message_of(
        subject=email.subject,
        body=email.body,
        from_name=email.from_name,
        from_address=email.from_address,
        to=email.to,
        cc=email.cc,
        bcc=email.bcc,
        reply_to=email.reply_to,
        message_id=email.message_id,
        connection=connection,
    )
    for attachment in email.attachments.all():
        with attachment.file.open("rb") as handle:
            message.attach(attachment.original_name, handle.read(), attachment.content_type)
    return message


def email_deliver(*, email_id: int, connection: Any = None) -> str:
    """Hand one queued e-mail to the SMTP server, unless it is sent, being sent or not due.

    The claim is one conditional UPDATE: it counts the attempt and moves
    ``next_attempt_at`` a lease ahead, only where the e-mail is queued and due; of two
    workers running the same job only one matches, so the message goes out once. A worker
    that dies mid-send leaves a lease that runs out and the sweep enqueues it again (the
    one case a message may go twice: the server took it and the worker died before saying
    so). A failure is retried after ``retry_delay``; after ``MAX_ATTEMPTS`` the e-mail is
    ``failed`` with the error kept. Returns "sent", "retry", "failed" or "skipped".
    """
    now = timezone.now()
    claimed = OutgoingEmail.objects.filter(
        pk=email_id,
        status=EmailStatus.QUEUED,
        attempts__lt=MAX_ATTEMPTS,
        next_attempt_at__lte=now,
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    if not claimed:
        return "skipped"
    email = OutgoingEmail.objects.prefetch_related("attachments").get(pk=email_id)
    try:
        message = message_build(
            email, connection=connection or get_connection(timeout=SMTP_TIMEOUT_SECONDS)
        )
        message.send()
    except Exception as error:  # any failure of the transport is retried, none is fatal
        return _failed(email, error)
    with transaction.atomic():
        OutgoingEmail.objects.filter(pk=email_id, status=EmailStatus.QUEUED).update(
            status=EmailStatus.SENT, sent_at=timezone.now(), last_error=""
        )
        email_delivery_record(email=email, state=EmailStatus.SENT)
    return "sent"


def _failed(email: OutgoingEmail, error: Exception) -> str:
    message = f"{type(error).__name__}: {error}"[:500]
    rows = OutgoingEmail.objects.filter(pk=email.pk, status=EmailStatus.QUEUED)
    if email.attempts >= MAX_ATTEMPTS:
        with transaction.atomic():
            rows.update(status=EmailStatus.FAILED, last_error=message)
            email_delivery_record(email=email, state=EmailStatus.FAILED)
        logger.error("email_gave_up id=%s attempts=%s error=%s", email.pk, email.attempts, message)
        return "failed"
    retry_at = timezone.now() + retry_delay(email.attempts)
    rows.update(last_error=message, next_attempt_at=retry_at)
    logger.warning("email_retry id=%s attempts=%s error=%s", email.pk, email.attempts, message)
    enqueue_send([email.pk], run_after=retry_at)
    return "retry"


def outgoing_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Enqueue again the queued e-mails whose job was lost: attempts left and the next
    attempt (or a dead worker's lease) more than ``SWEEP_GRACE`` past. Also how retries
    happen on a queue backend that cannot run a job later. At most ``SWEEP_BATCH`` a run;
    answers how many were enqueued. Safe in two schedulers: the job's claim makes a second
    run a no-op."""
    cutoff = (now or timezone.now()) - SWEEP_GRACE
    ids = list(
        OutgoingEmail.objects.filter(
            status=EmailStatus.QUEUED, attempts__lt=MAX_ATTEMPTS, next_attempt_at__lte=cutoff
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    enqueue_send(ids)
    return {"emails": len(ids)} if ids else {}


# --- the sender settings -------------------------------------------------------------------


@transaction.atomic
def sender_settings_save(*, actor: ScopedUser, data: dict[str, Any]) -> SenderSettings:
    """Save ``actor``'s own sender (name, address, default). Raises ``ValidationFailed``
    naming ``from_name``, ``from_address`` or ``default_sender``."""
    errors: dict[str, list[str]] = {}
    name = str(data.get("from_name") or "").strip()
    raw_address = str(data.get("from_address") or "").strip()
    default = str(data.get("default_sender") or SenderChoice.COMPANY)
    if has_line_break(name) or len(name) > NAME_MAX:
        errors["from_name"] = [_("One line of at most %(n)d characters.") % {"n": NAME_MAX}]
    address = ""
    if has_line_break(raw_address):
        errors["from_address"] = [_("An address may not contain a line break.")]
    elif raw_address:
        try:
            address = normalize_email(raw_address)
        except ValueError as error:
            errors["from_address"] = [str(error)]
    if default not in SenderChoice.values:
        errors["default_sender"] = [_("Choose the sender.")]
    elif default == SenderChoice.OWN and not raw_address:
        errors["from_address"] = [_("Give your address to send from it by default.")]
    if errors:
        raise ValidationFailed(_("Check the sender settings."), field_errors=errors)
    row, _created = SenderSettings.objects.update_or_create(
        user_id=actor.pk,
        defaults={"from_name": name, "from_address": address, "default_sender": default},
    )
    return row
