"""Creating and changing contacts and companies, with the duplicate check and the history.

Every change is written in one transaction together with a timeline entry that lists each
changed field (old → new), so nothing is overwritten without a trace. Titles of system
entries are stored as English message ids (``gettext_noop``) and translated when shown, so
each reader sees their own language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.activities.choices import EntryKind
from crm.activities.services import (
    timeline_record,
    timeline_record_changes,
    timeline_record_sharing,
)
from crm.core.errors import NotFound, ValidationFailed
from crm.core.matching import MAX_KEY_LENGTH, company_block_keys, person_block_keys
from crm.core.models import field_verbose_name
from crm.core.permissions import ScopedUser
from crm.core.policies import CHANGE
from crm.core.text import search_text
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
from crm.customers.permissions import CUSTOMER
from crm.customers.services.cleaning import (
    CleanCustomer,
    PointValue,
    clean_company,
    clean_contact,
)
from crm.customers.services.duplicates import (
    DuplicateCandidate,
    DuplicateFound,
    company_duplicates_find,
    contact_duplicates_find,
)

Customer = Contact | Company


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
    if actor.role != "admin" and chosen not in CUSTOMER.owner_ids(actor) and chosen != actor.pk:
        raise ValidationFailed(
            field_errors={"owner_id": [_("You may assign records only to yourself or your teams.")]}
        )
    return chosen


# --- derived data -----------------------------------------------------------------------------


def _contact_search_text(contact: Contact, emails: list[str]) -> str:
    return search_text(contact.last_name, contact.first_name, contact.middle_name, *emails)


def _company_search_text(company: Company, emails: list[str]) -> str:
    return search_text(company.legal_name, company.short_name, company.inn, *emails)


def _store_match_keys(record: Customer) -> None:
    if isinstance(record, Contact):
        keys = person_block_keys(record.last_name, record.first_name, record.middle_name)
        MatchKey.objects.filter(contact=record).delete()
        MatchKey.objects.bulk_create(
            [MatchKey(key=key[:MAX_KEY_LENGTH], contact=record) for key in keys]
        )
    else:
        keys = company_block_keys(record.legal_name, record.short_name)
        MatchKey.objects.filter(company=record).delete()
        MatchKey.objects.bulk_create(
            [MatchKey(key=key[:MAX_KEY_LENGTH], company=record) for key in keys]
        )


def match_keys_rebuild(*, batch_size: int = 2000) -> dict[str, int]:
    """Write the name blocking keys of every live contact and company again; return how many
    records of each kind got keys.

    For operators after a change to ``core.matching`` (the data migration 0004 does the same
    once). Works in batches by primary key, each batch in its own transaction, so it may run
    on a live base and be restarted; merged records lose their keys, as in a merge.
    """
    return {
        "contact": _rebuild_keys(
            Contact, ["last_name", "first_name", "middle_name"], person_block_keys, batch_size
        ),
        "company": _rebuild_keys(
            Company, ["legal_name", "short_name"], company_block_keys, batch_size
        ),
    }


def _rebuild_keys(
    model: type[Contact] | type[Company],
    fields: list[str],
    keys_of: Callable[..., set[str]],
    batch_size: int,
) -> int:
    owner = "contact" if model is Contact else "company"
    last, done = 0, 0
    while True:
        rows = list(
            model.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "merged_into_id", *fields)[:batch_size]
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
                    for key in keys_of(*names)
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


def _sync_points(record: Customer, points: list[PointValue], kinds: set[str] | None) -> None:
    owner = {"contact": record} if isinstance(record, Contact) else {"company": record}
    existing = ContactPoint.objects.filter(**owner)
    if kinds is not None:
        existing = existing.filter(kind__in=kinds)
        points = [point for point in points if point.kind in kinds]
    existing.delete()
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
    ContactPoint.objects.bulk_create(rows)


def _sync_tags(record: Customer, names: list[str]) -> None:
    tags = []
    for name in names:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        tags.append(tag)
    record.tags.set(tags)


def _sync_addresses(record: Customer, addresses: list[tuple[str, str]]) -> None:
    owner = {"contact": record} if isinstance(record, Contact) else {"company": record}
    Address.objects.filter(**owner).delete()
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
    fields = (
        ["client_type", "last_name", "first_name", "middle_name", "birthday", "preferences"]
        if isinstance(record, Contact)
        else [
            "kind",
            "legal_name",
            "short_name",
            "legal_form",
            "inn",
            "kpp",
            "ogrn",
            "website",
            "industry",
        ]
    )
    snap: dict[str, Any] = {name: _display(record, name) for name in fields}
    snap["source"] = _display(record, "source")
    snap["notes"] = record.notes
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
    record.search_text = (
        _contact_search_text(record, emails)
        if isinstance(record, Contact)
        else _company_search_text(record, emails)
    )
    record.save()
    if points is not None:
        _sync_points(record, points, point_kinds)
    if clean.addresses is not None:
        _sync_addresses(record, clean.addresses)
    if clean.tags is not None:
        _sync_tags(record, clean.tags)
    if isinstance(record, Contact) and clean.employments is not None:
        _sync_employments(actor, record, clean.employments)
    _store_match_keys(record)


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


@transaction.atomic
def contact_create(
    *, actor: ScopedUser, data: dict[str, Any], allow_duplicate: bool = False
) -> Contact:
    """Create a contact. Raises ``DuplicateFound`` on an exact match unless allowed.

    Saving over an exact duplicate is recorded on the new contact's timeline.
    """
    customer_check_writable(actor=actor, record=None)
    clean = clean_contact(data)
    candidates = contact_duplicates_find(
        actor=actor,
        last_name=clean.fields["last_name"],
        first_name=clean.fields["first_name"],
        middle_name=clean.fields["middle_name"],
        points=_point_pairs(clean),
    )
    _refuse_exact_duplicates(candidates, allow_duplicate=allow_duplicate)
    contact = Contact(created_by_id=actor.pk)
    _save_new(actor, contact, clean, data, candidates, title=gettext_noop("Contact created"))
    return contact


@transaction.atomic
def contact_update(
    *,
    actor: ScopedUser,
    contact: Contact,
    data: dict[str, Any],
    allow_duplicate: bool = False,
    partial: bool = False,
) -> Contact:
    """Change a contact; every changed field goes on its timeline as old → new."""
    customer_check_writable(actor=actor, record=contact)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    before = _snapshot(contact)
    clean = clean_contact(
        data,
        previous_custom=contact.custom,
        partial=partial,
        client_type_default=contact.client_type,
    )
    if clean.points is not None or {"last_name", "first_name", "middle_name"} & set(clean.fields):
        names = {
            name: clean.fields.get(name, getattr(contact, name))
            for name in ("last_name", "first_name", "middle_name")
        }
        candidates = contact_duplicates_find(
            actor=actor, points=_point_pairs(clean), exclude_id=contact.pk, **names
        )
        _refuse_exact_duplicates(candidates, allow_duplicate=allow_duplicate)
        if allow_duplicate:
            _record_override(actor, contact, candidates)
    _apply(actor, contact, clean, data)
    contact = Contact.objects.get(pk=contact.pk)
    timeline_record_changes(
        subject=contact, author=actor, changes=_diff(Contact, before, _snapshot(contact))
    )
    return contact


@transaction.atomic
def company_create(
    *, actor: ScopedUser, data: dict[str, Any], allow_duplicate: bool = False
) -> Company:
    """Create a company. Raises ``DuplicateFound`` on the same ИНН (and КПП), phone or e-mail."""
    customer_check_writable(actor=actor, record=None)
    clean = clean_company(data)
    candidates = company_duplicates_find(
        actor=actor,
        legal_name=clean.fields["legal_name"],
        short_name=clean.fields["short_name"],
        inn=clean.fields["inn"],
        kpp=clean.fields["kpp"],
        points=_point_pairs(clean),
    )
    _refuse_exact_duplicates(candidates, allow_duplicate=allow_duplicate)
    company = Company(created_by_id=actor.pk)
    _save_new(actor, company, clean, data, candidates, title=gettext_noop("Company created"))
    return company


@transaction.atomic
def company_update(
    *,
    actor: ScopedUser,
    company: Company,
    data: dict[str, Any],
    allow_duplicate: bool = False,
    partial: bool = False,
) -> Company:
    """Change a company; every changed field goes on its timeline as old → new."""
    customer_check_writable(actor=actor, record=company)
    company = Company.objects.select_for_update().get(pk=company.pk)
    before = _snapshot(company)
    clean = clean_company(
        data, previous_custom=company.custom, partial=partial, kind_default=company.kind
    )
    watched = {"legal_name", "short_name", "inn", "kpp"}
    if clean.points is not None or watched & set(clean.fields):
        values = {name: clean.fields.get(name, getattr(company, name)) for name in watched}
        candidates = company_duplicates_find(
            actor=actor, points=_point_pairs(clean), exclude_id=company.pk, **values
        )
        _refuse_exact_duplicates(candidates, allow_duplicate=allow_duplicate)
        if allow_duplicate:
            _record_override(actor, company, candidates)
    _apply(actor, company, clean, data)
    company = Company.objects.get(pk=company.pk)
    timeline_record_changes(
        subject=company, author=actor, changes=_diff(Company, before, _snapshot(company))
    )
    return company


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
