"""Importing contacts and companies: the customer base's ``Importer`` contributions.

A batch of mapped rows is cleaned with the same cleaners as the forms and the API
(``cleaning.clean_contact`` / ``clean_company``: the phones, e-mails and ИНН normalised as
everywhere), matched with the product's own duplicate finder (``match_batch``) and written
in bulk: the records, their contact points, addresses, tags, employers, name blocking keys
and one timeline entry each, a few statements per batch. A row that matches a record
already there follows the import's policy; updates go through ``customer_update`` (its
checks and field-change history), one per row, as they are the exception.

Everything runs in the caller's transaction (the import's batch), so the batch's records,
its journal and its counters commit together.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models.deletion import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.activities.choices import EntryKind
from crm.activities.models import TimelineEntry
from crm.activities.services import timeline_bulk_record, timeline_entry_build
from crm.core.cells import parse_bool_cell, parse_date_cell
from crm.core.errors import DomainError, ValidationFailed
from crm.core.matching import MAX_KEY_LENGTH
from crm.core.names import split_full_name
from crm.core.normalize import normalize_email, normalize_phone
from crm.core.person_match import LIKELY
from crm.core.policies import CHANGE
from crm.core.records import ImportBatch, ImportField, ImportOutcome, ImportRow, ImportUndo
from crm.customers import kinds as customer_kinds
from crm.customers.choices import (
    ClientType,
    ConsentSource,
    ContactPointKind,
    CustomFieldType,
    Messenger,
    Source,
)
from crm.customers.models import (
    Address,
    Company,
    Contact,
    ContactPoint,
    CustomField,
    Employment,
    MatchKey,
    Tag,
)
from crm.customers.permissions import CUSTOMER
from crm.customers.services.cleaning import (
    CleanCustomer,
    Errors,
    clean_text,
    custom_definitions_kept,
)
from crm.customers.services.duplicates import DuplicateCandidate
from crm.customers.services.import_choices import choice_of
from crm.customers.services.records import (
    _name_words,
    _search_text,
    customer_check_writable,
    customer_update,
    point_rows,
)

RecordT = TypeVar("RecordT", Contact, Company)

CREATED, UPDATED, SKIPPED, FAILED = "created", "updated", "skipped", "failed"
SKIP, FILL, OVERWRITE, CREATE = "skip", "fill", "overwrite", "create"

_SPLIT = re.compile(r"[;\n,]+")
_INN = re.compile(r"^\d{10}(\d{2})?$")
_MESSENGER_LINKS = {
    "t.me/": Messenger.TELEGRAM,
    "telegram": Messenger.TELEGRAM,
    "wa.me/": Messenger.WHATSAPP,
    "whatsapp": Messenger.WHATSAPP,
    "vk.com/": Messenger.VK,
    "viber": Messenger.VIBER,
    "skype": Messenger.SKYPE,
}


# --- fields ---------------------------------------------------------------------------------


def _custom_fields(entity: str) -> list[ImportField]:
    return [
        ImportField(
            f"custom.{definition.key}",
            definition.label,
            multiple=definition.field_type == CustomFieldType.MULTI_CHOICE,
            help=definition.help_text,
        )
        for definition in CustomField.objects.filter(entity=entity, is_active=True).order_by(
            "position", "pk"
        )
    ]


def contact_import_fields() -> list[ImportField]:
    """What a column of a contacts file may fill (the keys of ``import_fields``)."""
    return [
        ImportField("full_name", gettext_lazy("Full name"), help=gettext_lazy("Split into parts")),
        ImportField("last_name", gettext_lazy("Last name")),
        ImportField("first_name", gettext_lazy("First name")),
        ImportField("middle_name", gettext_lazy("Patronymic")),
        ImportField("phone", gettext_lazy("Phone"), multiple=True),
        ImportField("email", gettext_lazy("E-mail"), multiple=True),
        ImportField("messenger", gettext_lazy("Messenger"), multiple=True),
        ImportField("birthday", gettext_lazy("Birthday")),
        ImportField(
            "consent",
            gettext_lazy("Consent to mailings"),
            help=gettext_lazy("The date it was given, or yes; new clients only"),
        ),
        ImportField(
            "unsubscribed",
            gettext_lazy("Unsubscribed"),
            help=gettext_lazy("Yes for all the row's e-mails, or the addresses; new clients only"),
        ),
        ImportField("address", gettext_lazy("Address"), multiple=True),
        ImportField(
            "company",
            gettext_lazy("Company"),
            help=gettext_lazy("Its name or ИНН; a company not found by name is created"),
        ),
        ImportField("company_inn", gettext_lazy("Company ИНН")),
        ImportField("position", gettext_lazy("Position")),
        ImportField("client_type", gettext_lazy("Client type")),
        ImportField("tags", gettext_lazy("Tags")),
        ImportField("source", gettext_lazy("Source")),
        ImportField("notes", gettext_lazy("Notes")),
        ImportField("owner", gettext_lazy("Responsible")),
        *_custom_fields("contact"),
    ]


def company_import_fields() -> list[ImportField]:
    """What a column of a companies file may fill."""
    return [
        ImportField("name", gettext_lazy("Name"), required=True),
        ImportField("short_name", gettext_lazy("Short name")),
        ImportField("inn", gettext_lazy("ИНН")),
        ImportField("kpp", gettext_lazy("КПП")),
        ImportField("ogrn", gettext_lazy("ОГРН")),
        ImportField("phone", gettext_lazy("Phone"), multiple=True),
        ImportField("email", gettext_lazy("E-mail"), multiple=True),
        ImportField("website", gettext_lazy("Website")),
        ImportField("address", gettext_lazy("Address"), multiple=True),
        ImportField("industry", gettext_lazy("Industry")),
        ImportField("tags", gettext_lazy("Tags")),
        ImportField("source", gettext_lazy("Source")),
        ImportField("notes", gettext_lazy("Notes")),
        ImportField("owner", gettext_lazy("Responsible")),
        *_custom_fields("company"),
    ]


# --- rows into the cleaners' input ----------------------------------------------------------


def _first(values: dict[str, list[str]], key: str) -> str:
    cells = values.get(key) or []
    return cells[0] if cells else ""


def _many(values: dict[str, list[str]], key: str) -> list[str]:
    return [part.strip() for cell in values.get(key) or [] for part in _SPLIT.split(cell)]


def _choice(value: str, choices: type[models.TextChoices], name: str, remarks: list[str]) -> str:
    """A choice by its value, its label in either language or a synonym other systems use
    (``import_choices``); a value that names none leaves the field empty, with a remark."""
    if not value:
        return ""
    found = choice_of(value, choices)
    if found is None:
        remarks.append(
            _("%(field)s: “%(value)s” is not one of ours, left empty.")
            % {"field": name, "value": value[:40]}
        )
        return ""
    return found


def _messenger(handle: str) -> dict[str, str]:
    folded = handle.casefold()
    for marker, messenger in _MESSENGER_LINKS.items():
        if marker in folded:
            handle = handle.rstrip("/").rsplit("/", 1)[-1] if "/" in handle else handle
            return {"value": handle.lstrip("@"), "messenger": messenger}
    return {"value": handle, "messenger": Messenger.OTHER}


def _custom(
    values: dict[str, list[str]], definitions: dict[str, CustomField], problems: list[str]
) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    for key, cells in values.items():
        if not key.startswith("custom.") or not cells:
            continue
        name = key.split(".", 1)[1]
        definition = definitions.get(name)
        if definition is None:
            continue
        value: Any = cells[0]
        if definition.field_type == CustomFieldType.MULTI_CHOICE:
            value = [part for cell in cells for part in _SPLIT.split(cell) if part.strip()]
            value = [part.strip() for part in value]
        elif definition.field_type == CustomFieldType.DATE:
            try:
                value = parse_date_cell(value).isoformat()
            except ValueError as error:
                problems.append(f"{definition.label}: {error}")
                continue
        custom[name] = value
    return custom


def _common_data(
    values: dict[str, list[str]],
    definitions: dict[str, CustomField],
    problems: list[str],
    remarks: list[str],
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "phones": _many(values, "phone"),
        "emails": _many(values, "email"),
        "addresses": [{"text": text} for text in values.get("address") or []],
        "tags": _many(values, "tags"),
        "notes": "\n".join(values.get("notes") or []),
        "source": _choice(_first(values, "source"), Source, str(_("Source")), remarks),
    }
    custom = _custom(values, definitions, problems)
    if custom:
        data["custom"] = custom
    return data


def _contact_data(
    values: dict[str, list[str]],
    definitions: dict[str, CustomField],
    problems: list[str],
    remarks: list[str],
) -> dict[str, Any]:
    data = _common_data(values, definitions, problems, remarks)
    name = split_full_name(_first(values, "full_name"))
    for part in ("last_name", "first_name", "middle_name"):
        data[part] = _first(values, part) or getattr(name, part)
    data["messengers"] = [_messenger(handle) for handle in _many(values, "messenger")]
    birthday = _first(values, "birthday")
    if birthday:
        try:
            data["birthday"] = parse_date_cell(birthday).isoformat()
        except ValueError as error:
            problems.append(f"{_('Birthday')}: {error}")
    client_type = _first(values, "client_type")
    if client_type:
        data["client_type"] = _choice(client_type, ClientType, str(_("Client type")), remarks)
    _mailing_data(values, data, problems)
    return data


def _mailing_data(values: dict[str, list[str]], data: dict[str, Any], problems: list[str]) -> None:
    """A row's consent to mailings (``consent_at``: when, as ISO text; "yes" is now) and
    the e-mails unsubscribed from them (``unsubscribed``: addresses, ``["*"]`` for all)."""
    consent = _first(values, "consent")
    if consent:
        try:
            moment = _consent_moment(consent)
        except ValueError as error:
            problems.append(f"{_('Consent to mailings')}: {error}")
        else:
            if moment is not None:
                data["consent_at"] = moment.isoformat()
    unsubscribed = _first(values, "unsubscribed")
    if unsubscribed:
        try:
            every = parse_bool_cell(unsubscribed)
        except ValueError:
            data["unsubscribed"] = sorted(
                {normalize_email(word) for word in re.split(r"[\s,;]+", unsubscribed) if word}
            )
        else:
            if every:
                data["unsubscribed"] = ["*"]


def _consent_moment(text: str) -> dt.datetime | None:
    """When consent was given: a date (its local midnight), now for "yes", None for "no"."""
    try:
        given = parse_bool_cell(text)
    except ValueError:
        day = parse_date_cell(text)
        if day > timezone.localdate():
            raise ValueError(_("The consent cannot be given in the future.")) from None
        return dt.datetime.combine(day, dt.time.min, timezone.get_current_timezone())
    return timezone.now() if given else None


_NEW_CLIENTS_ONLY = ("consent_at", "unsubscribed")
"""Row values written on the clients an import creates, not on those it updates (consent
and unsubscribes of an existing client are changed on its card, with their own checks)."""


def _company_data(
    values: dict[str, list[str]],
    definitions: dict[str, CustomField],
    problems: list[str],
    remarks: list[str],
) -> dict[str, Any]:
    data = _common_data(values, definitions, problems, remarks)
    data["legal_name"] = _first(values, "name") or _first(values, "short_name")
    for key in ("short_name", "inn", "kpp", "ogrn", "website", "industry"):
        data[key] = _first(values, key)
    return data


def _reason(error: ValidationFailed | DomainError) -> str:
    fields = getattr(error, "field_errors", None) or {}
    if fields:
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
    return str(error.message if hasattr(error, "message") else error)


# --- matching -------------------------------------------------------------------------------


@dataclass
class Match:
    """A row's record already there: ``record_id`` in the base, or the earlier row of the
    same batch (``row``, its index) whose record it is."""

    record_id: int | None = None
    row: int | None = None
    is_visible: bool = True


@dataclass
class Prepared:
    """A row cleaned and ready to write."""

    row: ImportRow
    data: dict[str, Any]
    clean: CleanCustomer
    company_ids: list[int] = field(default_factory=list)
    position: str = ""
    possible: list[int] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    """What the row said that could not be kept (a source none of ours): told, not failed."""

    def point_pairs(self) -> list[tuple[str, str]]:
        return [(point.kind, point.value) for point in self.clean.points or []]


def _batch_keys(item: Prepared, kind: customer_kinds.CustomerKind[Any]) -> set[tuple[str, str]]:
    """What makes two rows of one batch the same record: a contact point, a company's ИНН."""
    keys = set(item.point_pairs())
    if kind is customer_kinds.COMPANY and item.clean.fields.get("inn"):
        keys.add(("inn", f"{item.clean.fields['inn']}/{item.clean.fields.get('kpp', '')}"))
    return keys


