"""Creating and changing contacts and companies, with the duplicate check and the history.

Every change is written in one transaction together with a timeline entry that lists each
changed field (old → new), so nothing is overwritten without a trace. Titles of system
entries are stored as English message ids (``gettext_noop``) and translated when shown, so
each reader sees their own language.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.activities.choices import EntryKind
from crm.activities.services import (
    timeline_record,
    timeline_record_changes,
    timeline_record_sharing,
)
from crm.core.errors import NotFound, ValidationFailed
from crm.core.matching import MAX_KEY_LENGTH
from crm.core.models import field_verbose_name
from crm.core.permissions import ScopedUser
from crm.core.policies import CHANGE
from crm.core.text import name_words, search_text
from crm.customers import kinds as customer_kinds  # a module: the kinds name these services
from crm.customers.choices import ContactPointKind
from crm.customers.models import (
    Address,
    Company,
    Contact,
    ContactPoint,
    Employment,
    MatchKey,
    Tag,
)
from crm.customers.permissions import CUSTOMER, owners_in_scope
from crm.customers.services.cleaning import CleanCustomer, PointValue
from crm.customers.services.duplicates import DuplicateCandidate, DuplicateFound

Customer = Contact | Company
RecordT = TypeVar("RecordT", Contact, Company)


# --- permission checks ----------------------------------------------------------------------


def customer_check_visible(*, actor: ScopedUser, record: Customer) -> None:
    """Raise ``NotFound`` unless ``actor`` may see ``record`` (invisible looks missing)."""
    model = type(record)
    if not model.objects.visible_to(actor).filter(pk=record.pk).exists():
        raise NotFound(_("Not found."))


def customer_check_writable(*, actor: ScopedUser, record: Customer | None) -> None:
    """Raise unless ``actor`` may change ``record`` (or create one when ``None``)."""
    CUSTOMER.check(actor, CHANGE)
    if record is None:
        return
    customer_check_visible(actor=actor, record=record)
    CUSTOMER.check(actor, CHANGE, record)


def resolve_owner(actor: ScopedUser, owner_id: Any, current: int | None) -> int:
    """The owner to set: defaults to the actor; others only within the actor's scope."""
    if owner_id in (None, ""):
        return current or actor.pk
    try:
        chosen = int(owner_id)
    except (TypeError, ValueError):
        raise ValidationFailed(field_errors={"owner_id": [_("Choose a user.")]}) from None
    if chosen == current:
        return chosen
    user_model = get_user_model()
    if not user_model.objects.filter(pk=chosen, is_active=True).exists():
        raise ValidationFailed(field_errors={"owner_id": [_("No such active user.")]})
    in_scope = owners_in_scope(actor)
    if in_scope is not None and chosen not in in_scope | {actor.pk}:
        raise ValidationFailed(
            field_errors={"owner_id": [_("You may assign records only to yourself or your teams.")]}
        )
    return chosen


# --- derived data -----------------------------------------------------------------------------


def _search_text(record: Customer, emails: list[str]) -> str:
    """The folded text the name search reads: the kind's search fields and the e-mails."""
    return search_text(
        *(getattr(record, name) for name in customer_kinds.kind_of(record).search_fields), *emails
    )


def _name_words(record: Customer) -> str:
    """The words of the record's name that a search of several words matches."""
    return name_words(*customer_kinds.kind_of(record).name_parts(record))


def _store_match_keys(record: Customer, *, is_new: bool = False) -> None:
    kind = customer_kinds.kind_of(record)
    keys = kind.block_keys(*(getattr(record, name) for name in kind.name_fields))
    if not is_new:
        MatchKey.objects.filter(**{kind.entity: record}).delete()
    MatchKey.objects.bulk_create(
        [MatchKey(key=key[:MAX_KEY_LENGTH], **{kind.entity: record}) for key in keys]
    )


def match_keys_rebuild(*, batch_size: int = 2000) -> dict[str, int]:
    """Write the name blocking keys of every live contact and company again; return how many
    records of each kind got keys.

    For operators after a change to ``core.matching`` (the data migration 0004 does the same
    once). Works in batches by primary key, each batch in its own transaction, so it may run
    on a live base and be restarted; merged records lose their keys, as in a merge.
    """
    return {
        entity: _rebuild_keys(kind, batch_size) for entity, kind in customer_kinds.KINDS.items()
    }


