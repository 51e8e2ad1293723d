"""Merging two contacts (or two companies) into one, and undoing a merge.

The *survivor* keeps its id; the *merged* record is kept (for undo) with ``merged_into``
set, which hides it everywhere (querysets use ``.live()``). For each field the caller
chooses whose value survives; lists (phones, e-mails, messengers, addresses, tags, places of
work, shared-with users) are unioned. Everything needed to undo is stored in a
``MergeRecord``: the survivor's values before the merge and the ids of every row moved.

Rows of other apps pointing at a contact or company (the timeline, tasks, deals) follow
through the merge movers declared for the ``contact`` and ``company`` kinds in the registry
(``crm.core.records.MergeMover``): ``move(model, from_id, to_id)`` re-points the rows of one
record to another inside the merge transaction and returns the moved ids;
``move_back(model, ids, to_id)`` re-points exactly those rows on undo.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import SecurityEvent, User
from crm.accounts.services import security_event_record
from crm.activities.choices import EntryKind
from crm.activities.services import timeline_record
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.models import field_verbose_name
from crm.core.permissions import Role, ScopedUser, can_write, sees_everything
from crm.core.records import registry
from crm.core.text import fold
from crm.customers import kinds as customer_kinds  # a module: the kinds name these services
from crm.customers.choices import ContactPointKind, DuplicateStatus, Entity
from crm.customers.models import (
    Address,
    Company,
    Contact,
    ContactPoint,
    CustomField,
    DuplicatePair,
    Employment,
    MatchKey,
    MergeRecord,
)
from crm.customers.permissions import CUSTOMER
from crm.customers.services.cleaning import contact_name_problems
from crm.customers.services.records import (
    Customer,
    _name_words,
    _search_text,
    _store_match_keys,
    customer_check_writable,
)
from crm.customers.services.touch import clients_touch_recompute

SURVIVOR, MERGED = "survivor", "merged"
REQUIRED_FIELDS = {"legal_name"}  # a contact's name: ``contact_name_problems``

CustomerModel = type[Contact] | type[Company]


# --- field values ---------------------------------------------------------------------------------


def _owner_field(record: Customer | CustomerModel) -> str:
    model = record if isinstance(record, type) else type(record)
    return "contact" if model is Contact else "company"


def _fields(record: Customer) -> tuple[str, ...]:
    return (*customer_kinds.kind_of(record).fields, "owner")


def _attname(name: str) -> str:
    return "owner_id" if name == "owner" else name


def _value(record: Customer, name: str) -> Any:
    if name.startswith("custom."):
        return (record.custom or {}).get(name.split(".", 1)[1])
    return getattr(record, _attname(name))


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _to_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _from_json(name: str, value: Any) -> Any:
    if name == "birthday" and value:
        return dt.date.fromisoformat(value)
    return value


def field_names(survivor: Customer, merged: Customer) -> list[str]:
    """Every choosable field of the two records: model fields then ``custom.<key>``."""
    keys = sorted(set(survivor.custom or {}) | set(merged.custom or {}))
    return [*_fields(survivor), *(f"custom.{key}" for key in keys)]


def default_choice(survivor: Customer, merged: Customer, name: str) -> str:
    """The non-empty value; the survivor's when both are filled (or both empty)."""
    if _is_empty(_value(survivor, name)) and not _is_empty(_value(merged, name)):
        return MERGED
    return SURVIVOR


def field_label(record: Customer | CustomerModel, name: str, custom_labels: dict[str, str]) -> str:
    model = record if isinstance(record, type) else type(record)
    if name == "owner":
        return str(_("Responsible"))
    if name.startswith("custom."):
        key = name.split(".", 1)[1]
        return custom_labels.get(key, key)
    return field_verbose_name(model, name).capitalize()


def field_display(record: Customer, name: str) -> str:
    """A value as the merge page and the timeline show it."""
    value = _value(record, name)
    if _is_empty(value):
        return ""
    if name == "owner":
        return str(record.owner)
    if name.startswith("custom."):
        if isinstance(value, bool):
            return str(_("Yes") if value else _("No"))
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    getter = getattr(record, f"get_{name}_display", None)
    if getter is not None:
        return str(getter())
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def custom_labels_for(entity: str) -> dict[str, str]:
    return dict(CustomField.objects.filter(entity=entity).values_list("key", "label"))