EXACT_ONLY = "exact_only"
"""The import option (``ImportFlag``) that matches rows to the base by phone, e-mail,
handle and ИНН only: the names of a large file are compared by the duplicate scan the
import queues when it ends, not row by row (the name lookup is most of an import's time)."""


def match_batch(
    *,
    actor: Any,
    kind: customer_kinds.CustomerKind[Any],
    rows: list[Prepared],
    names: bool = True,
) -> list[Match | None]:
    """For each prepared row, the record it duplicates, or None.

    A row matches an earlier row of the same batch that shares a normalised phone, e-mail,
    messenger or (companies) ИНН and КПП, then a record of the base that the product's
    matcher finds in the exact or "likely" tier — among the records sharing a contact
    point or ИНН only, unless ``names`` (``EXACT_ONLY``); "possible" matches are no match
    (the record is created and the row notes them, ``Prepared.possible``).
    """
    seen: dict[tuple[str, str], int] = {}
    matches: list[Match | None] = []
    for index, item in enumerate(rows):
        keys = _batch_keys(item, kind)
        earlier = next((seen[key] for key in keys if key in seen), None)
        for key in keys:
            seen.setdefault(key, index)
        if earlier is not None:
            matches.append(Match(row=earlier))
            continue
        candidates = _find(actor, kind, item, names=names)
        same = [c for c in candidates if c.is_exact or c.tier == LIKELY]
        item.possible = [c.record_id for c in candidates if c not in same][:5]
        matches.append(
            Match(record_id=same[0].record_id, is_visible=same[0].is_visible) if same else None
        )
    return matches


