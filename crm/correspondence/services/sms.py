"""Writing an SMS from a record's card (or many, for a mailing) and sending it in the
background through the configured gateway (``crm.correspondence.sms``).

``sms_send`` checks everything before it writes (a gateway is configured, the number is one
of the record's, the text is not empty, has no control characters, fits the parts limit,
its placeholders can be filled), then in one transaction stores the ``SmsMessage`` and an
"sms" entry on the record's timeline and its client's, and enqueues ``sms_send_job`` on
commit. ``sms_deliver`` (the job) claims the row (queued → sending, with a lease), hands
it to the gateway and records the outcome: accepted (``sent``, with the provider's id), a
refusal (``failed`` with the reason at once), or a passing failure (retried with back-off;
``failed`` after ``MAX_ATTEMPTS``). Delivery reports come from the provider's callback
(``sms_callback``) and from polling (``sms_poll``); both go through ``sms_status_apply``,
which only moves a status forward.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.activities.choices import CallDirection, EntryKind
from crm.activities.models import TimelineEntry
from crm.activities.services import timeline_record
from crm.core.errors import ValidationFailed
from crm.core.normalize import format_phone, normalize_phone
from crm.core.permissions import ScopedUser
from crm.core.policies import CHANGE
from crm.correspondence.choices import SmsStatus
from crm.correspondence.models import EmailTemplate, SmsMessage
from crm.correspondence.selectors import phone_choices, record_for_mail, templates_for
from crm.correspondence.services.placeholders import client_of
from crm.correspondence.services.sending import retry_delay
from crm.correspondence.services.templates import email_render
from crm.correspondence.sms import gateway_get
from crm.correspondence.sms.gateway import Gateway, GatewayRefused, GatewayUnavailable, StatusReport
from crm.correspondence.sms.text import sms_length
from crm.customers.models import Company, Contact

logger = logging.getLogger("crm.correspondence")

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=5)  # far longer than one HTTP request may take
SWEEP_GRACE = timedelta(minutes=2)
SWEEP_BATCH = 500
POLL_EVERY = timedelta(minutes=5)  # a message's status is asked at most this often
POLL_FOR = timedelta(days=3)  # after that a message without a final status stays "sent"
POLL_BATCH = 500
SENDER_MAX = 11  # an alphanumeric sender name: at most 11 characters
TEXT_MAX = 2000
# Control characters other than the line feed (a browser's CR LF is made LF first).
_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_FORWARD: dict[str, tuple[str, ...]] = {
    SmsStatus.DELIVERED: (SmsStatus.QUEUED, SmsStatus.SENDING, SmsStatus.SENT),
    SmsStatus.FAILED: (SmsStatus.QUEUED, SmsStatus.SENDING, SmsStatus.SENT),
}


class SmsNotConfigured(ValidationFailed):
    """No SMS gateway is configured: nothing can be sent (503, no field named)."""

    status_code = 503


@dataclass(frozen=True)
class SmsItem:
    """One SMS of a batch (``sms_send_many``): the record it is written from (a contact,
    company, lead or deal), the number (any form; it is normalised) and the final text."""

    record: Any
    phone: str
    text: str
    template_id: int | None = None


def sms_configured() -> bool:
    """Whether an SMS gateway is configured (a provider and its key)."""
    return gateway_get() is not None


def _gateway() -> Gateway:
    gateway = gateway_get()
    if gateway is None:
        raise SmsNotConfigured(
            _("SMS cannot be sent: no SMS provider is configured. Ask the administrator.")
        )
    return gateway


def sms_text_check(text: str) -> tuple[str, list[str]]:
    """``text`` with CR LF made LF and the outer blanks trimmed, and what is wrong with it
    (empty, a control character, more parts than ``CRM_SMS_MAX_PARTS``)."""
    cleaned = text.replace("\r\n", "\n").strip()
    if _CONTROLS.search(cleaned):
        return cleaned, [_("The text may not contain control characters.")]
    if not cleaned:
        return cleaned, [_("Write the text.")]
    length = sms_length(cleaned)
    limit = settings.CRM_SMS_MAX_PARTS
    if length.parts > limit or len(cleaned) > TEXT_MAX:
        return cleaned, [
            _("The text takes %(parts)d SMS; at most %(limit)d are allowed.")
            % {"parts": length.parts, "limit": limit}
        ]
    return cleaned, []


def _sender() -> str:
    return settings.CRM_SMS_SENDER[:SENDER_MAX]


def _phone(raw: str, record: Any, errors: dict[str, list[str]]) -> str:
    """The number as E.164 if it is one of ``record``'s; the reason in ``errors`` else."""
    text = str(raw or "")
    if _CONTROLS.search(text) or "\n" in text:
        errors["phone"] = [_("A phone number may not contain control characters.")]
        return ""
    if not text.strip():
        errors["phone"] = [_("Choose the phone number.")]
        return ""
    try:
        phone = normalize_phone(text)
    except ValueError as error:
        errors["phone"] = [str(error)]
        return ""
    if phone not in {choice.phone for choice in phone_choices(record)}:
        errors["phone"] = [_("Choose one of the client's numbers on the card.")]
        return ""
    return phone