def _resolve_choices(
    survivor: Customer, merged: Customer, choices: dict[str, str]
) -> dict[str, str]:
    names = field_names(survivor, merged)
    errors: dict[str, list[str]] = {}
    for name, side in choices.items():
        if name not in names:
            errors[name] = [_("Unknown field.")]
        elif side not in (SURVIVOR, MERGED):
            errors[name] = [_("Choose whose value to keep.")]
    if errors:
        raise ValidationFailed(_("Check the chosen values."), field_errors=errors)
    return {name: choices.get(name) or default_choice(survivor, merged, name) for name in names}


# --- derived data ------------------------------------------------------------------------------


def _rebuild_derived(record: Customer) -> None:
    """Recompute the search text and the name blocking keys from the stored rows."""
    emails = list(
        ContactPoint.objects.filter(
            **{_owner_field(record): record}, kind=ContactPointKind.EMAIL
        ).values_list("value", flat=True)
    )
    record.search_text = _search_text(record, emails)
    record.name_words = _name_words(record)
    type(record).objects.filter(pk=record.pk).update(
        search_text=record.search_text, name_words=record.name_words
    )
    _store_match_keys(record)


# --- moving rows -------------------------------------------------------------------------------


def _move_points(survivor: Customer, merged: Customer) -> dict[str, list[Any]]:
    owner = _owner_field(survivor)
    kept = list(ContactPoint.objects.filter(**{owner: survivor}))
    have = {(point.kind, point.value) for point in kept}
    kept_by_value = {(point.kind, point.value): point for point in kept}
    unsubscribed: list[ContactPoint] = []
    primary_kinds = {point.kind for point in kept if point.is_primary}
    position = max((point.position for point in kept), default=-1) + 1
    moved, deleted, to_update, to_delete = [], [], [], []
    for point in ContactPoint.objects.filter(**{owner: merged}).order_by("position", "id"):
        if (point.kind, point.value) in have:
            deleted.append(
                {
                    "kind": point.kind,
                    "value": point.value,
                    "label": point.label,
                    "messenger": point.messenger,
                    "digits_reversed": point.digits_reversed,
                    "is_primary": point.is_primary,
                    "position": point.position,
                    "unsubscribed_at": (
                        point.unsubscribed_at.isoformat() if point.unsubscribed_at else None
                    ),
                }
            )
            to_delete.append(point.pk)
            # An address unsubscribed on either record stays unsubscribed (undo keeps it).
            twin = kept_by_value.get((point.kind, point.value))
            if point.unsubscribed_at and twin is not None and twin.unsubscribed_at is None:
                twin.unsubscribed_at = point.unsubscribed_at
                unsubscribed.append(twin)
            continue
        moved.append({"id": point.pk, "position": point.position, "is_primary": point.is_primary})
        have.add((point.kind, point.value))
        setattr(point, owner, survivor)
        point.position = position
        point.is_primary = point.kind not in primary_kinds
        primary_kinds.add(point.kind)
        position += 1
        to_update.append(point)
    ContactPoint.objects.filter(pk__in=to_delete).delete()
    ContactPoint.objects.bulk_update(to_update, [owner, "position", "is_primary"])
    if unsubscribed:
        ContactPoint.objects.bulk_update(unsubscribed, ["unsubscribed_at"])
    return {"moved": moved, "deleted": deleted}


def _move_addresses(survivor: Customer, merged: Customer) -> dict[str, list[Any]]:
    owner = _owner_field(survivor)
    have = {
        (kind, fold(text))
        for kind, text in Address.objects.filter(**{owner: survivor}).values_list("kind", "text")
    }
    moved, deleted = [], []
    for address in Address.objects.filter(**{owner: merged}):
        key = (address.kind, fold(address.text))
        if key in have:
            deleted.append({"id": address.pk, "kind": address.kind, "text": address.text})
        else:
            have.add(key)
            moved.append(address.pk)
    Address.objects.filter(pk__in=[row["id"] for row in deleted]).delete()
    Address.objects.filter(pk__in=moved).update(**{owner: survivor})
    return {"moved": moved, "deleted": deleted}