def _find(
    actor: Any, kind: customer_kinds.CustomerKind[Any], item: Prepared, *, names: bool
) -> list[DuplicateCandidate]:
    related: dict[str, Any] = {}
    if kind is customer_kinds.CONTACT:
        related = {
            "addresses": [text for _kind, text in item.clean.addresses or []],
            "company_ids": item.company_ids,
        }
    return kind.duplicates_find(
        actor=actor,
        points=item.point_pairs(),
        lookup_names=names,
        **kind.duplicate_values(item.clean.fields, None),
        **related,
    )


# --- companies named by contacts ------------------------------------------------------------


def _companies_named(
    batch: ImportBatch,
    refs: list[tuple[ImportRow, tuple[str, str]]],
    refused: dict[str, str],
) -> tuple[dict[str, int], dict[str, int], list[ImportOutcome]]:
    """The companies the rows of a contacts batch name (``(row, (name, inn))`` each), by
    ИНН and by folded name, read in one query; names not found are created with the row's
    responsible (their outcomes returned). A company that cannot be created (a bad ИНН, a
    name too long) is put in ``refused`` (folded name → why), and its rows fail."""
    inns = {inn for _row, (_name, inn) in refs if inn}
    names = spellings(name for _row, (name, _inn) in refs if name)
    by_inn: dict[str, int] = {}
    by_name: dict[str, int] = {}
    found = (
        Company.objects.live()
        .visible_to(batch.actor)
        .filter(
            models.Q(inn__in=inns) | models.Q(legal_name__in=names) | models.Q(short_name__in=names)
        )
        .order_by("pk")
        .values_list("pk", "inn", "legal_name", "short_name")
    )
    for pk, inn, legal_name, short_name in found:
        if inn:
            by_inn.setdefault(inn, pk)
        for name in (legal_name, short_name):
            if name:
                by_name.setdefault(name.casefold(), pk)
    missing: dict[str, tuple[str, ImportRow]] = {}
    for row, (name, inn) in refs:
        if name and name.casefold() not in by_name and not (inn and inn in by_inn):
            missing.setdefault(name.casefold(), (name, row))
    outcomes: list[ImportOutcome] = []
    companies: list[tuple[Company, CleanCustomer]] = []
    created_for: list[tuple[str, ImportRow]] = []
    for folded, (name, row) in missing.items():
        ref = _company_ref(row.values)
        try:
            companies.append(
                _new_record(
                    customer_kinds.COMPANY,
                    batch,
                    row.owner_id,
                    {"legal_name": name, "inn": ref[1] if ref else ""},
                )
            )
        except ValidationFailed as error:
            refused[folded] = _("Company: %(reason)s") % {"reason": _reason(error)}
            continue
        created_for.append((folded, row))
    _write_new(customer_kinds.COMPANY, batch, companies)
    for (folded, row), (company, _clean) in zip(created_for, companies, strict=True):
        by_name[folded] = company.pk
        if company.inn:
            by_inn.setdefault(company.inn, company.pk)
        outcomes.append(ImportOutcome(row.number, CREATED, "company", company.pk))
    return by_inn, by_name, outcomes