def _timeline_subjects(record: Any) -> list[Any]:
    if isinstance(record, Contact | Company):
        return [record]
    client = client_of(record)
    return [record, client] if client is not None else [record]


def _store(
    *, author: Any, kind: str, record: Any, phone: str, text: str, template: Any, provider: str
) -> SmsMessage:
    """The row and its timeline entries (inside the caller's transaction)."""
    client = client_of(record) if not isinstance(record, Contact | Company) else record
    sms = SmsMessage.objects.create(
        record_kind=kind,
        record_id=record.pk,
        contact=client if isinstance(client, Contact) else None,
        company=client if isinstance(client, Company) else None,
        author_id=getattr(author, "pk", None),
        template=template,
        phone=phone,
        text=text,
        parts=sms_length(text).parts,
        sender=_sender(),
        provider=provider,
    )
    data = {
        "direction": CallDirection.OUTGOING,
        "to": phone,
        "to_shown": format_phone(phone),
        "sms_id": sms.pk,
        "parts": sms.parts,
        "delivery": sms.status,
    }
    sms.entry_ids = [
        timeline_record(
            subject=subject,
            kind=EntryKind.SMS,
            author=author,
            title=_("SMS to %(phone)s") % {"phone": format_phone(phone)},
            body=text,
            data=data,
            direction=CallDirection.OUTGOING,
        ).pk
        for subject in _timeline_subjects(record)
    ]
    sms.save(update_fields=["entry_ids"])
    return sms


def sms_send(
    *,
    actor: ScopedUser,
    kind: str,
    record_id: int,
    phone: str,
    text: str,
    template_id: int | None = None,
) -> SmsMessage:
    """Write an SMS from the record ``kind``/``record_id`` to one of its client's numbers and
    queue it (see the module).

    Preconditions: ``actor`` may see the record (else ``NotFound``) and change it (else
    ``PermissionDenied``). No gateway configured: ``SmsNotConfigured`` (503). Every other
    problem is found before anything is written and raised as one ``ValidationFailed``
    naming ``phone``, ``text`` or ``template_id``. ``text`` is template text: its
    placeholders are filled from the record.
    """
    record = record_for_mail(user=actor, kind=kind, pk=record_id, action=CHANGE)
    gateway = _gateway()
    errors: dict[str, list[str]] = {}
    number = _phone(phone, record, errors)
    template: EmailTemplate | None = None
    if template_id is not None:
        template = templates_for(user=actor).filter(pk=template_id).first()
        if template is None:
            errors["template_id"] = [_("Choose one of your templates.")]
    cleaned, problems = sms_text_check(text)
    if problems:
        errors["text"] = problems
    else:
        try:
            rendered = email_render(
                actor=actor,
                record=record,
                subject="",
                body=cleaned,
                language=template.language if template else "",
            ).body
        except ValidationFailed as error:
            errors["text"] = [m for messages in error.field_errors.values() for m in messages]
        else:
            if rendered.missing:
                names = ", ".join(f"{{{{ {missing} }}}}" for missing in rendered.missing)
                errors["text"] = [
                    _("Placeholders that cannot be filled: %(names)s. Fill in the record or "
                      "remove them.") % {"names": names}
                ]  # fmt: skip
            else:
                cleaned, problems = sms_text_check(rendered.text)
                if problems:
                    errors["text"] = problems
    if errors:
        raise ValidationFailed(_("Check the SMS."), field_errors=errors)
    with transaction.atomic():
        sms = _store(
            author=actor,
            kind=kind,
            record=record,
            phone=number,
            text=cleaned,
            template=template,
            provider=gateway.name,
        )
        sms_id = sms.pk
        transaction.on_commit(lambda: enqueue_send([sms_id]))
    return sms


