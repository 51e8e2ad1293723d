"""Defining the custom fields of contacts and companies (administrators only).

Values live in each record's ``custom`` JSON under the field's key, so a key, an entity or a
type cannot change once values are stored: the stored values would no longer mean what the
definition says. A deactivated field keeps its values but is neither shown nor required.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.core.errors import NotFound, ValidationFailed
from crm.core.models import excluding
from crm.core.text import fold, transliterate
from crm.customers.choices import ClientType, CustomFieldType, Entity, FieldEntity
from crm.customers.models import Company, Contact, CustomField
from crm.customers.permissions import CUSTOM_FIELDS

audit_log = logging.getLogger("crm.audit")

KEY_MAX = 50
LABEL_MAX = 100
HINT_MAX = 200
OPTION_MAX = 100
OPTIONS_MAX = 100
POSITION_MAX = 10000
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
CHOICE_TYPES = {CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE}
COMPANY_CLIENT_TYPES = {ClientType.BUSINESS, ClientType.GOVERNMENT}
FIELDS = {
    "entity",
    "label",
    "key",
    "field_type",
    "choices",
    "client_types",
    "is_required",
    "help_text",
    "position",
    "is_active",
}


def custom_field_key_from_label(label: str) -> str:
    """A key for a label: folded, transliterated, words joined by ``_`` (``Бюджет, ₽`` →
    ``biudzhet``)."""
    latin = transliterate(fold(label))
    key = re.sub(r"[^a-z0-9]+", "_", latin).strip("_")[:KEY_MAX].strip("_")
    if key and not key[0].isalpha():
        key = f"f_{key}"[:KEY_MAX]
    return key


def _model_for(entity: str) -> type[models.Model]:
    if entity == FieldEntity.DEAL:
        # Deals live in a higher layer (sales); look the model up by name, not by import.
        return apps.get_model("sales", "Deal")
    return Contact if entity == Entity.CONTACT else Company


def custom_field_has_values(field: CustomField) -> bool:
    """Whether any contact or company (as the field's entity says) stores a value for it."""
    return _model_for(field.entity)._default_manager.filter(custom__has_key=field.key).exists()


def _clean_options(raw: Any, errors: dict[str, list[str]]) -> list[str]:
    if raw in (None, ""):
        return []
    lines = raw.splitlines() if isinstance(raw, str) else list(raw)
    options: list[str] = []
    seen: set[str] = set()
    for line in lines:
        option = " ".join(str(line).split())
        if not option:
            continue
        if len(option) > OPTION_MAX:
            errors.setdefault("choices", []).append(
                _("An option has at most %(n)d characters.") % {"n": OPTION_MAX}
            )
            continue
        if option.casefold() in seen:
            errors.setdefault("choices", []).append(
                _("The option “%(option)s” is repeated.") % {"option": option}
            )
            continue
        seen.add(option.casefold())
        options.append(option)
    if len(options) > OPTIONS_MAX:
        errors.setdefault("choices", []).append(_("At most %(n)d options.") % {"n": OPTIONS_MAX})
    return options


def _clean(data: dict[str, Any], field: CustomField | None) -> dict[str, Any]:
    """Validate the definition; returns the values to store or raises ``ValidationFailed``."""
    errors: dict[str, list[str]] = {}
    current = {name: getattr(field, name) for name in FIELDS} if field else {}
    merged = {**current, **data}

    entity = merged.get("entity") or ""
    if entity not in FieldEntity.values:
        errors["entity"] = [_("Choose contacts, companies or deals.")]

    label = " ".join(str(merged.get("label") or "").split())
    if not label:
        errors["label"] = [_("Enter the field's label.")]
    elif len(label) > LABEL_MAX:
        errors["label"] = [_("At most %(n)d characters.") % {"n": LABEL_MAX}]

    key = str(merged.get("key") or "").strip().lower()
    if not key and label:
        key = custom_field_key_from_label(label)
    if not key:
        errors.setdefault("key", []).append(_("Enter a key: Latin letters, digits and “_”."))
    elif len(key) > KEY_MAX or not KEY_PATTERN.match(key):
        errors.setdefault("key", []).append(
            _("A key starts with a Latin letter and has only a-z, 0-9 and “_” (up to %(n)d).")
            % {"n": KEY_MAX}
        )
    elif (
        entity in FieldEntity.values
        and excluding(CustomField.objects.filter(entity=entity, key__iexact=key), field).exists()
    ):
        errors.setdefault("key", []).append(_("Another field already uses this key."))

    field_type = merged.get("field_type") or ""
    if field_type not in CustomFieldType.values:
        errors["field_type"] = [_("Choose a type.")]

    options = _clean_options(merged.get("choices"), errors)
    if field_type in CHOICE_TYPES and not options and "choices" not in errors:
        errors["choices"] = [_("Enter the options, one per line.")]
    if field_type not in CHOICE_TYPES:
        options = []

    client_types = list(dict.fromkeys(merged.get("client_types") or []))
    allowed = COMPANY_CLIENT_TYPES if entity == Entity.COMPANY else set(ClientType.values)
    if any(value not in allowed for value in client_types):
        errors["client_types"] = [_("Unknown client type for this kind of record.")]

    help_text = " ".join(str(merged.get("help_text") or "").split())
    if len(help_text) > HINT_MAX:
        errors["help_text"] = [_("At most %(n)d characters.") % {"n": HINT_MAX}]

    try:
        position = int(merged.get("position") or 0)
    except (TypeError, ValueError):
        position = -1
    if not 0 <= position <= POSITION_MAX:
        errors["position"] = [_("A whole number from 0 to %(n)d.") % {"n": POSITION_MAX}]

    if field is not None and not errors:
        changed = {
            name
            for name, new_value, old_value in (
                ("key", key, field.key),
                ("entity", entity, field.entity),
                ("field_type", field_type, field.field_type),
            )
            if new_value != old_value
        }
        if changed and custom_field_has_values(field):
            message = _("Records already store values of this field, so this cannot change.")
            errors.update({name: [message] for name in changed})

    if errors:
        raise ValidationFailed(_("Check the field's settings."), field_errors=errors)
    return {
        "entity": entity,
        "label": label,
        "key": key,
        "field_type": field_type,
        "choices": options,
        "client_types": client_types,
        "is_required": bool(merged.get("is_required")),
        "help_text": help_text,
        "position": position,
        "is_active": bool(merged.get("is_active", True)),
    }


@transaction.atomic
def custom_field_save(*, actor: User, field: CustomField | None = None, **data: Any) -> CustomField:
    """Create a custom field, or change ``field`` (administrators only).

    ``data`` holds any of ``entity, label, key, field_type, choices, client_types,
    is_required, help_text, position, is_active``; an empty key is made from the label.
    ``choices`` may be a list or text with one option per line. Refused: a key that is not
    a slug or is taken within the entity, choice types without options or with repeated
    ones, and a change of key, entity or type once records store values.
    """
    CUSTOM_FIELDS.check(actor)
    unknown = set(data) - FIELDS
    if unknown:
        raise ValidationFailed(field_errors={name: [_("Unknown field.")] for name in unknown})
    values = _clean(data, field)
    created = field is None
    field = field or CustomField()
    for name, value in values.items():
        setattr(field, name, value)
    field.save()
    audit_log.info(
        "custom_field_%s entity=%s key=%s actor=%s",
        "created" if created else "changed",
        field.entity,
        field.key,
        actor.username,
    )
    return field


@transaction.atomic
def custom_field_deactivate(*, actor: User, field: CustomField) -> CustomField:
    """Hide a field from forms and stop requiring it; stored values are kept."""
    CUSTOM_FIELDS.check(actor)
    if field.is_active:
        field.is_active = False
        field.save(update_fields=["is_active", "updated_at"])
        audit_log.info(
            "custom_field_deactivated entity=%s key=%s actor=%s",
            field.entity,
            field.key,
            actor.username,
        )
    return field


def custom_field_list(*, actor: User, entity: str) -> list[CustomField]:
    """Every field of one entity in form order, inactive ones included (administrators)."""
    CUSTOM_FIELDS.check(actor)
    return list(CustomField.objects.filter(entity=entity).order_by("position", "id"))


def custom_field_get(*, actor: User, pk: int) -> CustomField:
    """One field definition (administrators only); ``NotFound`` if missing."""
    CUSTOM_FIELDS.check(actor)
    field = CustomField.objects.filter(pk=pk).first()
    if field is None:
        raise NotFound(_("Custom field not found."))
    return field


def custom_field_check_admin(*, actor: User) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` may manage custom fields."""
    CUSTOM_FIELDS.check(actor)
