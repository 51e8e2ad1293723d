"""Forms of the product catalogue, deal lines and payments: rendering and parsing only.

Numbers and dates are read as text and checked by the services (one set of rules for the
pages and the API), whose ``ValidationFailed.field_errors`` land next to the inputs.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.sales.choices import Currency, PaymentKind, PaymentMethod, PaymentStatus, Unit, VatRate

BLANK = [("", "—")]


class MoneyForm(forms.Form):
    """A form whose widgets carry Bootstrap classes (``crm.core.forms.form_post`` shows a
    service's refusal on it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs["class"] = css

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        if field in self.fields:
            widget = self.fields[field].widget
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


def _number() -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


def _date() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProductForm(MoneyForm):
    name = forms.CharField(label=_("Name"), required=False)
    sku = forms.CharField(label=_("SKU"), required=False)
    price = forms.CharField(
        label=_("Price"),
        required=False,
        widget=_number(),
        help_text=_("VAT included."),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    unit = forms.ChoiceField(label=_("Unit"), choices=Unit.choices)
    vat_rate = forms.ChoiceField(label=_("VAT"), choices=VatRate.choices)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, instance: Any = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(instance, name) for name in self.base_fields}
        super().__init__(*args, **kwargs)

    def service_arguments(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class DealLineForm(MoneyForm):
    """A line: a product from the catalogue (``product``, an id) or free text."""

    product = forms.CharField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Product or service"), required=False)
    quantity = forms.CharField(
        label=_("Quantity"),
        required=False,
        widget=_number(),
    )
    unit = forms.ChoiceField(label=_("Unit"), choices=[*BLANK, *Unit.choices], required=False)
    price = forms.CharField(
        label=_("Price"),
        required=False,
        widget=_number(),
    )
    discount_percent = forms.CharField(
        label=_("Discount, %"),
        required=False,
        widget=_number(),
    )
    vat_rate = forms.ChoiceField(label=_("VAT"), choices=[*BLANK, *VatRate.choices], required=False)

    def service_arguments(self, *, for_update: bool = False) -> dict[str, Any]:
        """Arguments of ``deal_line_add`` (or ``deal_line_update``: no product, and an empty
        quantity or price is sent as text so the service names it)."""
        data = dict(self.cleaned_data)
        product = (data.pop("product") or "").strip()
        if for_update:
            return {key: value if value is not None else "" for key, value in data.items()}
        arguments: dict[str, Any] = {
            "name": data["name"] or None,
            "quantity": data["quantity"] or "1",
            "price": data["price"] if data["price"].strip() else None,
            "discount_percent": data["discount_percent"] or "0",
            "unit": data["unit"] or None,
            "vat_rate": data["vat_rate"] or None,
        }
        if product:
            arguments["product"] = (
                int(product) if product.isdigit() and len(product) < 19 else product
            )
        elif arguments["price"] is None:
            arguments["price"] = ""
        return arguments


class PaymentForm(MoneyForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=PaymentKind.choices)
    amount = forms.CharField(
        label=_("Amount"),
        required=False,
        widget=_number(),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (PaymentStatus.EXPECTED.value, PaymentStatus.EXPECTED.label),
            (PaymentStatus.RECEIVED.value, PaymentStatus.RECEIVED.label),
        ],
        initial=PaymentStatus.EXPECTED,
    )
    due_date = forms.CharField(label=_("Expected on"), required=False, widget=_date())
    paid_on = forms.CharField(label=_("Received on"), required=False, widget=_date())
    method = forms.ChoiceField(
        label=_("Method"), choices=[*BLANK, *PaymentMethod.choices], required=False
    )
    comment = forms.CharField(label=_("Comment"), required=False)

    def service_arguments(self, *, for_update: bool = False) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if for_update:  # the status changes through "mark received" and "cancel" only
            data.pop("status")
            data["due_date"] = data["due_date"] or None
            if not data["paid_on"]:
                data.pop("paid_on")
            return data
        if data["status"] != PaymentStatus.RECEIVED:
            data["paid_on"] = None
        return data


class PaymentReceiveForm(MoneyForm):
    paid_on = forms.CharField(label=_("Received on"), required=False, widget=_date())
    method = forms.ChoiceField(
        label=_("Method"), choices=[*BLANK, *PaymentMethod.choices], required=False
    )

    def service_arguments(self) -> dict[str, Any]:
        return {
            "paid_on": self.cleaned_data["paid_on"] or None,
            "method": self.cleaned_data["method"] or None,
        }