def sms_send_many(*, author: Any, kind: str, items: list[SmsItem]) -> list[SmsMessage]:
    """Queue one SMS per item, all from records of ``kind``, with their timeline entries —
    for a mailing, whose caller has chosen the records and checked who may send.

    Every item is checked first (its number one of its record's, its text as in
    ``sms_send`` but already final: no placeholders are filled); any problem raises one
    ``ValidationFailed`` naming ``items[<i>].phone`` or ``items[<i>].text`` and nothing is
    written. ``SmsNotConfigured`` without a gateway. The jobs are enqueued on commit.
    """
    gateway = _gateway()
    errors: dict[str, list[str]] = {}
    checked: list[tuple[Any, str, str, int | None]] = []
    for index, item in enumerate(items):
        item_errors: dict[str, list[str]] = {}
        number = _phone(item.phone, item.record, item_errors)
        text, problems = sms_text_check(item.text)
        if problems:
            item_errors["text"] = problems
        for name, messages in item_errors.items():
            errors[f"items[{index}].{name}"] = messages
        checked.append((item.record, number, text, item.template_id))
    if errors:
        raise ValidationFailed(_("Check the SMS."), field_errors=errors)
    with transaction.atomic():
        templates = {
            t.pk: t for t in EmailTemplate.objects.filter(pk__in={c[3] for c in checked if c[3]})
        }
        rows = [
            _store(
                author=author,
                kind=kind,
                record=record,
                phone=number,
                text=text,
                template=templates.get(template_id or 0),
                provider=gateway.name,
            )
            for record, number, text, template_id in checked
        ]
        ids = [row.pk for row in rows]
        transaction.on_commit(lambda: enqueue_send(ids))
    return rows


def enqueue_send(ids: list[int], run_after: datetime | None = None) -> None:
    """Enqueue ``sms_send_job`` per id. A failure is logged, not raised: the row keeps its
    schedule and the sweep enqueues it again."""
    from crm.correspondence.jobs import sms_send_job  # the job imports this module

    job = sms_send_job
    if run_after is not None:
        if not job.get_backend().supports_defer:
            return  # a backend that cannot wait: left to the sweep
        job = job.using(run_after=run_after)
    for sms_id in ids:
        try:
            job.enqueue(sms_id)
        except Exception:
            logger.exception("enqueue_failed job=sms_send id=%s", sms_id)


def _entries_show(sms: SmsMessage, state: str, error: str = "") -> None:
    """Show ``state`` (and, for a failure, its reason) on the SMS's timeline entries
    (their ``data["delivery"]`` and ``data["error"]``)."""
    if not sms.entry_ids:
        return
    entries = list(TimelineEntry.objects.filter(pk__in=sms.entry_ids))
    for entry in entries:
        entry.data = {**entry.data, "delivery": state}
        if error:
            entry.data["error"] = error[:500]
    TimelineEntry.objects.bulk_update(entries, ["data"])