def spellings(texts: Iterable[str]) -> list[str]:
    """The ways a name is usually capitalised (as written, lower, upper, title, first letter
    capital): an ``__in`` over these finds it in any case on SQLite too, whose ``lower()``
    and ``LIKE`` fold ASCII letters only; callers compare the rows found casefolded."""
    found: set[str] = set()
    for text in texts:
        found.update({text, text.lower(), text.upper(), text.title(), text.capitalize()})
    return sorted(found)


def _company_ref(values: dict[str, list[str]]) -> tuple[str, str] | None:
    """The company a contact row names: ``(name, inn)``; a "company" cell of 10 or 12
    digits is an ИНН."""
    name = _first(values, "company").strip()
    inn = re.sub(r"\D", "", _first(values, "company_inn"))
    if _INN.match(re.sub(r"\s", "", name)):
        inn, name = inn or re.sub(r"\s", "", name), ""
    if not name and not inn:
        return None
    return name, inn


def import_clients_find(
    *, actor: Any, contacts: Iterable[str] = (), companies: Iterable[str] = ()
) -> tuple[dict[str, int], dict[str, int]]:
    """The contacts and companies ``actor`` sees that cells of another kind's file name
    (a deal's client, a task's subject): a contact by e-mail, phone (normalised as
    everywhere) or full name, a company by ИНН or name; answers ``{cell: id}`` for each
    found (the oldest record when several match). A few queries for the whole batch."""
    contact_ids: dict[str, int] = {}
    company_ids: dict[str, int] = {}
    points: dict[tuple[str, str], str] = {}
    names: dict[tuple[str, str], str] = {}
    for cell in set(filter(None, contacts)):
        try:
            if "@" in cell:
                points[(ContactPointKind.EMAIL, normalize_email(cell))] = cell
                continue
            if sum(ch.isdigit() for ch in cell) >= 7 and not any(ch.isalpha() for ch in cell):
                points[(ContactPointKind.PHONE, normalize_phone(cell))] = cell
                continue
        except ValueError:
            continue
        name = split_full_name(cell)
        names[(name.last_name.casefold(), name.first_name.casefold())] = cell
    visible = Contact.objects.live().visible_to(actor)
    if points:
        found = (
            ContactPoint.objects.filter(
                contact__in=visible, value__in=[value for _kind, value in points]
            )
            .order_by("contact_id")
            .values_list("kind", "value", "contact_id")
        )
        for kind, value, contact_id in found:
            if (kind, value) in points:
                contact_ids.setdefault(points[(kind, value)], contact_id)
    if names:
        people = (
            visible.filter(
                last_name__in=spellings(last for last, _first in names),
                first_name__in=spellings(first for _last, first in names),
            )
            .order_by("pk")
            .values_list("pk", "last_name", "first_name")
        )
        for pk, last, first in people:
            named = names.get((last.casefold(), first.casefold()))
            if named is not None:
                contact_ids.setdefault(named, pk)
    inns: dict[str, str] = {}
    folded: dict[str, str] = {}
    for cell in set(filter(None, companies)):
        ref = _company_ref({"company": [cell]})
        if ref and ref[1]:
            inns[ref[1]] = cell
        elif ref:
            folded[ref[0].casefold()] = cell
    if inns or folded:
        variants = spellings(folded.values())
        firms = (
            Company.objects.live()
            .visible_to(actor)
            .filter(
                models.Q(inn__in=list(inns))
                | models.Q(legal_name__in=variants)
                | models.Q(short_name__in=variants)
            )
            .order_by("pk")
            .values_list("pk", "inn", "legal_name", "short_name")
        )
        for pk, inn, legal, short in firms:
            for key, lookup in (
                (inn, inns),
                (legal.casefold(), folded),
                (short.casefold(), folded),
            ):
                if key and key in lookup:
                    company_ids.setdefault(lookup[key], pk)
    return contact_ids, company_ids


