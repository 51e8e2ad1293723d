"""Forms of the correspondence pages: the shape of the input; the services check the rest."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.core.forms import BootstrapForm
from crm.correspondence.choices import SenderChoice, TemplateLanguage

_SEPARATORS = re.compile(r"[,;]")


def split_addresses(text: str) -> list[str]:
    """Addresses typed into one field, separated by commas or semicolons (a line break is
    kept inside its address, so the service refuses it by name)."""
    return [part.strip(" \t") for part in _SEPARATORS.split(text or "") if part.strip()]


class TemplateForm(BootstrapForm):
    """An e-mail template: name, language, subject and text with placeholders."""

    name = forms.CharField(label=_("Name"), max_length=1000)
    language = forms.ChoiceField(label=_("Language"), choices=TemplateLanguage.choices)
    subject = forms.CharField(label=_("Subject"), max_length=1000, strip=False)
    body = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 12}), max_length=40000, strip=False
    )
    archived = forms.BooleanField(label=_("Archived"), required=False)


class SenderForm(BootstrapForm):
    """A user's own sender: the name and address, and which sender is their default."""

    from_name = forms.CharField(label=_("Sender's name"), max_length=1000, required=False)
    from_address = forms.CharField(label=_("Sender's address"), max_length=1000, required=False)
    default_sender = forms.ChoiceField(
        label=_("Send from by default"),
        choices=SenderChoice.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )


class ComposeForm(BootstrapForm):
    """Writing an e-mail: the client's addresses to tick and others to type, copies, the
    template text, the sender, the record's files and one new file."""

    to = forms.MultipleChoiceField(
        label=_("To"), required=False, widget=forms.CheckboxSelectMultiple
    )
    to_other = forms.CharField(
        label=_("Other addresses"),
        required=False,
        max_length=5000,
        help_text=_("Separate addresses with commas."),
    )
    cc = forms.CharField(label=_("Copy (cc)"), required=False, max_length=5000)
    bcc = forms.CharField(label=_("Blind copy (bcc)"), required=False, max_length=5000)
    template = forms.IntegerField(required=False, widget=forms.HiddenInput)
    subject = forms.CharField(label=_("Subject"), max_length=1000, required=False, strip=False)
    body = forms.CharField(
        label=_("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        max_length=40000,
        strip=False,
    )
    sender = forms.ChoiceField(
        label=_("From"), choices=SenderChoice.choices, widget=forms.RadioSelect
    )
    attachment_ids = forms.MultipleChoiceField(
        label=_("Files of the record"), required=False, widget=forms.CheckboxSelectMultiple
    )
    file = forms.FileField(label=_("Attach a new file"), required=False)

    def __init__(
        self,
        *args: Any,
        addresses: list[tuple[str, str]],
        files: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sender"].widget.attrs["class"] = "form-check-input"
        self.choice_field("to").choices = addresses
        self.choice_field("attachment_ids").choices = files

    def field_for(self, name: str) -> str | None:
        """Service errors on the inputs that carry them (the files' total on ``file``)."""
        if name in self.fields:
            return name
        return {"attachments": "file"}.get(name)


class SmsForm(BootstrapForm):
    """Writing an SMS: one of the client's numbers, the text (template text: placeholders are
    filled when sending) and the template it came from. The service checks the number and
    the text."""

    phone = forms.CharField(label=_("To"), required=False, max_length=100, strip=False)
    template = forms.IntegerField(required=False, widget=forms.HiddenInput)
    text = forms.CharField(
        label=_("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "data-sms-counter": "sms-length"}),
        max_length=5000,
        strip=False,
    )
