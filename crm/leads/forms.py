"""Forms of the lead pages (shapes only; the services apply the rules)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.core.forms import BootstrapForm
from crm.customers.choices import ClientType


class LeadForm(BootstrapForm):
    name = forms.CharField(label=pgettext_lazy("person", "Name"), required=False, max_length=200)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    email = forms.CharField(label=_("E-mail"), required=False, max_length=254)
    company = forms.CharField(label=_("Company"), required=False, max_length=300)
    inn = forms.CharField(label=_("INN"), required=False, max_length=20)
    client_type = forms.ChoiceField(
        label=_("Client type"), required=False, choices=[("", "—"), *ClientType.choices]
    )
    message = forms.CharField(
        label=_("Request"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class StatusForm(BootstrapForm):
    status = forms.CharField(max_length=20)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)


NEW_CONTACT = "new"


class ConvertForm(BootstrapForm):
    deal_title = forms.CharField(label=_("Deal title"), required=False, max_length=200)
    amount = forms.CharField(label=_("Amount"), required=False, max_length=40)
    create_contact = forms.BooleanField(label=_("Create a contact"), required=False, initial=True)
    create_company = forms.BooleanField(label=_("Create a company"), required=False)
    allow_duplicate = forms.BooleanField(
        label=_("Create even if a duplicate exists"), required=False
    )
    # The offered contacts (``lead_contact_candidates``): an id, or NEW_CONTACT.
    contact_choice = forms.CharField(required=False, max_length=20)

    def clean_contact_choice(self) -> str:
        choice: str = self.cleaned_data.get("contact_choice") or ""
        if choice and choice != NEW_CONTACT and not choice.isdigit():
            raise forms.ValidationError(_("Choose a contact, or create a new one anyway."))
        return choice

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["amount"] = data.get("amount") or None
        choice = data.pop("contact_choice", "")
        if choice == NEW_CONTACT:
            data["create_new"] = True
        elif choice:
            data["contact_id"] = choice  # the service finds it among the visible ones or 422
        return data
