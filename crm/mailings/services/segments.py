"""Writes of segments, consent and unsubscribes.

Segments: create, change and delete, within ``permissions.SEGMENT``. Consent: set a
contact's opt-in (moment and source) and the unsubscribe state of its addresses, by a
user who may change the contact, with a field-change entry on its timeline. Unsubscribe:
the public one-click path, by a signed token only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.activities.choices import EntryKind
from crm.activities.services import timeline_record, timeline_record_changes
from crm.core.errors import ValidationFailed
from crm.core.permissions import ScopedUser
from crm.core.policies import CHANGE
from crm.core.text import without_controls
from crm.customers.choices import ConsentSource, ContactPointKind
from crm.customers.models import Contact, ContactPoint
from crm.customers.services.records import customer_check_writable
from crm.mailings.models import Segment
from crm.mailings.permissions import SEGMENT, may_share
from crm.mailings.spec import spec_clean
from crm.mailings.unsubscribe import unsubscribe_point

NAME_MAX = 200


def _clean_name(name: Any) -> str:
    text = without_controls(name).strip() if isinstance(name, str) else ""
    if not text or len(text) > NAME_MAX:
        raise ValidationFailed(
            _("Please correct the marked fields."),
            field_errors={
                "name": [_("Enter a name of at most %(max)d characters.") % {"max": NAME_MAX}]
            },
        )
    return text


def _check_sharing(actor: ScopedUser, is_shared: bool) -> None:
    if is_shared and not may_share(actor):
        raise ValidationFailed(
            _("Please correct the marked fields."),
            field_errors={
                "is_shared": [_("Only an administrator or a head of sales may share a segment.")]
            },
        )


@transaction.atomic
def segment_create(*, actor: ScopedUser, name: Any, spec: Any, is_shared: bool = False) -> Segment:
    """Save a new segment of ``actor``: the name and the validated filters (422 naming
    each bad one); shared only by an administrator or a head of sales."""
    SEGMENT.check(actor, CHANGE)
    clean_name = _clean_name(name)
    clean_spec = spec_clean(spec)
    _check_sharing(actor, is_shared)
    return Segment.objects.create(
        name=clean_name, owner_id=actor.pk, is_shared=is_shared, spec=clean_spec.as_json()
    )


@transaction.atomic
def segment_update(
    *,
    actor: ScopedUser,
    segment: Segment,
    name: Any = None,
    spec: Any = None,
    is_shared: bool | None = None,
) -> Segment:
    """Change a segment's name, filters or sharing (what is not ``None``); the same rules
    as ``segment_create``, and only a segment ``actor`` may change."""
    SEGMENT.check(actor, CHANGE, segment)
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    if name is not None:
        segment.name = _clean_name(name)
    if spec is not None:
        segment.spec = spec_clean(spec).as_json()
    if is_shared is not None and is_shared != segment.is_shared:
        _check_sharing(actor, is_shared)
        segment.is_shared = is_shared
    segment.save()
    return segment


@transaction.atomic
def segment_delete(*, actor: ScopedUser, segment: Segment) -> None:
    """Delete a segment ``actor`` may change."""
    SEGMENT.check(actor, CHANGE, segment)
    Segment.objects.filter(pk=segment.pk).delete()


def _consent_display(moment: dt.datetime | None, source: str) -> str:
    if moment is None:
        return ""
    shown = f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
    label = dict(ConsentSource.choices).get(source, source)
    return f"{shown} ({label})" if label else shown


@transaction.atomic
def contact_consent_set(
    *,
    actor: ScopedUser,
    contact: Contact,
    consent_at: dt.datetime | None,
    consent_source: str = "",
    unsubscribed: set[int] | None = None,
) -> Contact:
    """Record a contact's consent to mailings and which of its addresses are unsubscribed.

    ``consent_at`` ``None`` withdraws the consent (the source is then cleared); a consent
    needs a source (one of ``ConsentSource``) and a moment not in the future.
    ``unsubscribed``: the ids of the contact's e-mail points that are unsubscribed (others
    subscribed again); ``None`` leaves them. Each change is on the contact's timeline.
    """
    customer_check_writable(actor=actor, record=contact)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    errors: dict[str, list[str]] = {}
    if consent_at is None:
        consent_source = ""
    else:
        if consent_source not in ConsentSource.values:
            errors["consent_source"] = [_("Choose where the consent came from.")]
        if consent_at > timezone.now() + dt.timedelta(minutes=5):
            errors["consent_at"] = [_("The consent cannot be given in the future.")]
    emails = list(
        ContactPoint.objects.filter(contact=contact, kind=ContactPointKind.EMAIL).order_by(
            "position", "id"
        )
    )
    if unsubscribed is not None and not unsubscribed <= {point.pk for point in emails}:
        errors["unsubscribed"] = [_("Only the contact's own e-mail addresses.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    changes: list[dict[str, Any]] = []
    before = _consent_display(contact.consent_at, contact.consent_source)
    after = _consent_display(consent_at, consent_source)
    if (contact.consent_at, contact.consent_source) != (consent_at, consent_source):
        Contact.objects.filter(pk=contact.pk).update(
            consent_at=consent_at, consent_source=consent_source
        )
        changes.append(
            {
                "field": "consent_at",
                "label": gettext_noop("Consent to mailings"),
                "old": before,
                "new": after,
            }
        )
    now = timezone.now()
    for point in emails:
        wanted = unsubscribed is not None and point.pk in unsubscribed
        if unsubscribed is None or wanted == (point.unsubscribed_at is not None):
            continue
        ContactPoint.objects.filter(pk=point.pk).update(unsubscribed_at=now if wanted else None)
        changes.append(
            {
                "field": "unsubscribed_at",
                "label": gettext_noop("Unsubscribed from mailings"),
                "old": "" if wanted else point.value,
                "new": point.value if wanted else "",
            }
        )
    timeline_record_changes(subject=contact, author=actor, changes=changes)
    return Contact.objects.get(pk=contact.pk)


@transaction.atomic
def contact_point_unsubscribe(*, token: str) -> ContactPoint | None:
    """Unsubscribe the address a one-click token names, at once; ``None`` for a bad token
    or an address that is gone.

    Idempotent: the address is marked by a conditional ``UPDATE``, so a repeated or
    concurrent request changes nothing and writes no second timeline entry.
    """
    point = unsubscribe_point(token)
    if point is None:
        return None
    now = timezone.now()
    marked = ContactPoint.objects.filter(pk=point.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=now
    )
    if marked:
        contact = Contact.objects.get(pk=point.contact_id or 0)
        timeline_record(
            subject=contact,
            kind=EntryKind.SYSTEM,
            title=gettext_noop("Unsubscribed from mailings"),
            body=point.value,
            data={"address": point.value, "via": "one-click"},
        )
        point.unsubscribed_at = now
    else:
        point.refresh_from_db(fields=["unsubscribed_at"])
    return point
