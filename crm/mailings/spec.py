"""The filters of a segment: a JSON object validated into a ``SegmentSpec``.

Every key is optional; an unknown key or a malformed value is refused with a message under
``spec.<key>`` (``spec.custom.<field>`` for a custom field), all of them at once. The list
filters of the contact list (``q``, ``owner``, ``client_type``, ``tag``, ``source``,
``company``) keep their meaning there (``customers.selectors.CustomerFilters``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from django.utils.translation import gettext as _

from crm.accounts.models import Team, User
from crm.core.errors import ValidationFailed
from crm.customers.choices import ClientType, CustomFieldType, FieldEntity, Source
from crm.customers.models import Company, CustomField
from crm.customers.selectors import CustomerFilters
from crm.customers.services.cleaning import Errors, clean_custom_value
from crm.sales.models import Product

TEXT_MAX = 100
TAG_MAX = 50
TAGS_MAX = 20
CUSTOM_MAX = 20
NO_TOUCH_DAYS_MAX = 3650
SPEC_BYTES_MAX = 10_000


@dataclass(frozen=True)
class SegmentSpec:
    """A segment's filters, all of which a contact must pass (empty ones pass everyone).

    ``tags``: any of them; ``custom``: custom field key → value (one option of a multiple
    choice); ``product``: a won deal of the contact with a line of that product;
    ``no_touch_days``: last touch longer ago; ``has_email``/``has_phone``/``consent``: yes,
    no or either (``None``); ``with_companies``: a contact also belongs when a company it
    works at passes the company filters (the list filters, team, tags, custom fields of
    companies, product, last touch). ``has_email``, ``has_phone`` and ``consent`` are always
    the contact's own.
    """

    q: str = ""
    owner: int | None = None
    team: int | None = None
    client_type: str = ""
    tag: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""
    company: int | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    product: int | None = None
    no_touch_days: int | None = None
    has_email: bool | None = None
    has_phone: bool | None = None
    consent: bool | None = None
    with_companies: bool = False

    def as_json(self) -> dict[str, Any]:
        """The spec as stored: only the filters that are set."""
        stored: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value in (None, "", (), {}, False) and not (
                value is False and item.name in BOOLEAN_KEYS
            ):
                continue
            stored[item.name] = list(value) if isinstance(value, tuple) else value
        return stored

    def list_filters(self) -> CustomerFilters:
        """The contact list's own filters of this spec."""
        return CustomerFilters(
            q=self.q,
            owner_id=self.owner,
            client_type=self.client_type,
            tag=self.tag,
            source=self.source,
            company_id=self.company,
        )

    @property
    def is_empty(self) -> bool:
        return not self.as_json()