def _employment_row(employment: Employment) -> dict[str, Any]:
    return {
        "id": employment.pk,
        "contact_id": employment.contact_id,
        "company_id": employment.company_id,
        "position": employment.position,
        "is_primary": employment.is_primary,
    }


def _move_employments(survivor: Customer, merged: Customer) -> dict[str, list[Any]]:
    """A person's places of work, or a company's people; a link the survivor already has
    is dropped (and remembered for undo)."""
    owner, other = (
        ("contact", "company") if isinstance(survivor, Contact) else ("company", "contact")
    )
    existing = list(Employment.objects.filter(**{owner: survivor}))
    linked = {getattr(employment, f"{other}_id") for employment in existing}
    has_primary = any(employment.is_primary for employment in existing)
    moved, deleted, to_update = [], [], []
    for employment in Employment.objects.filter(**{owner: merged}).order_by("id"):
        if getattr(employment, f"{other}_id") in linked:
            deleted.append(_employment_row(employment))
            continue
        moved.append(_employment_row(employment))
        setattr(employment, owner, survivor)
        if owner == "contact":
            employment.is_primary = employment.is_primary and not has_primary
            has_primary = has_primary or employment.is_primary
        to_update.append(employment)
    Employment.objects.filter(pk__in=[row["id"] for row in deleted]).delete()
    Employment.objects.bulk_update(to_update, [owner, "is_primary"])
    return {"moved": moved, "deleted": deleted}


def _union_m2m(survivor: Customer, merged: Customer, name: str) -> list[int]:
    added = sorted(
        set(getattr(merged, name).values_list("pk", flat=True))
        - set(getattr(survivor, name).values_list("pk", flat=True))
    )
    if added:
        getattr(survivor, name).add(*added)
    return added


def _pair_sides(entity: str) -> tuple[str, str]:
    return (
        ("contact_a_id", "contact_b_id")
        if entity == Entity.CONTACT
        else (
            "company_a_id",
            "company_b_id",
        )
    )


def _move_pairs(actor: ScopedUser, survivor: Customer, merged: Customer) -> list[dict[str, Any]]:
    """Re-point duplicate pairs of the merged record at the survivor; the pair of the two
    merged records, and pairs the survivor already has, become "merged"."""
    entity = survivor.entity
    side_a, side_b = _pair_sides(entity)
    pairs = list(
        DuplicatePair.objects.select_for_update().filter(
            Q(**{side_a: merged.pk}) | Q(**{side_b: merged.pk}), entity=entity
        )
    )
    taken = {
        (a, b)
        for a, b in DuplicatePair.objects.filter(
            Q(**{side_a: survivor.pk}) | Q(**{side_b: survivor.pk}), entity=entity
        ).values_list(side_a, side_b)
    }
    touched = []
    for pair in pairs:
        a, b = getattr(pair, side_a), getattr(pair, side_b)
        touched.append(
            {
                "id": pair.pk,
                "a": a,
                "b": b,
                "status": pair.status,
                "resolved_by": pair.resolved_by_id,
            }
        )
        other = b if a == merged.pk else a
        new_key = (min(other, survivor.pk), max(other, survivor.pk))
        if other == survivor.pk or new_key in taken:
            pair.status = DuplicateStatus.MERGED
            pair.resolved_by_id = actor.pk
        else:
            setattr(pair, side_a, new_key[0])
            setattr(pair, side_b, new_key[1])
            taken.add(new_key)
    DuplicatePair.objects.bulk_update(pairs, [side_a, side_b, "status", "resolved_by"])
    return touched


# --- merge ---------------------------------------------------------------------------------------


def _check_owner_choice(actor: ScopedUser, owner_id: int, current: int) -> None:
    if owner_id == current or sees_everything(actor):
        return
    if owner_id != actor.pk and owner_id not in CUSTOMER.owner_ids(actor):
        raise ValidationFailed(
            field_errors={"owner": [_("You may assign records only to yourself or your teams.")]}
        )