# --- writing --------------------------------------------------------------------------------


def _new_record(
    kind: customer_kinds.CustomerKind[RecordT],
    batch: ImportBatch,
    owner_id: int,
    data: dict[str, Any],
    clean: CleanCustomer | None = None,
) -> tuple[RecordT, CleanCustomer]:
    """An unsaved record of ``data`` (cleaned already: ``clean``)."""
    clean = clean if clean is not None else kind.clean(data)
    record = kind.model(created_by_id=batch.actor.pk, owner_id=owner_id)
    for name, value in clean.fields.items():
        setattr(record, name, value)
    if isinstance(record, Contact) and data.get("consent_at"):
        record.consent_at = dt.datetime.fromisoformat(data["consent_at"])
        record.consent_source = ConsentSource.IMPORT
    record.custom = clean.custom or {}
    emails = [p.value for p in clean.points or [] if p.kind == ContactPointKind.EMAIL]
    record.search_text = _search_text(record, emails)
    record.name_words = _name_words(record)
    return record, clean


def _write_new(
    kind: customer_kinds.CustomerKind[RecordT],
    batch: ImportBatch,
    pairs: list[tuple[RecordT, CleanCustomer]],
    employments: Iterable[tuple[int, list[int], str]] = (),
    unsubscribed: dict[int, list[str]] | None = None,
) -> None:
    """Insert new records with their points, addresses, tags, employers (``(index,
    company ids, position)``), blocking keys and "imported" timeline entries, in bulk;
    ``unsubscribed`` (index → e-mail addresses, ``"*"`` for all) marks e-mails unsubscribed
    from mailings."""
    if not pairs:
        return
    kind.model.objects.bulk_create([record for record, _clean in pairs])
    owner = kind.entity
    points: list[ContactPoint] = []
    addresses: list[Address] = []
    keys: list[MatchKey] = []
    stopped_at = timezone.now()
    for index, (record, clean) in enumerate(pairs):
        own = point_rows(clean.points or [], {owner: record})
        stops = (unsubscribed or {}).get(index, ())
        for point in own:
            if point.kind == ContactPointKind.EMAIL and ("*" in stops or point.value in stops):
                point.unsubscribed_at = stopped_at
        points += own
        addresses.extend(
            Address(kind=address_kind, text=text, **{owner: record})
            for address_kind, text in clean.addresses or []
        )
        names = (getattr(record, name) for name in kind.name_fields)
        keys.extend(
            MatchKey(key=key[:MAX_KEY_LENGTH], **{owner: record}) for key in kind.block_keys(*names)
        )
    ContactPoint.objects.bulk_create(points)
    Address.objects.bulk_create(addresses)
    MatchKey.objects.bulk_create(keys)
    _write_tags(kind, pairs)
    Employment.objects.bulk_create(
        [
            Employment(
                contact_id=pairs[index][0].pk,
                company_id=company_id,
                position=position,
                is_primary=number == 0,
            )
            for index, company_ids, position in employments
            for number, company_id in enumerate(company_ids)
        ]
    )
    timeline_bulk_record(
        entries=[
            timeline_entry_build(
                subject_model=kind.model,
                subject_id=record.pk,
                kind=EntryKind.CREATED,
                author=batch.actor,
                title=batch.note,
            )
            for record, _clean in pairs
        ]
    )


def _write_tags(
    kind: customer_kinds.CustomerKind[RecordT], pairs: list[tuple[RecordT, CleanCustomer]]
) -> None:
    wanted = {name.casefold(): name for _r, clean in pairs for name in clean.tags or []}
    if not wanted:
        return
    found = Tag.objects.filter(name__in=spellings(wanted.values()))
    tags: dict[str, Tag] = {tag.name.casefold(): tag for tag in found}
    new = [Tag(name=name) for folded, name in wanted.items() if folded not in tags]
    if new:
        Tag.objects.bulk_create(new)
        tags.update(
            (tag.name.casefold(), tag)
            for tag in Tag.objects.filter(name__in=[tag.name for tag in new])
        )
    through = kind.model.tags.through
    owner = f"{kind.entity}_id"
    through.objects.bulk_create(
        [
            through(**{owner: record.pk, "tag_id": tags[name.casefold()].pk})
            for record, clean in pairs
            for name in dict.fromkeys(clean.tags or [])
            if name.casefold() in tags
        ],
        ignore_conflicts=True,
    )


