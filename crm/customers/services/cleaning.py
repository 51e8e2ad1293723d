"""Turning raw input (from a form, the API or an import) into clean values.

Every function raises ``ValidationFailed`` whose keys name the offending field the way the
API and the forms name it (``phones[1]``, ``custom.budget``), and none of them writes.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from crm.core.errors import ValidationFailed
from crm.core.normalize import (
    normalize_email,
    normalize_inn,
    normalize_kpp,
    normalize_ogrn,
    normalize_phone,
    phone_digits_reversed,
)
from crm.customers.choices import (
    AddressKind,
    ClientType,
    ContactPointKind,
    ContactPointLabel,
    CustomFieldType,
    LegalForm,
    Messenger,
    Source,
)
from crm.customers.models import CustomField

MAX_POINTS = 20
# Control, surrogate, private-use, unassigned and invisible format characters (zero-width
# spaces, bidi overrides) are dropped; the joiners that some scripts and emoji need stay.
_DROPPED = {"Cc", "Cs", "Co", "Cn", "Cf"}
_JOINERS = {"\u200c", "\u200d"}
MAX_TAGS = 30
HANDLE_MAX = 100


class Errors:
    """Collects field errors so one answer names every bad field at once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(str(message))

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationFailed(_("Please correct the marked fields."), field_errors=self.fields)


@dataclass
class PointValue:
    """A clean phone, e-mail or messenger handle ready to store."""

    kind: str
    value: str
    label: str = ContactPointLabel.WORK
    messenger: str = ""

    @property
    def digits_reversed(self) -> str:
        return phone_digits_reversed(self.value) if self.kind == ContactPointKind.PHONE else ""


@dataclass
class CleanCustomer:
    """Clean scalar fields plus the related lists of a contact or company."""

    fields: dict[str, Any] = field(default_factory=dict)
    points: list[PointValue] | None = None
    addresses: list[tuple[str, str]] | None = None
    tags: list[str] | None = None
    employments: list[tuple[int, str]] | None = None
    custom: dict[str, Any] | None = None