def _apply_choices(
    actor: ScopedUser, survivor: Customer, merged: Customer, resolved: dict[str, str]
) -> list[dict[str, str]]:
    """Copy the values chosen from the merged record; return the changes (old → new)."""
    labels = custom_labels_for(survivor.entity)
    changes = []
    custom = dict(survivor.custom or {})
    for name, side in resolved.items():
        if side != MERGED or _value(survivor, name) == _value(merged, name):
            continue
        old = field_display(survivor, name)
        if name.startswith("custom."):
            key = name.split(".", 1)[1]
            value = (merged.custom or {}).get(key)
            if _is_empty(value):
                custom.pop(key, None)
            else:
                custom[key] = value
        else:
            if name == "owner":
                _check_owner_choice(actor, merged.owner_id, survivor.owner_id)
                survivor.owner = merged.owner
            else:
                setattr(survivor, name, getattr(merged, name))
        survivor.custom = custom
        changes.append(
            {
                "field": name,
                "label": field_label(survivor, name, labels),
                "old": old,
                "new": field_display(survivor, name),
            }
        )
    survivor.custom = custom
    problems = {
        name: str(_("This field is required."))
        for name in REQUIRED_FIELDS & set(_fields(survivor))
        if not _value(survivor, name)
    }
    if isinstance(survivor, Contact):
        names = {"last_name": survivor.last_name, "first_name": survivor.first_name}
        problems.update(contact_name_problems(names))
    if problems:
        raise ValidationFailed(
            _("Check the chosen values."),
            field_errors={name: [message] for name, message in problems.items()},
        )
    return changes


def _lock_pair(survivor: Customer, merged: Customer) -> tuple[Customer, Customer]:
    model = type(survivor)
    locked = {
        record.pk: record
        for record in model.objects.select_for_update()
        .select_related("owner")
        .filter(pk__in=[survivor.pk, merged.pk])
    }
    return locked[survivor.pk], locked[merged.pk]


def _merge(
    *,
    actor: ScopedUser,
    survivor: Customer,
    merged: Customer,
    choices: dict[str, str],
    ip_address: str | None,
) -> MergeRecord:
    if type(survivor) is not type(merged):
        raise ValidationFailed(_("Only records of the same kind can be merged."))
    if survivor.pk == merged.pk:
        raise ValidationFailed(_("A record cannot be merged with itself."))
    customer_check_writable(actor=actor, record=survivor)
    customer_check_writable(actor=actor, record=merged)
    survivor, merged = _lock_pair(survivor, merged)
    resolved = _resolve_choices(survivor, merged, choices)
    before = {
        "fields": {_attname(name): _to_json(_value(survivor, name)) for name in _fields(survivor)},
        "custom": dict(survivor.custom or {}),
    }
    changes = _apply_choices(actor, survivor, merged, resolved)
    survivor.save()
    model = type(survivor)
    snapshot: dict[str, Any] = {
        "survivor": before,
        "fields_taken": [change["field"] for change in changes],
        "points": _move_points(survivor, merged),
        "addresses": _move_addresses(survivor, merged),
        "employments": _move_employments(survivor, merged),
        "tags": _union_m2m(survivor, merged, "tags"),
        "shared_with": _union_m2m(survivor, merged, "shared_with"),
        "pairs": _move_pairs(actor, survivor, merged),
        "movers": {
            mover.name: mover.move(model, merged.pk, survivor.pk)
            for mover in registry.movers(_owner_field(model))
        },
    }
    merged.merged_into = survivor
    merged.save(update_fields=["merged_into", "updated_at"])
    # The survivor took the merged record's entries and deals: its last touch is the later.
    clients_touch_recompute(model, [survivor.pk, merged.pk])
    MatchKey.objects.filter(**{_owner_field(merged): merged}).delete()
    _rebuild_derived(survivor)
    owner = _owner_field(survivor)
    merge = MergeRecord.objects.create(
        entity=survivor.entity,
        snapshot=snapshot,
        actor_id=actor.pk,
        **{f"{owner}_survivor": survivor, f"{owner}_merged": merged},
    )
    timeline_record(
        subject=survivor,
        kind=EntryKind.MERGE,
        author=actor,
        title=_("Merged with «%(name)s»") % {"name": str(merged)},
        data={
            "merge_id": merge.pk,
            "merged": {"entity": merged.entity, "id": merged.pk, "name": str(merged)},
            "fields_taken": snapshot["fields_taken"],
            "changes": changes,
        },
    )
    security_event_record(
        kind=SecurityEvent.Kind.MERGE,
        actor=actor if isinstance(actor, User) else None,
        ip_address=ip_address,
        data={
            "entity": survivor.entity,
            "merge_id": merge.pk,
            "survivor": {"id": survivor.pk, "name": str(survivor)},
            "merged": {"id": merged.pk, "name": str(merged)},
        },
    )
    return merge