# --- updating a record already there --------------------------------------------------------

_POINT_LISTS = {
    "phones": ContactPointKind.PHONE,
    "emails": ContactPointKind.EMAIL,
    "messengers": ContactPointKind.MESSENGER,
}


def _current(record: Contact | Company, key: str) -> Any:
    """``record``'s value of input key ``key`` in the form the cleaners take it."""
    if key in _POINT_LISTS:
        points = [p for p in record.points.all() if p.kind == _POINT_LISTS[key]]
        if key == "messengers":
            return [
                {"value": p.value.split(":", 1)[-1], "messenger": p.messenger or "other"}
                for p in points
            ]
        return [p.value for p in points]
    if key == "addresses":
        return [{"text": a.text, "kind": a.kind} for a in record.addresses.all()]
    if key == "tags":
        return [tag.name for tag in record.tags.all()]
    if key == "employments":
        assert isinstance(record, Contact)
        return [
            {"company_id": e.company_id, "position": e.position}
            for e in record.employments.order_by("-is_primary", "pk")
        ]
    value = getattr(record, key)
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else value


def _is_empty(value: Any) -> bool:
    return value in (None, "", [], {})


def _changes(record: Contact | Company, data: dict[str, Any], policy: str) -> dict[str, Any]:
    """The input that applies ``data`` to ``record`` under ``policy``: ``fill`` only sets
    empty fields and adds new phones, e-mails, handles, addresses and tags; ``overwrite``
    replaces what the row gives (an empty cell never erases)."""
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if _is_empty(value):
            continue
        if key == "custom":
            current = record.custom or {}
            custom = {
                name: item
                for name, item in value.items()
                if policy == OVERWRITE or _is_empty(current.get(name))
            }
            if custom:
                changes["custom"] = custom
            continue
        present = _current(record, key)
        if isinstance(value, list):
            if policy == FILL or key in {"tags", "employments"}:
                merged = list(present) + [item for item in value if item not in present]
                if merged != present:
                    changes[key] = merged
            elif value != present:
                changes[key] = value
        elif (policy == OVERWRITE or _is_empty(present)) and value != present:
            changes[key] = value
    return changes


def _previous(record: Contact | Company, changes: dict[str, Any]) -> dict[str, Any]:
    """What ``changes`` replace, in input form, for the undo (custom keys one by one: a
    key the import added is restored as None, which removes it)."""
    previous: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "custom":
            previous["custom"] = {name: (record.custom or {}).get(name) for name in value}
        else:
            previous[key] = _current(record, key)
    return previous


def _update(
    kind: customer_kinds.CustomerKind[RecordT],
    batch: ImportBatch,
    item: Prepared,
    record_id: int,
) -> ImportOutcome:
    number = item.row.number
    record = kind.model.objects.filter(pk=record_id).first()
    if record is None:
        return ImportOutcome(number, FAILED, kind.entity, reason=_("The matched record is gone."))
    data = {key: value for key, value in item.data.items() if key not in _NEW_CLIENTS_ONLY}
    note = (
        _("Consent and unsubscribes are read for new clients only: change them on the card.")
        if len(data) < len(item.data)
        else ""
    )
    if kind is customer_kinds.CONTACT and item.company_ids:
        data["employments"] = [
            {"company_id": company_id, "position": item.position} for company_id in item.company_ids
        ]
    changes = _changes(record, data, batch.policy)
    if not changes:
        return ImportOutcome(
            number, SKIPPED, kind.entity, record_id, " ".join([_("Nothing new."), note]).strip()
        )
    previous = _previous(record, changes)
    try:
        customer_update(
            kind=kind,
            actor=batch.actor,
            record=record,
            data=changes,
            allow_duplicate=True,
            partial=True,
        )
    except (ValidationFailed, DomainError) as error:
        return ImportOutcome(number, FAILED, kind.entity, record_id, _reason(error))
    timeline_bulk_record(
        entries=[
            timeline_entry_build(
                subject_model=kind.model,
                subject_id=record_id,
                kind=EntryKind.SYSTEM,
                author=batch.actor,
                title=batch.note,
            )
        ]
    )
    return ImportOutcome(number, UPDATED, kind.entity, record_id, note, previous=previous)


# --- the load -------------------------------------------------------------------------------


def _definitions(entity: str) -> dict[str, CustomField]:
    return {d.key: d for d in CustomField.objects.filter(entity=entity, is_active=True)}


def customers_load(
    kind: customer_kinds.CustomerKind[RecordT], batch: ImportBatch
) -> list[ImportOutcome]:
    """Write one batch of contact or company rows (``Importer.load``)."""
    with custom_definitions_kept():
        return _customers_load(kind, batch)


