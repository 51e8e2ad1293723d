"""The deal form: shapes only; the service checks everything else (and names the field)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.core.forms import BootstrapForm
from crm.customers.custom_fields import custom_form_field
from crm.customers.models import CustomField
from crm.sales.choices import Currency


class DealForm(BootstrapForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    pipeline_id = forms.TypedChoiceField(label=_("Pipeline"), coerce=int, required=False)
    stage_id = forms.TypedChoiceField(label=_("Stage"), coerce=int, required=False)
    amount = forms.CharField(label=_("Amount"), required=False, max_length=40)
    currency = forms.ChoiceField(
        label=_("Currency"), choices=Currency.choices, initial=Currency.RUB
    )
    amount_from_lines = forms.BooleanField(label=_("Amount follows the products"), required=False)
    expected_close = forms.DateField(
        label=_("Expected close date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    contact_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    company_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    owner_id = forms.TypedChoiceField(label=_("Responsible"), coerce=int, required=False)
    invoice_number = forms.CharField(label=_("Invoice number"), required=False, max_length=50)
    contract_number = forms.CharField(label=_("Contract number"), required=False, max_length=50)
    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=1000, help_text=_("Separated by commas.")
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self,
        *args: Any,
        pipelines: list[Any],
        owners: list[Any],
        creating: bool,
        definitions: list[CustomField] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.definitions = definitions or []
        for definition in self.definitions:
            self.fields[f"custom.{definition.key}"] = custom_form_field(definition)
        self.choice_field("pipeline_id").choices = [("", _("By client type"))] + [
            (p.pk, p.name) for p in pipelines
        ]
        self.choice_field("stage_id").choices = [("", _("First stage"))] + [
            (p.name, [(s.pk, s.name) for s in p.stages.all()]) for p in pipelines
        ]
        self.choice_field("owner_id").choices = [("", _("Me"))] + [
            (u.pk, u.get_full_name() or u.username) for u in owners if u.is_active
        ]
        if not creating:
            # Stages change by moving the deal (the board or the card's stage buttons).
            del self.fields["stage_id"]
            del self.fields["pipeline_id"]

    def custom_bound_fields(self) -> list[tuple[forms.BoundField, CustomField]]:
        return [(self[f"custom.{d.key}"], d) for d in self.definitions]

    def service_data(self) -> dict[str, Any]:
        data = {
            key: value for key, value in self.cleaned_data.items() if not key.startswith("custom.")
        }
        custom: dict[str, Any] = {}
        for definition in self.definitions:
            name = f"custom.{definition.key}"
            if definition.field_type == "multi_choice":
                custom[definition.key] = (
                    self.data.getlist(name) if hasattr(self.data, "getlist") else []
                )
            else:
                custom[definition.key] = self.data.get(name, "")
        if self.definitions:
            data["custom"] = custom
        data["tags"] = [tag.strip() for tag in (data.get("tags") or "").split(",") if tag.strip()]
        data["amount_from_lines"] = bool(data.get("amount_from_lines"))
        return data


class LoseForm(BootstrapForm):
    lost_reason_id = forms.TypedChoiceField(label=_("Reason"), coerce=int, required=False)
    lost_comment = forms.CharField(label=_("Comment"), required=False, max_length=500)

    def __init__(self, *args: Any, reasons: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choice_field("lost_reason_id").choices = [("", "—")] + [
            (r.pk, r.name) for r in reasons
        ]
