"""The seller's requisites (``SellerDetails``, one row): what invoices and contracts print.

ИНН, КПП and ОГРН go through the same cleaner as a client company's; the bank details are
checked as the Bank of Russia defines them: a 9-digit БИК and 20-digit accounts whose
control digit matches the БИК.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.core.errors import PermissionDenied
from crm.core.normalize import normalize_email
from crm.core.permissions import Role
from crm.customers.services.cleaning import Errors, clean_requisites, clean_text
from crm.sales.models import SellerDetails

SELLER_PK = 1
TEXT_FIELDS = {
    "name": 300,
    "address": 500,
    "phone": 50,
    "bank_name": 200,
    "director": 200,
    "accountant": 200,
}
EDITABLE_FIELDS = {
    *TEXT_FIELDS,
    "inn",
    "kpp",
    "ogrn",
    "email",
    "bik",
    "account",
    "correspondent_account",
    "vat_payer",
}
_ACCOUNT_WEIGHTS = ((7, 1, 3) * 8)[:23]


def seller_details_get() -> SellerDetails:
    """The seller's requisites; an unsaved empty row when nobody has filled them in."""
    return SellerDetails.objects.filter(pk=SELLER_PK).first() or SellerDetails(pk=SELLER_PK)


def account_key_matches(bik: str, account: str, *, correspondent: bool = False) -> bool:
    """Whether a 20-digit account's control digit fits the 9-digit БИК.

    The key is computed over 23 digits: for a correspondent account "0" and the БИК's 5th
    and 6th digits, for a settlement account the БИК's last three digits (or, at a cash
    settlement centre of the Bank of Russia, the same prefix as a correspondent account),
    followed by the account; weighted 7, 1, 3 the sum ends in 0.
    """
    prefixes = ["0" + bik[4:6]] if correspondent else [bik[-3:], "0" + bik[4:6]]
    for prefix in prefixes:
        digits = prefix + account
        if sum(int(d) * w % 10 for d, w in zip(digits, _ACCOUNT_WEIGHTS, strict=True)) % 10 == 0:
            return True
    return False


def _clean_digits(errors: Errors, name: str, value: Any, length: int, message: str) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str | int):
        errors.add(name, _("Expected text."))
        return ""
    text = "".join(ch for ch in str(value) if not ch.isspace() and ch != "-")
    if len(text) != length or not text.isascii() or not text.isdigit():
        errors.add(name, message)
        return ""
    return text


def _clean_seller(data: dict[str, Any]) -> dict[str, Any]:
    errors = Errors()
    out: dict[str, Any] = {}
    for name, max_length in TEXT_FIELDS.items():
        if name in data:
            out[name] = clean_text(
                errors, name, data[name], max_length=max_length, multiline=name == "address"
            )
    clean_requisites(errors, data, out)
    if "email" in data:
        email = data["email"]
        if email in (None, ""):
            out["email"] = ""
        elif not isinstance(email, str):
            errors.add("email", _("Expected text."))
        else:
            try:
                out["email"] = normalize_email(email)
            except ValueError as exc:
                errors.add("email", str(exc))
    if "bik" in data:
        out["bik"] = _clean_digits(errors, "bik", data["bik"], 9, _("A БИК has 9 digits."))
    for name in ("account", "correspondent_account"):
        if name in data:
            out[name] = _clean_digits(
                errors, name, data[name], 20, _("An account number has 20 digits.")
            )
    if "vat_payer" in data:
        out["vat_payer"] = bool(data["vat_payer"])
    _check_accounts(errors, out)
    errors.raise_if_any()
    return out


def _check_accounts(errors: Errors, out: dict[str, Any]) -> None:
    """Compare the accounts with the БИК when all three were given and well formed."""
    bik = out.get("bik") or ""
    if not bik or "bik" in errors.fields:
        return
    for name, correspondent in (("account", False), ("correspondent_account", True)):
        account = out.get(name) or ""
        if (
            account
            and name not in errors.fields
            and not account_key_matches(bik, account, correspondent=correspondent)
        ):
            errors.add(name, _("The account number does not match the БИК: check both for a typo."))


@transaction.atomic
def seller_details_save(*, actor: User, **data: Any) -> SellerDetails:
    """Save the seller's requisites (administrators only); fields not given stay as they are.

    Raises ``ValidationFailed`` naming every bad field; nothing is written then.
    """
    if not (actor.is_active and actor.role == Role.ADMIN):
        raise PermissionDenied(_("Only an administrator may change the seller's details."))
    unknown = set(data) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"unknown seller fields: {sorted(unknown)}")
    values = _clean_seller(data)
    details, _created = SellerDetails.objects.get_or_create(pk=SELLER_PK)
    for name, value in values.items():
        setattr(details, name, value)
    details.save()
    return details
