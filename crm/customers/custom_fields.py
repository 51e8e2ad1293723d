"""The form field of a custom field definition: one builder for every form with custom
fields (the customer forms and the deal form), so no app imports another app's forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.customers.choices import CustomFieldType
from crm.customers.models import CustomField

BLANK = [("", "—")]


def _select() -> forms.Select:
    return forms.Select(attrs={"class": "form-select"})


def custom_form_field(definition: CustomField) -> forms.Field:
    """The form field of a custom field definition, by its type (values stay text: the
    cleaner of the record's service checks and converts them)."""
    common: dict[str, Any] = {
        "label": definition.label,
        "required": False,
        "help_text": definition.help_text,
    }
    options = [(str(choice), str(choice)) for choice in definition.choices or []]
    kind = definition.field_type
    if kind == CustomFieldType.NUMBER:
        return forms.CharField(
            widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "decimal"}),
            **common,
        )
    if kind == CustomFieldType.DATE:
        return forms.CharField(
            widget=forms.DateInput(attrs={"class": "form-control", "type": "date"}), **common
        )
    if kind == CustomFieldType.URL:
        return forms.CharField(
            widget=forms.URLInput(attrs={"class": "form-control", "placeholder": "https://"}),
            **common,
        )
    if kind == CustomFieldType.CHOICE:
        return forms.ChoiceField(choices=BLANK + options, widget=_select(), **common)
    if kind == CustomFieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=options,
            widget=forms.SelectMultiple(
                attrs={"class": "form-select", "size": min(6, len(options) or 1)}
            ),
            **common,
        )
    if kind == CustomFieldType.BOOLEAN:
        return forms.ChoiceField(
            choices=[*BLANK, ("true", _("Yes")), ("false", _("No"))], widget=_select(), **common
        )
    return forms.CharField(
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}), **common
    )