@transaction.atomic
def contact_merge(
    *,
    actor: ScopedUser,
    survivor: Contact,
    merged: Contact,
    choices: dict[str, str],
    ip_address: str | None = None,
) -> MergeRecord:
    """Merge contact ``merged`` into ``survivor``.

    ``choices`` maps a field name (``last_name``, ``owner``, ``custom.<key>`` …) to
    ``"survivor"`` or ``"merged"``; a field left out takes the non-empty value, the
    survivor's when both are filled. Phones, e-mails, messengers, addresses, places of work,
    tags, shared-with users, timeline entries, duplicate pairs and the rows of every merge
    mover registered for the kind move to the survivor (exact duplicate contact details are
    dropped and remembered). Both records must be visible to and changeable by the actor. One
    transaction; returns the ``MergeRecord`` that ``merge_undo`` reverses.
    """
    return _merge(
        actor=actor, survivor=survivor, merged=merged, choices=choices, ip_address=ip_address
    )


@transaction.atomic
def company_merge(
    *,
    actor: ScopedUser,
    survivor: Company,
    merged: Company,
    choices: dict[str, str],
    ip_address: str | None = None,
) -> MergeRecord:
    """Merge company ``merged`` into ``survivor``; the people working at it move along.

    Same contract as ``contact_merge``.
    """
    return _merge(
        actor=actor, survivor=survivor, merged=merged, choices=choices, ip_address=ip_address
    )


def _visible_record(actor: ScopedUser, model: CustomerModel, pk: int) -> Customer:
    record = model.objects.visible_to(actor).filter(pk=pk).first()
    if record is None:
        raise NotFound(_("Not found."))
    return record


def customer_merge(
    *,
    actor: ScopedUser,
    entity: str,
    survivor_id: int,
    merged_id: int,
    choices: dict[str, str],
    ip_address: str | None = None,
) -> MergeRecord:
    """Merge by ids (for the views and the API); invisible records are ``NotFound``.

    Every merge is recorded in the audit log with ``ip_address`` (the view's client address).
    """
    model = _entity_model(entity)
    survivor = _visible_record(actor, model, survivor_id)
    merged = _visible_record(actor, model, merged_id)
    if isinstance(survivor, Contact):
        assert isinstance(merged, Contact)  # both are rows of ``model``
        return contact_merge(
            actor=actor, survivor=survivor, merged=merged, choices=choices, ip_address=ip_address
        )
    assert isinstance(merged, Company)
    return company_merge(
        actor=actor, survivor=survivor, merged=merged, choices=choices, ip_address=ip_address
    )


def _entity_model(entity: str) -> CustomerModel:
    if entity == Entity.CONTACT:
        return Contact
    if entity == Entity.COMPANY:
        return Company
    raise NotFound(_("Not found."))


# --- undo ----------------------------------------------------------------------------------------


def merge_records(merge: MergeRecord) -> tuple[Customer, Customer]:
    """The (survivor, merged) records of a merge."""
    records: tuple[Customer | None, Customer | None] = (
        (merge.contact_survivor, merge.contact_merged)
        if merge.entity == Entity.CONTACT
        else (merge.company_survivor, merge.company_merged)
    )
    survivor, merged = records
    assert survivor is not None and merged is not None  # the merge's entity has both
    return survivor, merged


