"""Reads of the correspondence app, each scoped to what the user may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from crm.activities.models import Attachment, TimelineEntry
from crm.core.errors import NotFound
from crm.core.normalize import format_phone
from crm.core.permissions import ScopedUser
from crm.core.policies import CHANGE, VIEW
from crm.core.records import RecordKind, registry
from crm.correspondence.models import EmailTemplate, OutgoingEmail, SenderSettings, SmsMessage
from crm.customers.choices import ContactPointKind
from crm.customers.models import Company, Contact, ContactPoint
from crm.leads.models import Lead
from crm.sales.models import Deal

MAIL_KINDS = ("contact", "company", "lead", "deal")
"""The kinds of record an e-mail may be written from."""

_CLIENT_PREFETCH = ("points", "employments__company")
_RELATED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "contact": ((), _CLIENT_PREFETCH),
    "company": ((), ("points",)),
    "deal": (
        ("contact", "company", "stage", "owner"),
        ("contact__points", "contact__employments__company", "company__points"),
    ),
    "lead": (
        ("contact", "company", "owner"),
        ("contact__points", "contact__employments__company", "company__points"),
    ),
}


def mail_kind(key: str) -> RecordKind:
    """The registered kind ``key`` an e-mail may be written from; ``NotFound`` otherwise."""
    if key not in MAIL_KINDS:
        raise NotFound(_("Not found."))
    return registry.kind(key)


def record_for_mail(*, user: ScopedUser, kind: str, pk: int, action: str = VIEW) -> Any:
    """The record of ``kind`` with what the placeholders and addresses read joined, if
    ``user`` may see it (``VIEW``) or change it (``CHANGE``); ``NotFound`` otherwise (a
    record one may see but not change is refused by the caller, not hidden)."""
    record_kind = mail_kind(kind)
    related, prefetch = _RELATED[kind]
    record = (
        record_kind.visible_to(user)
        .select_related(*related)
        .prefetch_related(*prefetch)
        .filter(pk=pk)
        .first()
    )
    if record is None:
        raise NotFound(_("Not found."))
    if action == CHANGE:
        record_kind.policy.check(user, CHANGE, record)
    return record


def clients_of(record: Any) -> list[Contact | Company]:
    """The clients whose addresses an e-mail from ``record`` is offered: the record itself,
    or the contact and company of a deal or lead."""
    if isinstance(record, Contact | Company):
        return [record]
    return [client for client in (record.contact, record.company) if client is not None]


@dataclass(frozen=True)
class AddressChoice:
    """An e-mail address of the record's client, with a bounce's mark if it has one."""

    address: str
    owner: str
    label: str
    undeliverable_at: datetime | None = None
    undeliverable_reason: str = ""


def address_choices(record: Any) -> list[AddressChoice]:
    """The client's e-mail addresses (prefetched points; a lead's own address too), each
    once, in card order."""
    found: dict[str, AddressChoice] = {}
    for client in clients_of(record):
        for point in client.points.all():
            if point.kind == ContactPointKind.EMAIL and point.value not in found:
                found[point.value] = AddressChoice(
                    point.value,
                    str(client),
                    point.get_label_display(),
                    point.undeliverable_at,
                    point.undeliverable_reason,
                )
    if isinstance(record, Lead) and record.email and record.email not in found:
        found[record.email] = AddressChoice(record.email, record.name or record.title, "")
    return list(found.values())


def undeliverable_addresses(addresses: list[str]) -> dict[str, ContactPoint]:
    """Of ``addresses`` (normalised), those a bounce marked, with the point that says why."""
    if not addresses:
        return {}
    points = ContactPoint.objects.filter(
        kind=ContactPointKind.EMAIL, value__in=addresses, undeliverable_at__isnull=False
    ).order_by("-undeliverable_at")
    marked: dict[str, ContactPoint] = {}
    for point in points:
        marked.setdefault(point.value, point)
    return marked


def attachment_choices(record: Any) -> list[Attachment]:
    """The files an e-mail from ``record`` may carry: the files on its timeline and, for a
    deal, the DOCX and PDF of the documents generated for it (two queries)."""
    entries = TimelineEntry.objects.filter(
        subject_type=ContentType.objects.get_for_model(type(record)),
        subject_id=record.pk,
        attachment__isnull=False,
    ).values("attachment_id")
    condition = Q(pk__in=entries)
    if isinstance(record, Deal):
        documents = record.documents.all()
        condition |= Q(pk__in=documents.values("pdf_id")) | Q(pk__in=documents.values("docx_id"))
    return list(Attachment.objects.filter(condition).order_by("-uploaded_at", "-id")[:100])


def templates_for(*, user: ScopedUser, archived: bool = False) -> QuerySet[EmailTemplate]:
    """The templates ``user`` may use and see: the shared ones and their own (live ones, or
    with ``archived`` the archived ones too), shared first, by name."""
    rows = EmailTemplate.objects.filter(Q(owner__isnull=True) | Q(owner_id=user.pk))
    if not archived:
        rows = rows.filter(archived=False)
    return rows.order_by(F("owner_id").asc(nulls_first=True), "name", "id")


def template_get(*, user: ScopedUser, pk: int) -> EmailTemplate:
    """A template ``user`` sees (shared or theirs); ``NotFound`` otherwise."""
    template = templates_for(user=user, archived=True).filter(pk=pk).first()
    if template is None:
        raise NotFound(_("Not found."))
    return template


def sender_settings_get(*, user: ScopedUser) -> SenderSettings:
    """The user's sender settings; an unsaved empty row when they never saved any."""
    return SenderSettings.objects.filter(user_id=user.pk).first() or SenderSettings(user_id=user.pk)


