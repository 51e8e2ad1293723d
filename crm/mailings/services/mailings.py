"""A mailing's life: written as a draft, started (the recipient list is materialised and
what goes out is frozen), paused, resumed, cancelled.

Every service checks the role's permission (``permissions.MAILING``) and that the actor sees
the mailing (``NotFound`` otherwise); a refused call changes nothing. Starting a mailing to
more than ``CRM_MAILING_CONFIRM_OVER`` recipients needs ``confirm``; the refusal names
``confirm`` and gives the count.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.permissions import ScopedUser
from crm.core.text import without_controls
from crm.correspondence.choices import SenderChoice
from crm.correspondence.selectors import templates_for
from crm.correspondence.services.sending import new_message_id, sender_for
from crm.customers.choices import ContactPointKind
from crm.customers.models import ContactPoint
from crm.mailings.choices import MailingState, RecipientState, SkipReason
from crm.mailings.models import Mailing, MailingRecipient, Segment
from crm.mailings.permissions import MAILING
from crm.mailings.selectors import segment_contacts, segment_count, segment_get
from crm.mailings.spec import spec_clean

NAME_MAX = 200
RATE_MAX = 100_000
MATERIALISE_CHUNK = 2000


def _clean(
    actor: ScopedUser,
    *,
    name: Any,
    segment_id: Any,
    template_id: Any,
    sender: Any,
    send_at: dt.datetime | None,
    rate_per_minute: Any,
) -> dict[str, Any]:
    """The checked fields of a mailing; ``ValidationFailed`` naming every bad one. A
    segment the actor does not see is ``NotFound``."""
    errors: dict[str, list[str]] = {}
    text = without_controls(name).strip() if isinstance(name, str) else ""
    if not text or len(text) > NAME_MAX:
        errors["name"] = [_("Enter a name of at most %(max)d characters.") % {"max": NAME_MAX}]
    segment: Segment | None = None
    if not isinstance(segment_id, int):
        errors["segment_id"] = [_("Choose a segment.")]
    else:
        segment = segment_get(user=actor, pk=segment_id)  # hidden: 404
    template = None
    if isinstance(template_id, int):
        template = templates_for(user=actor).filter(pk=template_id).first()
    if template is None:
        errors["template_id"] = [_("Choose one of your templates.")]
    if sender not in SenderChoice.values:
        errors["sender"] = [_("Choose the sender.")]
    else:
        try:
            sender_for(actor=actor, choice=str(sender))
        except ValidationFailed as error:
            errors.update(error.field_errors)
    if send_at is not None and send_at < timezone.now() - dt.timedelta(minutes=1):
        errors["send_at"] = [_("This moment has passed; leave it empty to send at once.")]
    rate = rate_per_minute if rate_per_minute is not None else settings.CRM_MAILING_RATE_PER_MINUTE
    if not isinstance(rate, int) or isinstance(rate, bool) or not 1 <= rate <= RATE_MAX:
        errors["rate_per_minute"] = [_("A whole number from 1 to %(max)d.") % {"max": RATE_MAX}]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return {
        "name": text,
        "segment": segment,
        "template": template,
        "sender": sender,
        "send_at": send_at,
        "rate_per_minute": rate,
    }


@transaction.atomic
def mailing_create(
    *,
    actor: ScopedUser,
    name: Any,
    segment_id: Any,
    template_id: Any,
    sender: Any = SenderChoice.COMPANY,
    send_at: dt.datetime | None = None,
    rate_per_minute: Any = None,
) -> Mailing:
    """Write a draft mailing of ``actor``: a segment and a template they see, a sender
    they may use, when (``send_at`` empty: as soon as it starts) and the rate (default
    ``CRM_MAILING_RATE_PER_MINUTE``). 403 for a role without the permission, 404 for a
    hidden segment, 422 naming the fields."""
    MAILING.check(actor)
    fields = _clean(
        actor,
        name=name,
        segment_id=segment_id,
        template_id=template_id,
        sender=sender,
        send_at=send_at,
        rate_per_minute=rate_per_minute,
    )
    return Mailing.objects.create(**fields, created_by_id=actor.pk)


def _locked(actor: ScopedUser, mailing: Mailing) -> Mailing:
    """The mailing row, locked, if ``actor`` may run it; 403/404 otherwise."""
    MAILING.check(actor)
    row = MAILING.restrict(Mailing.objects.all(), actor).select_for_update().filter(pk=mailing.pk)
    found = row.first()
    if found is None:
        raise NotFound(_("Not found."))
    return found


def _refuse_state(mailing: Mailing) -> Conflict:
    return Conflict(
        _("The mailing is %(state)s; this cannot be done now.")
        % {"state": mailing.get_state_display().lower()}
    )


def _recipient_rows(mailing: Mailing, actor: Any) -> int:
    """Materialise the recipients: every e-mail of the segment's contacts (within the
    author's scope now), one row per address; unsubscribed and undeliverable addresses
    are rows too, skipped with the reason. Inserted in chunks (``ignore_conflicts`` keeps
    the first contact of a shared address). Answers the number of rows."""
    assert mailing.segment is not None
    spec = spec_clean(mailing.segment.spec)
    contacts = segment_contacts(user=actor, spec=spec).order_by().values("pk")
    points = (
        ContactPoint.objects.filter(kind=ContactPointKind.EMAIL, contact_id__in=contacts)
        .order_by("contact_id", "position", "id")
        .values_list("id", "contact_id", "value", "unsubscribed_at", "undeliverable_at")
    )
    chunk: list[MailingRecipient] = []
    for point_id, contact_id, value, unsubscribed_at, undeliverable_at in points.iterator(
        chunk_size=MATERIALISE_CHUNK
    ):
        reason = ""
        if unsubscribed_at is not None:
            reason = SkipReason.UNSUBSCRIBED
        elif undeliverable_at is not None:
            reason = SkipReason.UNDELIVERABLE
        chunk.append(
            MailingRecipient(
                mailing=mailing,
                contact_id=contact_id,
                point_id=point_id,
                address=value.lower(),
                state=RecipientState.SKIPPED if reason else RecipientState.QUEUED,
                reason=reason,
                message_id=new_message_id(mailing.from_address),
            )
        )
        if len(chunk) >= MATERIALISE_CHUNK:
            MailingRecipient.objects.bulk_create(chunk, ignore_conflicts=True)
            chunk = []
    if chunk:
        MailingRecipient.objects.bulk_create(chunk, ignore_conflicts=True)
    return MailingRecipient.objects.filter(mailing=mailing).count()


def mailing_start(*, actor: ScopedUser, mailing: Mailing, confirm: bool = False) -> Mailing:
    """Start a draft: freeze the template's subject and text, the sender and the recipient
    list, then send at once (``sending``, the job enqueued on commit) or at ``send_at``
    (``scheduled``, the sweep starts it).

    Refusals change nothing: 409 for a mailing that is not a draft; 422 naming
    ``segment_id``/``template_id`` when they are gone or ``sender`` when it is unusable;
    422 naming ``confirm`` (with the count) for more than ``CRM_MAILING_CONFIRM_OVER``
    recipients without ``confirm``.
    """
    with transaction.atomic():
        mailing = _locked(actor, mailing)
        if mailing.state != MailingState.DRAFT:
            raise _refuse_state(mailing)
        errors: dict[str, list[str]] = {}
        segment = (
            Segment.objects.filter(pk=mailing.segment_id).first() if mailing.segment_id else None
        )
        template = (
            templates_for(user=actor).filter(pk=mailing.template_id).first()
            if mailing.template_id
            else None
        )
        if segment is None:
            errors["segment_id"] = [_("The segment is gone; choose another.")]
        if template is None:
            errors["template_id"] = [_("The template is gone; choose another.")]
        try:
            from_name, from_address = sender_for(actor=actor, choice=mailing.sender)
        except ValidationFailed as error:
            errors.update(error.field_errors)
            from_name = from_address = ""
        if errors:
            raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
        assert segment is not None and template is not None
        spec = spec_clean(segment.spec)
        count = segment_count(user=actor, spec=spec).recipients
        if count > settings.CRM_MAILING_CONFIRM_OVER and not confirm:
            raise ValidationFailed(
                _("Confirm the mailing."),
                field_errors={
                    "confirm": [
                        _(
                            "This mailing goes to %(count)d clients (more than %(limit)d): "
                            "confirm to start it."
                        )
                        % {"count": count, "limit": settings.CRM_MAILING_CONFIRM_OVER}
                    ]
                },
            )
        now = timezone.now()
        mailing.subject = template.subject
        mailing.body = template.body
        mailing.language = template.language
        mailing.from_name, mailing.from_address = from_name, from_address
        mailing.reply_to = settings.CRM_MAIL_REPLY_TO
        mailing.requires_consent = spec.consent is True
        mailing.segment = segment
        mailing.total = _recipient_rows(mailing, actor)
        mailing.started_at = now
        mailing.state = (
            MailingState.SCHEDULED
            if mailing.send_at is not None and mailing.send_at > now
            else MailingState.SENDING
        )
        mailing.save()
        if mailing.state == MailingState.SENDING:
            mailing_id = mailing.pk
            transaction.on_commit(lambda: _enqueue(mailing_id))
    return mailing


def _enqueue(mailing_id: int) -> None:
    from crm.mailings.services.delivery import enqueue_batch

    enqueue_batch(mailing_id)


def mailing_pause(*, actor: ScopedUser, mailing: Mailing) -> Mailing:
    """Stop a sending (or scheduled) mailing; the batch in flight finishes, no other
    starts. 409 in another state."""
    with transaction.atomic():
        mailing = _locked(actor, mailing)
        if not mailing.is_active:
            raise _refuse_state(mailing)
        mailing.state = MailingState.PAUSED
        mailing.save(update_fields=["state"])
    return mailing


def mailing_resume(*, actor: ScopedUser, mailing: Mailing) -> Mailing:
    """Go on with a paused mailing (the job enqueued on commit). 409 in another state."""
    with transaction.atomic():
        mailing = _locked(actor, mailing)
        if mailing.state != MailingState.PAUSED:
            raise _refuse_state(mailing)
        mailing.state = MailingState.SENDING
        mailing.save(update_fields=["state"])
        mailing_id = mailing.pk
        transaction.on_commit(lambda: _enqueue(mailing_id))
    return mailing


def mailing_cancel(*, actor: ScopedUser, mailing: Mailing) -> Mailing:
    """Stop a mailing for good: its queued recipients are skipped (``cancelled``); what
    was sent stays in the report. 409 for a mailing that is done or cancelled."""
    with transaction.atomic():
        mailing = _locked(actor, mailing)
        if mailing.state in (MailingState.DONE, MailingState.CANCELLED):
            raise _refuse_state(mailing)
        MailingRecipient.objects.filter(mailing=mailing, state=RecipientState.QUEUED).update(
            state=RecipientState.SKIPPED, reason=SkipReason.CANCELLED
        )
        mailing.state = MailingState.CANCELLED
        mailing.finished_at = timezone.now()
        mailing.save(update_fields=["state", "finished_at"])
    return mailing