def merge_check_undoable(*, actor: ScopedUser, merge: MergeRecord) -> None:
    """Raise unless ``actor`` may undo ``merge`` now.

    Who: the user who merged, a head of sales whose teams own the survivor, or an
    administrator (``PermissionDenied``); a survivor the actor may not see is ``NotFound``.
    When: not undone yet, and the survivor was not merged into another record since
    (``Conflict``: undo that later merge first).
    """
    survivor, _merged = merge_records(merge)
    seen = CUSTOMER.restrict(type(survivor).objects.filter(pk=survivor.pk), actor).exists()
    if not seen:
        raise NotFound(_("Not found."))
    allowed = can_write(actor) and (
        merge.actor_id == actor.pk
        or sees_everything(actor)
        or (actor.role == Role.HEAD and survivor.owner_id in CUSTOMER.owner_ids(actor))
    )
    if not allowed:
        raise PermissionDenied(
            _("Only the user who merged, their head of sales or an administrator may undo it.")
        )
    if merge.undone_at is not None:
        raise Conflict(_("This merge has already been undone."))
    if survivor.merged_into_id is not None:
        raise Conflict(
            _("«%(name)s» was merged into another record after this merge; undo that merge first.")
            % {"name": str(survivor)}
        )


def _restore_points(survivor: Customer, merged: Customer, data: dict[str, list[Any]]) -> None:
    owner = _owner_field(survivor)
    saved = {row["id"]: row for row in data["moved"]}
    points = list(ContactPoint.objects.filter(pk__in=saved, **{owner: survivor}))
    for point in points:
        setattr(point, owner, merged)
        point.position = saved[point.pk]["position"]
        point.is_primary = saved[point.pk]["is_primary"]
    ContactPoint.objects.bulk_update(points, [owner, "position", "is_primary"])
    ContactPoint.objects.bulk_create(
        [ContactPoint(**row, **{owner: merged}) for row in data["deleted"]]
    )


def _restore_addresses(survivor: Customer, merged: Customer, data: dict[str, list[Any]]) -> None:
    owner = _owner_field(survivor)
    Address.objects.filter(pk__in=data["moved"], **{owner: survivor}).update(**{owner: merged})
    Address.objects.bulk_create(
        [Address(kind=row["kind"], text=row["text"], **{owner: merged}) for row in data["deleted"]]
    )


def _restore_employments(survivor: Customer, merged: Customer, data: dict[str, list[Any]]) -> None:
    owner = _owner_field(survivor)
    saved = {row["id"]: row for row in data["moved"]}
    rows = list(Employment.objects.filter(pk__in=saved, **{owner: survivor}))
    for employment in rows:
        setattr(employment, owner, merged)
        employment.is_primary = saved[employment.pk]["is_primary"]
    Employment.objects.bulk_update(rows, [owner, "is_primary"])
    Employment.objects.bulk_create(
        [
            Employment(
                contact_id=row["contact_id"],
                company_id=row["company_id"],
                position=row["position"],
                is_primary=row["is_primary"],
            )
            for row in data["deleted"]
        ],
        ignore_conflicts=True,
    )


def _restore_pairs(entity: str, rows: list[dict[str, Any]]) -> None:
    side_a, side_b = _pair_sides(entity)
    for row in rows:
        DuplicatePair.objects.filter(pk=row["id"]).update(
            **{side_a: row["a"], side_b: row["b"]},
            status=row["status"],
            resolved_by_id=row["resolved_by"],
        )


def _restore_fields(survivor: Customer, before: dict[str, Any]) -> list[dict[str, str]]:
    labels = custom_labels_for(survivor.entity)
    old = {name: field_display(survivor, name) for name in field_names(survivor, survivor)}
    for attname, value in before["fields"].items():
        setattr(survivor, attname, _from_json(attname, value))
    survivor.custom = before["custom"]
    survivor.save()
    survivor = type(survivor).objects.select_related("owner").get(pk=survivor.pk)
    names = set(old) | set(field_names(survivor, survivor))
    changes = []
    for name in sorted(names):
        new = field_display(survivor, name)
        if old.get(name, "") != new:
            changes.append(
                {
                    "field": name,
                    "label": field_label(survivor, name, labels),
                    "old": old.get(name, ""),
                    "new": new,
                }
            )
    return changes