def _customers_load(
    kind: customer_kinds.CustomerKind[RecordT], batch: ImportBatch
) -> list[ImportOutcome]:
    try:
        customer_check_writable(actor=batch.actor, record=None)
    except DomainError as error:
        return [ImportOutcome(row.number, FAILED, reason=_reason(error)) for row in batch.rows]
    definitions = _definitions(kind.entity)
    outcomes: dict[int, list[ImportOutcome]] = {row.number: [] for row in batch.rows}
    refs: list[tuple[str, str]] = []
    company_of: dict[int, tuple[str, str]] = {}
    if kind is customer_kinds.CONTACT:
        for row in batch.rows:
            ref = _company_ref(row.values)
            if ref is not None:
                refs.append(ref)
                company_of[row.number] = ref
    prepared: list[Prepared] = []
    for row in batch.rows:
        problems: list[str] = []
        remarks: list[str] = []
        to_data = _contact_data if kind is customer_kinds.CONTACT else _company_data
        data = to_data(row.values, definitions, problems, remarks)
        if problems:
            outcomes[row.number].append(
                ImportOutcome(row.number, FAILED, reason="; ".join(problems))
            )
            continue
        errors = Errors()
        position = clean_text(errors, "position", _first(row.values, "position"), max_length=150)
        try:
            errors.raise_if_any()
            clean = kind.clean(data)
        except ValidationFailed as error:
            outcomes[row.number].append(ImportOutcome(row.number, FAILED, reason=_reason(error)))
            continue
        prepared.append(Prepared(row, data, clean, position=position, remarks=remarks))
    if company_of:
        refused: dict[str, str] = {}
        by_inn, by_name, created = _companies_named(
            refused=refused,
            batch=batch,
            refs=[
                (item.row, company_of[item.row.number])
                for item in prepared
                if item.row.number in company_of
            ],
        )
        for outcome in created:
            outcomes[outcome.number].append(outcome)
        kept = []
        for item in prepared:
            ref = company_of.get(item.row.number)
            if ref is not None:
                name, inn = ref
                company_id = by_inn.get(inn) if inn else None
                company_id = company_id or (by_name.get(name.casefold()) if name else None)
                if company_id is None:
                    reason = refused.get(name.casefold()) or _("No company with ИНН %(inn)s.") % {
                        "inn": inn
                    }
                    outcomes[item.row.number].append(
                        ImportOutcome(item.row.number, FAILED, reason=reason)
                    )
                    continue
                item.company_ids = [company_id]
            kept.append(item)
        prepared = kept
    matches = match_batch(
        actor=batch.actor, kind=kind, rows=prepared, names=not batch.options.get(EXACT_ONLY)
    )
    # A row whose external id an earlier import stored matches that record, whatever the
    # matcher says (``ImportRow.record_id``).
    matches = [
        Match(record_id=item.row.record_id) if item.row.record_id is not None else match
        for item, match in zip(prepared, matches, strict=True)
    ]
    new: list[tuple[RecordT, CleanCustomer]] = []
    unsubscribed: dict[int, list[str]] = {}
    new_index: dict[int, int] = {}
    employments: list[tuple[int, list[int], str]] = []
    later: list[tuple[Prepared, Match]] = []
    for index, (item, match) in enumerate(zip(prepared, matches, strict=True)):
        if match is None or batch.policy == CREATE:
            new_index[index] = len(new)
            if item.company_ids:
                employments.append((len(new), item.company_ids, item.position))
            if item.data.get("unsubscribed"):
                unsubscribed[len(new)] = item.data["unsubscribed"]
            new.append(_new_record(kind, batch, item.row.owner_id, item.data, item.clean))
        else:
            later.append((item, match))
    _write_new(kind, batch, new, employments, unsubscribed)
    writable = _writable(
        kind, batch.actor, [m.record_id for _item, m in later if m.record_id is not None]
    )
    for index, slot in new_index.items():
        fresh: Prepared = prepared[index]
        notes = [*fresh.remarks]
        if fresh.possible:
            notes.append(
                _("Possible duplicate of %(ids)s.")
                % {"ids": ", ".join(f"#{pk}" for pk in fresh.possible)}
            )
        reason = " ".join(notes)
        outcomes[fresh.row.number].append(
            ImportOutcome(fresh.row.number, CREATED, kind.entity, new[slot][0].pk, reason)
        )
    for item, match in later:
        record_id = match.record_id
        if match.row is not None:
            record_id = _record_of_row(prepared, matches, new, new_index, match.row)
            where = _("row %(number)s") % {"number": prepared[match.row].row.number}
        else:
            where = f"#{record_id}"
        number = item.row.number
        if not match.is_visible:
            # the finder found it across the whole base: say so, without naming it
            outcomes[number].append(
                ImportOutcome(
                    number, SKIPPED, kind.entity, reason=_("Same as a record you may not see.")
                )
            )
        elif record_id is None or batch.policy == SKIP:
            outcomes[number].append(
                ImportOutcome(
                    number,
                    SKIPPED,
                    kind.entity,
                    record_id,
                    _("Same as %(where)s.") % {"where": where},
                )
            )
        elif match.row is None and record_id not in writable:
            outcomes[number].append(
                ImportOutcome(
                    number,
                    SKIPPED,
                    kind.entity,
                    reason=_("Same as a record you may not change (%(where)s).") % {"where": where},
                )
            )
        else:
            outcomes[number].append(_update(kind, batch, item, record_id))
    return [outcome for row in batch.rows for outcome in outcomes[row.number]] or []