def sms_deliver(*, sms_id: int, gateway: Gateway | None = None) -> str:
    """Hand one queued SMS to the gateway, unless it is sent, being sent or not due.

    The claim is one conditional UPDATE (queued, attempts left, due → sending, the attempt
    counted, a lease in ``next_attempt_at``): of two workers running the same job one
    matches. A worker that dies mid-send leaves a lease that the sweep takes back. Answers
    "sent", "retry", "failed" or "skipped" (also when no gateway is configured: the row
    waits for one).
    """
    gateway = gateway or gateway_get()
    if gateway is None:
        return "skipped"
    now = timezone.now()
    claimed = SmsMessage.objects.filter(
        pk=sms_id, status=SmsStatus.QUEUED, attempts__lt=MAX_ATTEMPTS, next_attempt_at__lte=now
    ).update(status=SmsStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    if not claimed:
        return "skipped"
    sms = SmsMessage.objects.get(pk=sms_id)
    try:
        accepted = gateway.send(phone=sms.phone, text=sms.text, sender=sms.sender)
    except GatewayRefused as error:
        return _give_up(sms, error.reason)
    except GatewayUnavailable as error:
        return _retry(sms, error.reason)
    except Exception as error:  # an adapter's bug must not leave the row "sending"
        logger.exception("sms_gateway_error id=%s", sms.pk)
        return _retry(sms, type(error).__name__)
    with transaction.atomic():
        moved = SmsMessage.objects.filter(pk=sms_id, status=SmsStatus.SENDING).update(
            status=SmsStatus.SENT,
            provider_id=accepted.provider_id,
            cost=accepted.cost,
            sent_at=timezone.now(),
            last_error="",
        )
        if moved:
            _entries_show(sms, SmsStatus.SENT)
    return "sent"


def _give_up(sms: SmsMessage, reason: str) -> str:
    with transaction.atomic():
        moved = SmsMessage.objects.filter(pk=sms.pk, status=SmsStatus.SENDING).update(
            status=SmsStatus.FAILED, last_error=reason[:500]
        )
        if moved:  # not when the sweep took the row back meanwhile
            _entries_show(sms, SmsStatus.FAILED, reason)
    logger.warning("sms_failed id=%s attempts=%s error=%s", sms.pk, sms.attempts, reason)
    return "failed"


def _retry(sms: SmsMessage, reason: str) -> str:
    if sms.attempts >= MAX_ATTEMPTS:
        return _give_up(sms, reason)
    retry_at = timezone.now() + retry_delay(sms.attempts)
    SmsMessage.objects.filter(pk=sms.pk, status=SmsStatus.SENDING).update(
        status=SmsStatus.QUEUED, last_error=reason[:500], next_attempt_at=retry_at
    )
    logger.warning("sms_retry id=%s attempts=%s error=%s", sms.pk, sms.attempts, reason)
    enqueue_send([sms.pk], run_after=retry_at)
    return "retry"


def sms_status_apply(*, provider: str, reports: list[StatusReport]) -> int:
    """Record delivery reports of ``provider``'s messages; answers how many changed.

    A status only moves forward (to delivered or failed; a final one stays), so a repeated
    or late report changes nothing (one conditional UPDATE per report); an unknown id is
    skipped. A "still on its way" report changes nothing. The cost, when given, is kept.
    """
    changed = 0
    for report in reports:
        if report.state not in (SmsStatus.DELIVERED, SmsStatus.FAILED):
            continue
        rows = SmsMessage.objects.filter(
            provider=provider, provider_id=report.provider_id, status__in=_FORWARD[report.state]
        )
        fields: dict[str, Any] = {"status": report.state, "checked_at": timezone.now()}
        if report.state == SmsStatus.DELIVERED:
            fields["delivered_at"] = report.at or timezone.now()
        else:
            fields["last_error"] = (
                f"{report.code}: {report.text}" if report.text else report.code
            )[:500]
        if report.cost is not None:
            fields["cost"] = report.cost
        with transaction.atomic():
            targets = list(rows.only("pk", "entry_ids"))
            if not targets:
                continue
            moved = rows.filter(pk__in=[t.pk for t in targets]).update(**fields)
            if moved:
                for sms in targets:
                    _entries_show(sms, report.state, fields.get("last_error", ""))
            changed += moved
    return changed


def sms_callback(*, token: str, form: Mapping[str, list[str]]) -> str | None:
    """A delivery callback: the answer the provider expects, or None when ``token`` is not
    the configured one (or none is, or no gateway is): the caller answers 404."""
    expected = settings.CRM_SMS_CALLBACK_TOKEN
    gateway = gateway_get()
    if not expected or gateway is None:
        return None
    if not hmac.compare_digest(token.encode(), expected.encode()):
        return None
    reports = gateway.parse_callback(form)
    changed = sms_status_apply(provider=gateway.name, reports=reports)
    logger.info("sms_callback reports=%s changed=%s", len(reports), changed)
    return gateway.callback_answer


def sms_poll(*, now: datetime | None = None, gateway: Gateway | None = None) -> dict[str, int]:
    """Ask the gateway for the status of sent messages without a final one: sent within
    ``POLL_FOR``, not asked for ``POLL_EVERY``. Answers how many were asked and changed.
    Safe in two schedulers: applying a report twice changes nothing."""
    gateway = gateway or gateway_get()
    if gateway is None:
        return {}
    now = now or timezone.now()
    rows = list(
        SmsMessage.objects.filter(
            provider=gateway.name,
            status=SmsStatus.SENT,
            sent_at__gte=now - POLL_FOR,
        )
        .exclude(provider_id="")
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lte=now - POLL_EVERY))
        .order_by("sent_at")
        .values_list("pk", "provider_id")[:POLL_BATCH]
    )
    if not rows:
        return {}
    SmsMessage.objects.filter(pk__in=[pk for pk, _id in rows]).update(checked_at=now)
    try:
        reports = gateway.statuses([provider_id for _pk, provider_id in rows])
    except (GatewayUnavailable, GatewayRefused) as error:
        logger.warning("sms_poll_failed error=%s", error.reason)
        return {"asked": len(rows), "changed": 0}
    return {"asked": len(rows), "changed": sms_status_apply(provider=gateway.name, reports=reports)}