def clean_text(
    errors: Errors,
    name: str,
    value: Any,
    *,
    max_length: int,
    required: bool = False,
    multiline: bool = False,
) -> str:
    """Trim, normalise Unicode (NFC), drop control characters, enforce the length."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(name, _("Expected text."))
        return ""
    text = unicodedata.normalize("NFC", value)
    allowed_controls = {"\n", "\t"} if multiline else set()
    text = "".join(
        ch
        for ch in text
        if ch in allowed_controls or ch in _JOINERS or unicodedata.category(ch) not in _DROPPED
    ).strip()
    text = text.replace("\r\n", "\n") if multiline else " ".join(text.split())
    if required and not text:
        errors.add(name, _("This field is required."))
    if len(text) > max_length:
        errors.add(
            name, _("At most %(n)d characters (now %(len)d).") % {"n": max_length, "len": len(text)}
        )
    return text


def clean_choice(
    errors: Errors,
    name: str,
    value: Any,
    choices: list[str],
    *,
    required: bool = False,
    default: str = "",
) -> str:
    if value in (None, ""):
        if required:
            errors.add(name, _("This field is required."))
        return default
    if value not in choices:
        errors.add(name, _("“%(value)s” is not one of the choices.") % {"value": str(value)[:50]})
        return default
    return str(value)


def clean_date(errors: Errors, name: str, value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    parsed: dt.date | None
    if isinstance(value, dt.date):
        parsed = value
    else:
        try:
            parsed = dt.date.fromisoformat(str(value)[:10]) if len(str(value)) <= 10 else None
        except ValueError:
            parsed = None
        if parsed is None:
            errors.add(name, _("Enter a date as YYYY-MM-DD."))
            return None
    if not dt.date(1900, 1, 1) <= parsed <= dt.date(2100, 12, 31):
        errors.add(name, _("The date is out of range."))
        return None
    return parsed


def clean_points(
    errors: Errors, *, phones: Any = None, emails: Any = None, messengers: Any = None
) -> list[PointValue]:
    """Normalise lists of phones, e-mails and messenger handles; duplicates collapse."""
    points: list[PointValue] = []
    seen: set[tuple[str, str]] = set()

    def add(point: PointValue) -> None:
        if (point.kind, point.value) not in seen:
            seen.add((point.kind, point.value))
            points.append(point)

    for list_name, raw_list in (("phones", phones), ("emails", emails), ("messengers", messengers)):
        if raw_list is None:
            continue
        if not isinstance(raw_list, list | tuple):
            errors.add(list_name, _("Expected a list."))
            continue
        if len(raw_list) > MAX_POINTS:
            errors.add(list_name, _("At most %(n)d items.") % {"n": MAX_POINTS})
            continue
        for index, item in enumerate(raw_list):
            name = f"{list_name}[{index}]"
            raw = item.get("value") if isinstance(item, dict) else item
            label = (item.get("label") if isinstance(item, dict) else None) or "work"
            if label not in ContactPointLabel.values:
                errors.add(name, _("Unknown label “%(label)s”.") % {"label": str(label)[:20]})
                continue
            if not isinstance(raw, str) or not raw.strip():
                if isinstance(raw, str):
                    continue  # an empty row in a form means "no value"
                errors.add(name, _("Expected text."))
                continue
            try:
                if list_name == "phones":
                    add(PointValue(ContactPointKind.PHONE, normalize_phone(raw), label))
                elif list_name == "emails":
                    add(PointValue(ContactPointKind.EMAIL, normalize_email(raw), label))
                else:
                    messenger = (item.get("messenger") if isinstance(item, dict) else "") or "other"
                    if messenger not in Messenger.values:
                        errors.add(name, _("Unknown messenger."))
                        continue
                    handle = " ".join(raw.split())
                    if len(handle) > HANDLE_MAX:
                        raise ValueError(_("At most %(n)d characters.") % {"n": HANDLE_MAX})
                    add(
                        PointValue(
                            ContactPointKind.MESSENGER,
                            f"{messenger}:{handle.lower()}",
                            label,
                            messenger,
                        )
                    )
            except ValueError as exc:
                errors.add(name, str(exc))
    return points


def clean_addresses(errors: Errors, raw_list: Any) -> list[tuple[str, str]]:
    if not isinstance(raw_list, list | tuple):
        errors.add("addresses", _("Expected a list."))
        return []
    result = []
    for index, item in enumerate(raw_list[:MAX_POINTS]):
        name = f"addresses[{index}]"
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            errors.add(name, _("Expected an address."))
            continue
        text = clean_text(errors, name, item.get("text"), max_length=500)
        kind = clean_choice(
            errors, f"{name}.kind", item.get("kind"), AddressKind.values, default=AddressKind.ACTUAL
        )
        if text:
            result.append((kind, text))
    return result


def clean_tags(errors: Errors, raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list | tuple):
        errors.add("tags", _("Expected a list of tags."))
        return []
    tags: dict[str, str] = {}
    for index, item in enumerate(raw):
        tag = clean_text(errors, f"tags[{index}]", item, max_length=50)
        if tag:
            tags.setdefault(tag.casefold(), tag)
    if len(tags) > MAX_TAGS:
        errors.add("tags", _("At most %(n)d tags.") % {"n": MAX_TAGS})
    return list(tags.values())


def clean_requisites(errors: Errors, data: dict[str, Any], out: dict[str, Any]) -> None:
    """ИНН, КПП, ОГРН: digits only with valid checksums; empty stays empty."""
    for name, normalizer in (
        ("inn", normalize_inn),
        ("kpp", normalize_kpp),
        ("ogrn", normalize_ogrn),
    ):
        if name not in data:
            continue
        value = data[name]
        if value in (None, ""):
            out[name] = ""
            continue
        if not isinstance(value, str | int):
            errors.add(name, _("Expected text."))
            continue
        try:
            out[name] = normalizer(str(value))
        except ValueError as exc:
            errors.add(name, str(exc))


_definitions_memo: ContextVar[dict[str, list[CustomField]] | None] = ContextVar(
    "custom_field_definitions", default=None
)


def custom_field_definitions(entity: str) -> list[CustomField]:
    """The active custom fields of ``entity`` (read once per ``custom_definitions_kept``
    block, else on every call)."""
    memo = _definitions_memo.get()
    if memo is None:
        return list(CustomField.objects.filter(entity=entity, is_active=True))
    if entity not in memo:
        memo[entity] = list(CustomField.objects.filter(entity=entity, is_active=True))
    return memo[entity]


@contextmanager
def custom_definitions_kept() -> Iterator[None]:
    """Read the custom field definitions once for the whole block (an import's batch
    cleans thousands of rows; the definitions do not change inside its transaction)."""
    token = _definitions_memo.set({})
    try:
        yield
    finally:
        _definitions_memo.reset(token)


def clean_custom_values(
    errors: Errors,
    *,
    definitions: list[CustomField],
    client_type: str,
    values: Any,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate custom values against the definitions for this client type.

    Unknown keys are refused (never silently dropped); required fields that apply to the
    client type must have a value, either given now or kept from ``previous``.
    """
    if values is None:
        values = {}
    if not isinstance(values, dict):
        errors.add("custom", _("Expected an object of custom field values."))
        return dict(previous or {})
    by_key = {definition.key: definition for definition in definitions}
    result = dict(previous or {})
    for key in values:
        if key not in by_key:
            errors.add(f"custom.{key}"[:80], _("There is no such custom field."))
    for key, definition in by_key.items():
        name = f"custom.{key}"
        if key in values:
            value = _clean_custom_value(errors, name, definition, values[key])
            if value in (None, "", []):
                result.pop(key, None)
            else:
                result[key] = value
        if (
            definition.is_required
            and definition.applies_to(client_type)
            and result.get(key) in (None, "", [])
        ):
            errors.add(name, _("“%(label)s” is required.") % {"label": definition.label})
    return result