def _rebuild_keys(
    kind: customer_kinds.CustomerKind[Contact] | customer_kinds.CustomerKind[Company],
    batch_size: int,
) -> int:
    owner = kind.entity
    last, done = 0, 0
    while True:
        rows = list(
            kind.model.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "merged_into_id", *kind.name_fields)[:batch_size]
        )
        if not rows:
            return done
        top = rows[-1][0]
        live = [(pk, names) for pk, merged_into_id, *names in rows if merged_into_id is None]
        with transaction.atomic():
            MatchKey.objects.filter(**{f"{owner}_id__gt": last, f"{owner}_id__lte": top}).delete()
            MatchKey.objects.bulk_create(
                [
                    MatchKey(key=key[:MAX_KEY_LENGTH], **{f"{owner}_id": pk})
                    for pk, names in live
                    for key in kind.block_keys(*names)
                ],
                batch_size=batch_size,
            )
        done += len(live)
        last = top


def _points_display(points: list[PointValue] | list[ContactPoint]) -> dict[str, list[str]]:
    shown: dict[str, list[str]] = {}
    for point in points:
        shown.setdefault(point.kind, []).append(point.value)
    return shown


def _sync_points(
    record: Customer, points: list[PointValue], kinds: set[str] | None, *, is_new: bool
) -> None:
    owner = {record.entity: record}
    existing = ContactPoint.objects.filter(**owner)
    if kinds is not None:
        existing = existing.filter(kind__in=kinds)
        points = [point for point in points if point.kind in kinds]
    # A kept address keeps its bounce mark (``crm.correspondence``) and its unsubscription
    # from mailings (``crm.mailings``) when the list of addresses is edited.
    marks = (
        {}
        if is_new
        else {
            (kind, value): (undeliverable_at, reason, unsubscribed_at)
            for kind, value, undeliverable_at, reason, unsubscribed_at in existing.filter(
                Q(undeliverable_at__isnull=False) | Q(unsubscribed_at__isnull=False)
            ).values_list(
                "kind", "value", "undeliverable_at", "undeliverable_reason", "unsubscribed_at"
            )
        }
    )
    if not is_new:
        existing.delete()
    rows = point_rows(points, owner)
    for row in rows:
        if (row.kind, row.value) in marks:
            row.undeliverable_at, row.undeliverable_reason, row.unsubscribed_at = marks[
                (row.kind, row.value)
            ]
    if rows:
        ContactPoint.objects.bulk_create(rows)


def point_rows(
    points: Iterable[PointValue | ContactPoint], owner: dict[str, Any]
) -> list[ContactPoint]:
    """Unsaved contact point rows of ``owner`` (``{"contact": record}`` or the company's) in
    the given order, the first of each kind the primary one."""
    first_of_kind: set[str] = set()
    rows = []
    for index, point in enumerate(points):
        rows.append(
            ContactPoint(
                kind=point.kind,
                value=point.value,
                label=point.label,
                messenger=point.messenger,
                digits_reversed=point.digits_reversed,
                position=index,
                is_primary=point.kind not in first_of_kind,
                **owner,
            )
        )
        first_of_kind.add(point.kind)
    return rows


def _sync_tags(record: Customer, names: list[str], *, is_new: bool) -> None:
    if is_new and not names:
        return
    tags = []
    for name in names:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        tags.append(tag)
    record.tags.set(tags)


def _sync_addresses(record: Customer, addresses: list[tuple[str, str]], *, is_new: bool) -> None:
    owner = {record.entity: record}
    if not is_new:
        Address.objects.filter(**owner).delete()
    if addresses:
        Address.objects.bulk_create(
            [Address(kind=kind, text=text, **owner) for kind, text in addresses]
        )


def _sync_employments(
    actor: ScopedUser, contact: Contact, employments: list[tuple[int, str]]
) -> None:
    company_ids = [company_id for company_id, _position in employments]
    visible = set(
        Company.objects.visible_to(actor).filter(pk__in=company_ids).values_list("pk", flat=True)
    )
    missing = [cid for cid in company_ids if cid not in visible]
    if missing:
        raise ValidationFailed(
            field_errors={"employments": [_("Company #%(id)s not found.") % {"id": missing[0]}]}
        )
    Employment.objects.filter(contact=contact).exclude(company_id__in=company_ids).delete()
    for index, (company_id, position) in enumerate(employments):
        Employment.objects.update_or_create(
            contact=contact,
            company_id=company_id,
            defaults={"position": position, "is_primary": index == 0},
        )


# --- change tracking --------------------------------------------------------------------------