def email_get(*, user: ScopedUser, pk: int) -> OutgoingEmail:
    """An e-mail written from a record ``user`` may see; ``NotFound`` otherwise."""
    email = OutgoingEmail.objects.filter(pk=pk).prefetch_related("attachments").first()
    if email is None or email.record_kind not in MAIL_KINDS:
        raise NotFound(_("Not found."))
    if not mail_kind(email.record_kind).visible_to(user).filter(pk=email.record_id).exists():
        raise NotFound(_("Not found."))
    return email


@dataclass(frozen=True)
class PhoneChoice:
    """A phone number (E.164) of the record's client, as the card shows it."""

    phone: str
    shown: str
    owner: str
    label: str


def phone_choices(record: Any) -> list[PhoneChoice]:
    """The client's phone numbers an SMS may go to (prefetched points; a lead's own checked
    number too), each once, in card order."""
    found: dict[str, PhoneChoice] = {}
    for client in clients_of(record):
        for point in client.points.all():
            if point.kind == ContactPointKind.PHONE and point.value not in found:
                found[point.value] = PhoneChoice(
                    point.value, format_phone(point.value), str(client), point.get_label_display()
                )
    if isinstance(record, Lead) and record.phone and record.phone not in found:
        found[record.phone] = PhoneChoice(
            record.phone, format_phone(record.phone), record.name or record.title, ""
        )
    return list(found.values())


def sms_for_record(*, user: ScopedUser, kind: str, pk: int) -> QuerySet[SmsMessage]:
    """The SMS written from a record ``user`` may see, newest first; ``NotFound`` otherwise."""
    record_kind = mail_kind(kind)
    if not record_kind.visible_to(user).filter(pk=pk).exists():
        raise NotFound(_("Not found."))
    return SmsMessage.objects.filter(record_kind=kind, record_id=pk).order_by("-created_at", "-id")


def sms_get(*, user: ScopedUser, pk: int) -> SmsMessage:
    """An SMS written from a record ``user`` may see; ``NotFound`` otherwise."""
    sms = SmsMessage.objects.filter(pk=pk).first()
    if sms is None or sms.record_kind not in MAIL_KINDS:
        raise NotFound(_("Not found."))
    if not mail_kind(sms.record_kind).visible_to(user).filter(pk=sms.record_id).exists():
        raise NotFound(_("Not found."))
    return sms