def clean_custom_value(errors: Errors, name: str, definition: CustomField, value: Any) -> Any:
    """One custom field's value as it is stored (``None`` when empty or refused, with the
    refusal added to ``errors`` under ``name``); the segments' filters compare with it."""
    return _clean_custom_value(errors, name, definition, value)


def _clean_custom_value(errors: Errors, name: str, definition: CustomField, value: Any) -> Any:
    kind = definition.field_type
    if value in (None, "", []):
        return None
    if kind == CustomFieldType.TEXT:
        return clean_text(errors, name, value, max_length=2000, multiline=True)
    if kind == CustomFieldType.NUMBER:
        if isinstance(value, bool):
            errors.add(name, _("Enter a number."))
            return None
        try:
            number = Decimal(str(value).replace(",", ".").replace(" ", ""))
        except InvalidOperation:
            errors.add(name, _("Enter a number."))
            return None
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            errors.add(name, _("Enter a number."))
            return None
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomFieldType.DATE:
        parsed = clean_date(errors, name, value)
        return parsed.isoformat() if parsed else None
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"true", "1", "yes", "on", "да"}:
            return True
        if str(value).lower() in {"false", "0", "no", "off", "нет"}:
            return False
        errors.add(name, _("Expected yes or no."))
        return None
    if kind == CustomFieldType.URL:
        text = clean_text(errors, name, value, max_length=500)
        try:
            URLValidator(schemes=["http", "https"])(text)
        except DjangoValidationError:
            errors.add(name, _("Enter a web address starting with http:// or https://."))
            return None
        return text
    if kind == CustomFieldType.CHOICE:
        if value not in definition.choices:
            errors.add(
                name, _("“%(value)s” is not one of the options.") % {"value": str(value)[:50]}
            )
            return None
        return value
    if kind == CustomFieldType.MULTI_CHOICE:
        items = value if isinstance(value, list) else [value]
        bad = [item for item in items if item not in definition.choices]
        if bad:
            errors.add(
                name, _("“%(value)s” is not one of the options.") % {"value": str(bad[0])[:50]}
            )
            return None
        return list(dict.fromkeys(items))
    return None


