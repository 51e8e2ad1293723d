"""The product catalogue: creating, changing, archiving and restoring products.

Everyone signed in reads the catalogue (``crm.sales.selectors_money``); administrators and
heads of sales edit it. Products are never deleted: an archived product leaves the picker
and the list but stays on the deals that use it (a line keeps its own name and price).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.core.errors import PermissionDenied, ValidationFailed
from crm.core.permissions import Role, ScopedUser
from crm.customers.services.cleaning import Errors, clean_choice, clean_text
from crm.sales.choices import Currency, Unit, VatRate
from crm.sales.models import Product
from crm.sales.services.decimals import clean_decimal

audit_log = logging.getLogger("crm.audit")

NAME_MAX = 200
SKU_MAX = 60
DESCRIPTION_MAX = 5000
FIELDS = ("name", "sku", "unit", "price", "currency", "vat_rate", "description")


def product_can_edit(user: ScopedUser) -> bool:
    """Whether ``user`` may edit the catalogue (administrators and heads of sales)."""
    return bool(user.is_active and user.role in (Role.ADMIN, Role.HEAD))


def product_check_editor(*, actor: ScopedUser) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` may edit the catalogue."""
    if not product_can_edit(actor):
        raise PermissionDenied(_("Only administrators and heads of sales edit the catalogue."))


def _clean(data: dict[str, Any], product: Product | None) -> dict[str, Any]:
    """Validate the product's fields (merged over ``product`` when changing one)."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValidationFailed(
            _("Please correct the marked fields."),
            field_errors={name: [_("Unknown field.")] for name in unknown},
        )
    current = {name: getattr(product, name) for name in FIELDS} if product else {}
    merged = {
        "unit": Unit.PIECE,
        "currency": Currency.RUB,
        "vat_rate": VatRate.TWENTY_TWO,
        **current,
        **data,
    }
    errors = Errors()
    values = {
        "name": clean_text(errors, "name", merged.get("name"), max_length=NAME_MAX, required=True),
        "sku": clean_text(errors, "sku", merged.get("sku"), max_length=SKU_MAX),
        "unit": clean_choice(errors, "unit", merged.get("unit"), Unit.values, required=True),
        "price": clean_decimal(errors, "price", merged.get("price"), required=True),
        "currency": clean_choice(
            errors, "currency", merged.get("currency"), Currency.values, required=True
        ),
        "vat_rate": clean_choice(
            errors, "vat_rate", merged.get("vat_rate"), VatRate.values, required=True
        ),
        "description": clean_text(
            errors,
            "description",
            merged.get("description"),
            max_length=DESCRIPTION_MAX,
            multiline=True,
        ),
    }
    if values["sku"] and "sku" not in errors.fields and _sku_taken(str(values["sku"]), product):
        errors.add("sku", _("Another product already has this SKU."))
    errors.raise_if_any()
    return values


def _sku_taken(sku: str, product: Product | None) -> bool:
    others = Product.objects.filter(sku__iexact=sku)
    if product is not None:
        others = others.exclude(pk=product.pk)
    return others.exists()


def _save(product: Product) -> None:
    """Save, turning a race on the SKU (two editors at once) into a field error."""
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        raise ValidationFailed(
            _("Please correct the marked fields."),
            field_errors={"sku": [_("Another product already has this SKU.")]},
        ) from None


@transaction.atomic
def product_create(*, actor: ScopedUser, **data: Any) -> Product:
    """Add a product to the catalogue (administrators and heads of sales).

    ``data``: ``name`` (required), ``price`` (required, ≥ 0, two places), ``sku`` (unique
    when set, compared case-insensitively), ``unit``, ``currency``, ``vat_rate``,
    ``description``. Raises ``ValidationFailed`` naming each bad field; writes nothing then.
    """
    product_check_editor(actor=actor)
    product = Product(**_clean(data, None))
    _save(product)
    audit_log.info("product_created id=%s actor=%s", product.pk, actor.pk)
    return product


@transaction.atomic
def product_update(*, actor: ScopedUser, product: Product, **changes: Any) -> Product:
    """Change some fields of a product (the ones passed); lines already on deals keep
    their own name and price."""
    product_check_editor(actor=actor)
    product = Product.objects.select_for_update().get(pk=product.pk)
    for name, value in _clean(changes, product).items():
        setattr(product, name, value)
    _save(product)
    audit_log.info("product_changed id=%s actor=%s", product.pk, actor.pk)
    return product


@transaction.atomic
def product_archive(*, actor: ScopedUser, product: Product) -> Product:
    """Hide a product from the picker and the list; deals that use it are untouched."""
    return _set_archived(actor, product, archived=True)


@transaction.atomic
def product_restore(*, actor: ScopedUser, product: Product) -> Product:
    """Bring an archived product back to the catalogue."""
    return _set_archived(actor, product, archived=False)


def _set_archived(actor: ScopedUser, product: Product, *, archived: bool) -> Product:
    product_check_editor(actor=actor)
    product = Product.objects.select_for_update().get(pk=product.pk)
    if product.archived != archived:
        product.archived = archived
        product.save(update_fields=["archived", "updated_at"])
        audit_log.info(
            "product_%s id=%s actor=%s",
            "archived" if archived else "restored",
            product.pk,
            actor.pk,
        )
    return product