def _snapshot(record: Customer) -> dict[str, Any]:
    """The values whose change goes on the timeline, in display form."""
    snap: dict[str, Any] = {
        name: _display(record, name) for name in customer_kinds.kind_of(record).fields
    }
    snap["owner_id"] = str(record.owner) if record.owner_id else ""
    if record.pk:
        points = _points_display(list(record.points.all()))
        snap["phones"] = ", ".join(points.get(ContactPointKind.PHONE, []))
        snap["emails"] = ", ".join(points.get(ContactPointKind.EMAIL, []))
        snap["messengers"] = ", ".join(points.get(ContactPointKind.MESSENGER, []))
        snap["addresses"] = "; ".join(address.text for address in record.addresses.all())
        snap["tags"] = ", ".join(sorted(tag.name for tag in record.tags.all()))
        if isinstance(record, Contact):
            snap["employments"] = "; ".join(
                f"{e.company.display_name} ({e.position})" if e.position else e.company.display_name
                for e in record.employments.select_related("company")
            )
        for key, value in (record.custom or {}).items():
            snap[f"custom.{key}"] = (
                ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            )
    return snap


def _display(record: Customer, name: str) -> str:
    value = getattr(record, name)
    if value in (None, ""):
        return ""
    getter = getattr(record, f"get_{name}_display", None)
    return str(getter()) if getter else str(value)


def _label(model: type[Customer], name: str) -> str:
    if name.startswith("custom."):
        return name.split(".", 1)[1]
    labels = {
        "owner_id": _("Responsible"),
        "phones": _("Phones"),
        "emails": _("E-mails"),
        "messengers": _("Messengers"),
        "addresses": _("Addresses"),
        "tags": _("Tags"),
        "employments": _("Places of work"),
    }
    if name in labels:
        return str(labels[name])
    return field_verbose_name(model, name).capitalize()


def _diff(
    model: type[Customer], before: dict[str, Any], after: dict[str, Any]
) -> list[dict[str, Any]]:
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, ""), after.get(name, "")
        if old != new:
            changes.append({"field": name, "label": _label(model, name), "old": old, "new": new})
    return changes


# --- writes -----------------------------------------------------------------------------------


def _apply(actor: ScopedUser, record: Customer, clean: CleanCustomer, data: dict[str, Any]) -> None:
    """Write ``record`` and its related rows; a new record has none to delete first."""
    is_new = record.pk is None
    point_kinds = clean.fields.pop("_point_kinds", None)
    for name, value in clean.fields.items():
        setattr(record, name, value)
    if clean.custom is not None:
        record.custom = clean.custom
    if "owner_id" in data or record.owner_id is None:
        record.owner_id = resolve_owner(actor, data.get("owner_id"), record.owner_id)
    points = clean.points
    emails = (
        [p.value for p in points if p.kind == ContactPointKind.EMAIL]
        if points is not None and (point_kinds is None or ContactPointKind.EMAIL in point_kinds)
        else list(record.points.filter(kind=ContactPointKind.EMAIL).values_list("value", flat=True))
        if record.pk
        else []
    )
    record.search_text = _search_text(record, emails)
    record.name_words = _name_words(record)
    record.save()
    if points is not None:
        _sync_points(record, points, point_kinds, is_new=is_new)
    if clean.addresses is not None:
        _sync_addresses(record, clean.addresses, is_new=is_new)
    if clean.tags is not None:
        _sync_tags(record, clean.tags, is_new=is_new)
    if isinstance(record, Contact) and clean.employments is not None:
        _sync_employments(actor, record, clean.employments)
    _store_match_keys(record, is_new=is_new)


def _record_override(
    actor: ScopedUser, record: Customer, candidates: list[DuplicateCandidate]
) -> None:
    exact = [candidate for candidate in candidates if candidate.is_exact]
    if exact:
        timeline_record(
            subject=record,
            kind=EntryKind.SYSTEM,
            author=actor,
            title=gettext_noop("Saved despite a possible duplicate"),
            data={"duplicates": [candidate.as_dict() for candidate in exact]},
        )


def _refuse_exact_duplicates(
    candidates: list[DuplicateCandidate], *, allow_duplicate: bool
) -> None:
    if any(candidate.is_exact for candidate in candidates) and not allow_duplicate:
        raise DuplicateFound(candidates)


def _save_new(
    actor: ScopedUser,
    record: Customer,
    clean: CleanCustomer,
    data: dict[str, Any],
    candidates: list[DuplicateCandidate],
    *,
    title: str,
) -> None:
    """Write a new record with its "created" entry and, if it was saved over an exact
    duplicate (the caller allowed it), the entry that records that choice."""
    _apply(actor, record, clean, data)
    timeline_record(subject=record, kind=EntryKind.CREATED, author=actor, title=title)
    _record_override(actor, record, candidates)