def sms_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Take back the SMS a dead worker left ``sending`` past its lease (queued again) and
    enqueue the queued ones whose job was lost (attempts left, due more than
    ``SWEEP_GRACE`` ago). At most ``SWEEP_BATCH`` a run. Safe in two schedulers: the job's
    claim makes a second run a no-op. Without a gateway it does nothing (the messages wait
    for one; their jobs would only skip)."""
    if gateway_get() is None:
        return {}
    cutoff = (now or timezone.now()) - SWEEP_GRACE
    stuck = SmsMessage.objects.filter(status=SmsStatus.SENDING, next_attempt_at__lte=cutoff)
    # A worker that died after the gateway took the message may make it go twice, as for
    # e-mail; a message that never left would otherwise stay "sending" for ever.
    taken_back = stuck.update(status=SmsStatus.QUEUED)
    failed_ids = list(
        SmsMessage.objects.filter(status=SmsStatus.QUEUED, attempts__gte=MAX_ATTEMPTS).values_list(
            "pk", flat=True
        )[:SWEEP_BATCH]
    )
    for sms in SmsMessage.objects.filter(pk__in=failed_ids):
        _give_up_queued(sms)
    ids = list(
        SmsMessage.objects.filter(
            status=SmsStatus.QUEUED, attempts__lt=MAX_ATTEMPTS, next_attempt_at__lte=cutoff
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    enqueue_send(ids)
    result = {"sms": len(ids)} if ids else {}
    if taken_back:
        result["sms_taken_back"] = taken_back
    return result


def _give_up_queued(sms: SmsMessage) -> None:
    """A message taken back after its last attempt: failed, not tried a sixth time."""
    reason = (sms.last_error or _("The sending was interrupted."))[:500]
    with transaction.atomic():
        moved = SmsMessage.objects.filter(pk=sms.pk, status=SmsStatus.QUEUED).update(
            status=SmsStatus.FAILED, last_error=reason
        )
        if moved:
            _entries_show(sms, SmsStatus.FAILED, reason)