@transaction.atomic
def merge_undo(*, actor: ScopedUser, merge: MergeRecord) -> MergeRecord:
    """Undo ``merge``: both records come back exactly as they were before it.

    Restores the survivor's fields and custom values from the snapshot (later edits of
    those fields are overwritten, and the timeline shows it), moves every moved row back by
    its recorded id, recreates the contact details and links dropped as duplicates, clears
    ``merged_into``, rebuilds both records' search text and match keys, and records an
    entry on both timelines. See ``merge_check_undoable`` for who may and when.
    """
    merge = (
        MergeRecord.objects.select_for_update(of=("self",))
        .select_related(
            "contact_survivor__owner",
            "contact_merged",
            "company_survivor__owner",
            "company_merged",
        )
        .get(pk=merge.pk)
    )
    merge_check_undoable(actor=actor, merge=merge)
    survivor, merged = merge_records(merge)
    model = type(survivor)
    snapshot = merge.snapshot
    changes = _restore_fields(survivor, snapshot["survivor"])
    survivor = model.objects.get(pk=survivor.pk)
    _restore_points(survivor, merged, snapshot["points"])
    _restore_addresses(survivor, merged, snapshot["addresses"])
    _restore_employments(survivor, merged, snapshot["employments"])
    if snapshot["tags"]:
        survivor.tags.remove(*snapshot["tags"])
    if snapshot["shared_with"]:
        survivor.shared_with.remove(*snapshot["shared_with"])
    _restore_pairs(merge.entity, snapshot["pairs"])
    movers = {mover.name: mover for mover in registry.movers(_owner_field(model))}
    for name, ids in snapshot["movers"].items():
        if name in movers and ids:
            movers[name].move_back(model, ids, merged.pk)
    merged.merged_into = None
    merged.save(update_fields=["merged_into", "updated_at"])
    clients_touch_recompute(model, [survivor.pk, merged.pk])
    _rebuild_derived(survivor)
    _rebuild_derived(merged)
    merge.undone_at = timezone.now()
    merge.undone_by_id = actor.pk
    merge.save(update_fields=["undone_at", "undone_by"])
    timeline_record(
        subject=survivor,
        kind=EntryKind.MERGE,
        author=actor,
        title=_("Merge undone: «%(name)s» is a separate record again") % {"name": str(merged)},
        data={
            "merge_id": merge.pk,
            "undone": True,
            "merged": {"entity": merged.entity, "id": merged.pk, "name": str(merged)},
            "changes": changes,
        },
    )
    timeline_record(
        subject=merged,
        kind=EntryKind.MERGE,
        author=actor,
        title=_("Separated from «%(name)s» (merge undone)") % {"name": str(survivor)},
        data={
            "merge_id": merge.pk,
            "undone": True,
            "survivor": {"entity": survivor.entity, "id": survivor.pk, "name": str(survivor)},
        },
    )
    return merge


def merge_undo_by_id(*, actor: ScopedUser, merge_id: int) -> MergeRecord:
    """``merge_undo`` for a merge id (views, API); an unknown id is ``NotFound``."""
    merge = MergeRecord.objects.filter(pk=merge_id).first()
    if merge is None:
        raise NotFound(_("Not found."))
    return merge_undo(actor=actor, merge=merge)


# --- the merge page --------------------------------------------------------------------------------


@dataclass
class MergeFieldRow:
    """One field of the merge table: both values and which one is preselected."""

    name: str
    label: str
    first: str
    second: str
    default_id: int

    @property
    def is_same(self) -> bool:
        return self.first == self.second


@dataclass
class MergeListRow:
    """A list that is unioned (phones, tags …): both records' items."""

    label: str
    first: list[str] = field(default_factory=list)
    second: list[str] = field(default_factory=list)


@dataclass
class MergePreview:
    """What the merge page shows for two records."""

    entity: str
    first: Customer
    second: Customer
    default_survivor_id: int
    fields: list[MergeFieldRow]
    lists: list[MergeListRow]

    @property
    def records(self) -> list[Customer]:
        return [self.first, self.second]

    def choices(self, survivor_id: int) -> dict[str, str]:
        """The ``customer_merge`` choices of the fields as their rows now default, with
        ``survivor_id`` staying: ``SURVIVOR`` or ``MERGED`` for each field that differs."""
        return {
            row.name: SURVIVOR if row.default_id == survivor_id else MERGED
            for row in self.fields
            if not row.is_same
        }