CONTACT_TEXT_FIELDS = {"last_name": 150, "first_name": 150, "middle_name": 150}
NAME_FIELDS = ("last_name", "first_name")


def contact_name_problems(names: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with a contact's ``last_name`` and ``first_name`` (field → message).

    A contact is named by a last name or a first name, either alone (real data has
    "Иванов" or "Пётр" with no other part); a patronymic alone names nobody. With
    ``CRM_CONTACT_FIRST_NAME_REQUIRED`` the first name itself is required.
    """
    if settings.CRM_CONTACT_FIRST_NAME_REQUIRED:
        return {} if names.get("first_name") else {"first_name": _("This field is required.")}
    if any(names.get(name) for name in NAME_FIELDS):
        return {}
    return dict.fromkeys(NAME_FIELDS, _("Enter a last name or a first name."))


def _check_contact_name(
    errors: Errors, out: dict[str, Any], previous: Mapping[str, Any] | None
) -> None:
    """``contact_name_problems`` of the input, the parts it leaves out (a PATCH) being
    ``previous``'s; checked only when the input touches a name part, so an old record is
    never refused for a change elsewhere."""
    if not any(name in out for name in NAME_FIELDS):
        return
    names = {name: out.get(name, (previous or {}).get(name, "")) for name in NAME_FIELDS}
    for name, message in contact_name_problems(names).items():
        errors.add(name, message)


def clean_contact(
    data: dict[str, Any],
    *,
    previous_custom: dict[str, Any] | None = None,
    previous: Mapping[str, Any] | None = None,
    type_default: str = ClientType.PRIVATE,
    partial: bool = False,
) -> CleanCustomer:
    """Clean a contact's input. ``partial`` (API PATCH) leaves missing keys untouched; then
    ``previous`` holds the record's current values of the fields rules combine."""
    errors = Errors()
    clean = CleanCustomer()
    out = clean.fields
    for name, limit in CONTACT_TEXT_FIELDS.items():
        if name in data or not partial:
            out[name] = clean_text(errors, name, data.get(name), max_length=limit)
    _check_contact_name(errors, out, previous)
    if "client_type" in data or not partial:
        out["client_type"] = clean_choice(
            errors,
            "client_type",
            data.get("client_type"),
            ClientType.values,
            default=type_default,
        )
    if "birthday" in data or not partial:
        out["birthday"] = clean_date(errors, "birthday", data.get("birthday"))
        if out["birthday"] and out["birthday"] > dt.date.today():
            errors.add("birthday", _("The birthday is in the future."))
    if "preferences" in data or not partial:
        out["preferences"] = clean_text(
            errors, "preferences", data.get("preferences"), max_length=5000, multiline=True
        )
    _clean_notes_and_source(errors, data, out, partial=partial)
    _clean_related(errors, data, clean, partial=partial)
    if "employments" in data:
        clean.employments = _clean_employments(errors, data["employments"])
    client_type = out.get("client_type", type_default)
    return _with_custom(errors, data, clean, "contact", client_type, previous_custom, partial)


def clean_company(
    data: dict[str, Any],
    *,
    previous_custom: dict[str, Any] | None = None,
    previous: Mapping[str, Any] | None = None,
    type_default: str = ClientType.BUSINESS,
    partial: bool = False,
) -> CleanCustomer:
    """Clean a company's input. ``partial`` (API PATCH) leaves missing keys untouched.
    ``previous`` is taken as ``clean_contact`` takes it; a company's rules need none of it."""
    errors = Errors()
    clean = CleanCustomer()
    out = clean.fields
    if "legal_name" in data or not partial:
        out["legal_name"] = clean_text(
            errors, "legal_name", data.get("legal_name"), max_length=300, required=True
        )
    for name, limit in (("short_name", 150), ("industry", 120)):
        if name in data or not partial:
            out[name] = clean_text(errors, name, data.get(name), max_length=limit)
    if "kind" in data or not partial:
        out["kind"] = clean_choice(
            errors,
            "kind",
            data.get("kind"),
            [ClientType.BUSINESS, ClientType.GOVERNMENT],
            default=type_default,
        )
    if "legal_form" in data or not partial:
        out["legal_form"] = clean_choice(
            errors, "legal_form", data.get("legal_form"), LegalForm.values
        )
    if "website" in data or not partial:
        website = clean_text(errors, "website", data.get("website"), max_length=300)
        if website and "://" not in website:
            website = f"https://{website}"
        if website:
            try:
                URLValidator(schemes=["http", "https"])(website)
            except DjangoValidationError:
                errors.add("website", _("Enter a valid web address."))
        out["website"] = website
    _clean_notes_and_source(errors, data, out, partial=partial)
    clean_requisites(errors, data, out)
    if not partial:
        for name in ("inn", "kpp", "ogrn"):
            out.setdefault(name, "")
    if out.get("kpp") and len(out.get("inn", "")) == 12:
        errors.add("kpp", _("An individual entrepreneur (12-digit ИНН) has no КПП."))
    _clean_related(errors, data, clean, partial=partial)
    kind = out.get("kind", type_default)
    return _with_custom(errors, data, clean, "company", kind, previous_custom, partial)


def _clean_notes_and_source(
    errors: Errors, data: dict[str, Any], out: dict[str, Any], *, partial: bool
) -> None:
    if "notes" in data or not partial:
        out["notes"] = clean_text(
            errors, "notes", data.get("notes"), max_length=10000, multiline=True
        )
    if "source" in data or not partial:
        out["source"] = clean_choice(errors, "source", data.get("source"), Source.values)


def _with_custom(
    errors: Errors,
    data: dict[str, Any],
    clean: CleanCustomer,
    entity: str,
    client_type: str,
    previous_custom: dict[str, Any] | None,
    partial: bool,
) -> CleanCustomer:
    """Add the custom values (the entity's definitions for ``client_type``), then raise
    every error found, or return ``clean``."""
    if "custom" in data or not partial:
        clean.custom = clean_custom_values(
            errors,
            definitions=custom_field_definitions(entity),
            client_type=client_type,
            values=data.get("custom"),
            previous=previous_custom,
        )
    errors.raise_if_any()
    return clean


def _clean_related(
    errors: Errors, data: dict[str, Any], clean: CleanCustomer, *, partial: bool
) -> None:
    if any(name in data for name in ("phones", "emails", "messengers")) or not partial:
        clean.points = clean_points(
            errors,
            phones=data.get("phones") or [],
            emails=data.get("emails") or [],
            messengers=data.get("messengers") or [],
        )
        if partial:
            clean.fields["_point_kinds"] = {
                kind
                for name, kind in (
                    ("phones", ContactPointKind.PHONE),
                    ("emails", ContactPointKind.EMAIL),
                    ("messengers", ContactPointKind.MESSENGER),
                )
                if name in data
            }
    if "addresses" in data or not partial:
        clean.addresses = clean_addresses(errors, data.get("addresses") or [])
    if "tags" in data or not partial:
        clean.tags = clean_tags(errors, data.get("tags") or [])


def _clean_employments(errors: Errors, raw: Any) -> list[tuple[int, str]]:
    if not isinstance(raw, list | tuple):
        errors.add("employments", _("Expected a list."))
        return []
    result: dict[int, str] = {}
    for index, item in enumerate(raw[:MAX_POINTS]):
        name = f"employments[{index}]"
        if not isinstance(item, dict):
            errors.add(name, _("Expected a company and a position."))
            continue
        company_id = item.get("company_id")
        if not isinstance(company_id, int) or isinstance(company_id, bool) or company_id <= 0:
            errors.add(f"{name}.company_id", _("Choose a company."))
            continue
        result[company_id] = clean_text(
            errors, f"{name}.position", item.get("position"), max_length=150
        )
    return list(result.items())