BOOLEAN_KEYS = ("has_email", "has_phone", "consent")
KEYS = tuple(item.name for item in fields(SegmentSpec))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Reader:
    """Reads one spec, collecting every refusal under ``spec.<key>``."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.errors = Errors()
        self.values: dict[str, Any] = {}

    def refuse(self, key: str, message: str) -> None:
        self.errors.add(f"spec.{key}", message)

    def text(self, key: str, limit: int, choices: list[str] | None = None) -> None:
        value = self.raw.get(key)
        if value is None or value == "":
            return
        if not isinstance(value, str) or len(value) > limit or "\x00" in value:
            self.refuse(key, _("Enter text of at most %(max)d characters.") % {"max": limit})
            return
        if choices is not None and value not in choices:
            self.refuse(key, _("“%(value)s” is not one of the options.") % {"value": value[:50]})
            return
        self.values[key] = value.strip() if choices is None else value

    def record(self, key: str, model: Any, **conditions: Any) -> None:
        value = self.raw.get(key)
        if value is None:
            return
        if not _is_int(value) or not 1 <= value < 2**63:
            self.refuse(key, _("Enter a whole number (an id)."))
        elif not model.objects.filter(pk=value, **conditions).exists():
            self.refuse(key, _("No such record."))
        else:
            self.values[key] = value

    def yes_no(self, key: str) -> None:
        value = self.raw.get(key)
        if value is None:
            return
        if not isinstance(value, bool):
            self.refuse(key, _("Enter true, false or null."))
        else:
            self.values[key] = value

    def tags(self) -> None:
        value = self.raw.get("tags")
        if value is None:
            return
        if (
            not isinstance(value, list)
            or len(value) > TAGS_MAX
            or not all(isinstance(item, str) and 0 < len(item.strip()) <= TAG_MAX for item in value)
        ):
            self.refuse("tags", _("Enter a list of at most %(max)d tag names.") % {"max": TAGS_MAX})
            return
        self.values["tags"] = tuple(dict.fromkeys(item.strip() for item in value))

    def no_touch_days(self) -> None:
        value = self.raw.get("no_touch_days")
        if value is None:
            return
        if not _is_int(value) or not 1 <= value <= NO_TOUCH_DAYS_MAX:
            self.refuse(
                "no_touch_days",
                _("Enter a whole number of days from 1 to %(max)d.") % {"max": NO_TOUCH_DAYS_MAX},
            )
            return
        self.values["no_touch_days"] = value

    def custom(self) -> None:
        value = self.raw.get("custom")
        if value is None or value == {}:
            return
        if not isinstance(value, dict) or len(value) > CUSTOM_MAX:
            self.refuse(
                "custom",
                _("Enter an object of at most %(max)d custom fields.") % {"max": CUSTOM_MAX},
            )
            return
        definitions: dict[str, CustomField] = {}
        for definition in CustomField.objects.filter(
            key__in=[key for key in value if isinstance(key, str)][:CUSTOM_MAX],
            entity__in=[FieldEntity.CONTACT, FieldEntity.COMPANY],
            is_active=True,
        ).order_by("entity"):
            definitions.setdefault(definition.key, definition)
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            name = f"custom.{key}"[:80]
            found = definitions.get(key)
            if found is None:
                self.refuse(name, _("No such custom field."))
                continue
            definition = found
            if definition.field_type == CustomFieldType.MULTI_CHOICE:
                if item not in definition.choices:
                    self.refuse(
                        name,
                        _("“%(value)s” is not one of the options.") % {"value": str(item)[:50]},
                    )
                    continue
                cleaned[key] = item
                continue
            errors = Errors()
            clean = clean_custom_value(errors, f"spec.{name}", definition, item)
            for error_name, messages in errors.fields.items():
                for message in messages:
                    self.errors.add(error_name, message)
            if clean is None and not errors.fields:
                self.refuse(name, _("Enter a value."))
            elif clean is not None:
                cleaned[key] = clean
        if cleaned:
            self.values["custom"] = cleaned


def spec_clean(raw: Any) -> SegmentSpec:
    """Validate a segment's filters (a JSON object); raise ``ValidationFailed`` naming every
    unknown key and malformed value under ``spec.<key>``."""
    if raw is None:
        return SegmentSpec()
    if not isinstance(raw, dict):
        raise ValidationFailed(
            _("Please correct the marked fields."),
            field_errors={"spec": [_("Enter an object of filters.")]},
        )
    reader = _Reader(raw)
    for key in raw:
        if key not in KEYS:
            reader.refuse(str(key)[:50], _("Unknown filter."))
    reader.text("q", TEXT_MAX)
    reader.record("owner", User)
    reader.record("team", Team)
    reader.text("client_type", 16, list(ClientType.values))
    reader.text("tag", TAG_MAX)
    reader.tags()
    reader.text("source", 20, list(Source.values))
    reader.record("company", Company, merged_into__isnull=True)
    reader.custom()
    reader.record("product", Product)
    reader.no_touch_days()
    for key in (*BOOLEAN_KEYS, "with_companies"):
        reader.yes_no(key)
    if reader.values.get("with_companies") is None:
        reader.values.pop("with_companies", None)
    reader.errors.raise_if_any()
    return SegmentSpec(**reader.values)