def _point_pairs(clean: CleanCustomer) -> list[tuple[str, str]]:
    return [(point.kind, point.value) for point in clean.points or []]


def _related_values(record: Customer | None, clean: CleanCustomer) -> dict[str, Any]:
    """The duplicate finder's arguments from a contact's related rows: the addresses and
    employers given in the input (for a company, nothing)."""
    if not isinstance(record, Contact):
        return {}
    return {
        "addresses": [text for _kind, text in clean.addresses or []],
        "company_ids": [company_id for company_id, _position in clean.employments or []],
    }


@transaction.atomic
def customer_create(
    *,
    kind: customer_kinds.CustomerKind[RecordT],
    actor: ScopedUser,
    data: dict[str, Any],
    allow_duplicate: bool = False,
) -> RecordT:
    """Create a record of ``kind``. Raises ``DuplicateFound`` on an exact match (a contact's
    phone, e-mail or messenger; a company's ИНН and КПП, phone or e-mail) unless allowed.
    The record's ``duplicates_found`` holds what the check found (likely and possible
    matches, the allowed exact ones too), for the caller to show.

    Saving over an exact duplicate is recorded on the new record's timeline.
    """
    customer_check_writable(actor=actor, record=None)
    clean = kind.clean(data)
    record = kind.model(created_by_id=actor.pk)
    candidates = kind.duplicates_find(
        actor=actor,
        points=_point_pairs(clean),
        **kind.duplicate_values(clean.fields, None),
        **_related_values(record, clean),
    )
    _refuse_exact_duplicates(candidates, allow_duplicate=allow_duplicate)
    _save_new(actor, record, clean, data, candidates, title=kind.created_title)
    record.duplicates_found = candidates
    return record


@transaction.atomic
def customer_update(
    *,
    kind: customer_kinds.CustomerKind[RecordT],
    actor: ScopedUser,
    record: RecordT,
    data: dict[str, Any],
    allow_duplicate: bool = False,
    partial: bool = False,
) -> RecordT:
    """Change a record of ``kind``; every changed field goes on its timeline as old → new.

    The duplicate check runs again when the contact points or the compared fields change.
    """
    customer_check_writable(actor=actor, record=record)
    record = kind.model.objects.select_for_update().get(pk=record.pk)
    before = _snapshot(record)
    clean = kind.clean_for_update(record, data, partial=partial)
    if clean.points is not None or set(kind.duplicate_fields) & set(clean.fields):
        candidates = kind.duplicates_find(
            actor=actor,
            points=_point_pairs(clean),
            exclude_id=record.pk,
            **kind.duplicate_values(clean.fields, record),
            **_related_values(record, clean),
        )
        _refuse_exact_duplicates(candidates, allow_duplicate=allow_duplicate)
        if allow_duplicate:
            _record_override(actor, record, candidates)
    _apply(actor, record, clean, data)
    record = kind.model.objects.get(pk=record.pk)
    timeline_record_changes(
        subject=record, author=actor, changes=_diff(kind.model, before, _snapshot(record))
    )
    return record


def contact_create(*, actor: ScopedUser, data: dict[str, Any], **options: bool) -> Contact:
    """Create a contact: ``customer_create`` of the contact kind."""
    return customer_create(kind=customer_kinds.CONTACT, actor=actor, data=data, **options)


def contact_update(*, contact: Contact, **arguments: Any) -> Contact:
    """Change a contact: ``customer_update`` of the contact kind."""
    return customer_update(kind=customer_kinds.CONTACT, record=contact, **arguments)


def company_create(*, actor: ScopedUser, data: dict[str, Any], **options: bool) -> Company:
    """Create a company: ``customer_create`` of the company kind."""
    return customer_create(kind=customer_kinds.COMPANY, actor=actor, data=data, **options)


def company_update(*, company: Company, **arguments: Any) -> Company:
    """Change a company: ``customer_update`` of the company kind."""
    return customer_update(kind=customer_kinds.COMPANY, record=company, **arguments)


@transaction.atomic
def customer_share(*, actor: ScopedUser, record: Customer, user_ids: list[int]) -> Customer:
    """Set who else sees ``record``; the change goes on its timeline."""
    customer_check_writable(actor=actor, record=record)
    user_model = get_user_model()
    users = list(user_model.objects.filter(pk__in=user_ids, is_active=True))
    if len(users) != len(set(user_ids)):
        raise ValidationFailed(field_errors={"shared_with": [_("No such active user.")]})
    before = list(record.shared_with.all())
    record.shared_with.set(users)
    timeline_record_sharing(subject=record, author=actor, before=before, after=users)
    return record