def _record_of_row(
    prepared: list[Prepared],
    matches: list[Match | None],
    new: list[tuple[Any, CleanCustomer]],
    new_index: dict[int, int],
    row: int,
) -> int | None:
    """The record an earlier row of the batch wrote or matched."""
    if row in new_index:
        return int(new[new_index[row]][0].pk)
    match = matches[row]
    if match is None:
        return None
    if match.row is not None:
        return _record_of_row(prepared, matches, new, new_index, match.row)
    return match.record_id


def _writable(kind: customer_kinds.CustomerKind[Any], actor: Any, ids: list[int]) -> set[int]:
    """Which of the records ``ids`` ``actor`` may change (one query)."""
    if not ids:
        return set()
    rows = CUSTOMER.restrict(kind.model.objects.live(), actor, CHANGE)
    return set(rows.filter(pk__in=ids).values_list("pk", flat=True))


def contacts_load(batch: ImportBatch) -> list[ImportOutcome]:
    """``Importer.load`` of contacts."""
    return customers_load(customer_kinds.CONTACT, batch)


def companies_load(batch: ImportBatch) -> list[ImportOutcome]:
    """``Importer.load`` of companies."""
    return customers_load(customer_kinds.COMPANY, batch)


# --- undo -----------------------------------------------------------------------------------


def import_changed_since(model: type[models.Model], ids: list[int], since: Any) -> dict[int, str]:
    """Which of the records ``ids`` (of a model with ``updated_at`` and a timeline) were
    changed after ``since``: saved again, or given a timeline entry; each with the reason
    an undo names. Two queries."""
    changed = {
        pk: _("Changed after the import.")
        for pk in model._default_manager.filter(pk__in=ids, updated_at__gt=since).values_list(
            "pk", flat=True
        )
    }
    later = TimelineEntry.objects.filter(
        subject_type=ContentType.objects.get_for_model(model),
        subject_id__in=ids,
        created_at__gt=since,
    ).values_list("subject_id", flat=True)
    for pk in later:
        changed.setdefault(pk, _("Changed after the import."))
    return changed


def import_records_remove(model: type[models.Model], ids: list[int]) -> dict[int, str]:
    """Delete the records ``ids`` with their timelines; those other records now point at
    (a deal made since for an imported contact) are left and answered with the reason.
    Each attempt runs in a savepoint, so a refused delete does not abort the caller's
    transaction."""
    left: dict[int, str] = {}
    if not ids:
        return left
    entries = TimelineEntry.objects.filter(subject_type=ContentType.objects.get_for_model(model))
    try:
        with transaction.atomic():
            entries.filter(subject_id__in=ids).delete()
            model._default_manager.filter(pk__in=ids).delete()
    except ProtectedError:
        for pk in ids:
            try:
                with transaction.atomic():
                    entries.filter(subject_id=pk).delete()
                    model._default_manager.filter(pk=pk).delete()
            except ProtectedError:
                left[pk] = _("Other records refer to it now.")
    return left


def customers_undo(
    kind: customer_kinds.CustomerKind[RecordT], actor: Any, entries: list[ImportUndo]
) -> dict[int, str]:
    """Remove the records an import created and restore the fields it changed, except
    records changed since (a later save, or a timeline entry after the import): those are
    answered with the reason and left."""
    if not entries:
        return {}
    ids = [entry.record_id for entry in entries]
    present = set(kind.model.objects.filter(pk__in=ids).values_list("pk", flat=True))
    left = import_changed_since(kind.model, ids, min(entry.since for entry in entries))
    created = [
        e.record_id
        for e in entries
        if e.previous is None and e.record_id in present and e.record_id not in left
    ]
    left.update(import_records_remove(kind.model, created))
    for entry in entries:
        if entry.previous is None or entry.record_id in left or entry.record_id not in present:
            continue
        record = kind.model.objects.get(pk=entry.record_id)
        try:
            customer_update(
                kind=kind,
                actor=actor,
                record=record,
                data=entry.previous,
                allow_duplicate=True,
                partial=True,
            )
        except (ValidationFailed, DomainError) as error:
            left[entry.record_id] = _reason(error)
    return left


def contacts_undo(actor: Any, entries: list[ImportUndo]) -> dict[int, str]:
    """``Importer.undo`` of contacts."""
    return customers_undo(customer_kinds.CONTACT, actor, entries)


def companies_undo(actor: Any, entries: list[ImportUndo]) -> dict[int, str]:
    """``Importer.undo`` of companies."""
    return customers_undo(customer_kinds.COMPANY, actor, entries)