def _load_for_preview(actor: ScopedUser, model: CustomerModel, pk: int) -> Customer:
    prefetch: list[Any] = [
        Prefetch("points", queryset=ContactPoint.objects.order_by("position", "id")),
        "addresses",
        "tags",
        "shared_with",
    ]
    if model is Contact:
        prefetch.append(
            Prefetch("employments", queryset=Employment.objects.select_related("company"))
        )
    else:
        prefetch.append(
            Prefetch(
                "employments",
                queryset=Employment.objects.filter(
                    contact__merged_into__isnull=True
                ).select_related("contact"),
            )
        )
    record = (
        model.objects.visible_to(actor)
        .select_related("owner")
        .prefetch_related(*prefetch)
        .filter(pk=pk)
        .first()
    )
    if record is None:
        raise NotFound(_("Not found."))
    return record


def _list_rows(record: Customer) -> list[list[str]]:
    points = list(record.points.all())
    rows = [
        [point.display for point in points if point.kind == kind]
        for kind in (ContactPointKind.PHONE, ContactPointKind.EMAIL, ContactPointKind.MESSENGER)
    ]
    rows.append([address.text for address in record.addresses.all()])
    rows.append([tag.name for tag in record.tags.all()])
    if isinstance(record, Contact):
        rows.append(
            [
                f"{e.company.display_name} ({e.position})" if e.position else e.company.display_name
                for e in record.employments.all()
            ]
        )
    else:
        rows.append([e.contact.full_name for e in record.employments.all()])
    rows.append([str(user) for user in record.shared_with.all()])
    return rows


def merge_preview(*, user: ScopedUser, entity: str, first_id: int, second_id: int) -> MergePreview:
    """The side-by-side comparison of two records for the merge page.

    Both must be visible (``NotFound``) and changeable (``PermissionDenied``) by ``user``.
    The older record is the default survivor; each field defaults to the non-empty value,
    the survivor's when both are filled.
    """
    model = _entity_model(entity)
    if first_id == second_id:
        raise NotFound(_("Not found."))
    first = _load_for_preview(user, model, first_id)
    second = _load_for_preview(user, model, second_id)
    customer_check_writable(actor=user, record=first)
    customer_check_writable(actor=user, record=second)
    survivor, merged = sorted((first, second), key=lambda r: (r.created_at, r.pk))
    labels = custom_labels_for(entity)
    rows = []
    for name in field_names(first, second):
        side = default_choice(survivor, merged, name)
        rows.append(
            MergeFieldRow(
                name=name,
                label=field_label(model, name, labels),
                first=field_display(first, name),
                second=field_display(second, name),
                default_id=(survivor if side == SURVIVOR else merged).pk,
            )
        )
    list_labels = [
        _("Phones"),
        _("E-mails"),
        _("Messengers"),
        _("Addresses"),
        _("Tags"),
        _("Places of work") if model is Contact else _("People"),
        _("Shared with"),
    ]
    lists = [
        MergeListRow(str(label), first_items, second_items)
        for label, first_items, second_items in zip(
            list_labels, _list_rows(first), _list_rows(second), strict=True
        )
    ]
    return MergePreview(
        entity=entity,
        first=first,
        second=second,
        default_survivor_id=survivor.pk,
        fields=rows,
        lists=lists,
    )


def merge_get(*, user: ScopedUser, pk: int) -> MergeRecord:
    """A merge whose survivor ``user`` may see (merged since or not); ``NotFound`` otherwise."""
    merge = (
        MergeRecord.objects.select_related(
            "actor",
            "undone_by",
            "contact_survivor__owner",
            "contact_merged",
            "company_survivor__owner",
            "company_merged",
        )
        .filter(pk=pk)
        .first()
    )
    if merge is None:
        raise NotFound(_("Not found."))
    survivor, _merged = merge_records(merge)
    if not CUSTOMER.restrict(type(survivor).objects.filter(pk=survivor.pk), user).exists():
        raise NotFound(_("Not found."))
    return merge
