"""The segment editor's form (its fields become a spec for ``spec.spec_clean``) and the
consent form of the contact card."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import Team, User
from crm.core.forms import BootstrapForm
from crm.correspondence.choices import SenderChoice
from crm.customers.choices import ClientType, ConsentSource, CustomFieldType, Source
from crm.customers.models import CustomField
from crm.mailings.spec import NO_TOUCH_DAYS_MAX, TEXT_MAX
from crm.sales.models import Product

YES_NO_ANY = [("", _("Either")), ("yes", _("Yes")), ("no", _("No"))]
CUSTOM_PREFIX = "custom_"


class SegmentForm(BootstrapForm):
    """The filters of a segment as inputs; ``spec()`` turns them into the JSON spec."""

    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    is_shared = forms.BooleanField(label=_("Shared with everyone"), required=False)
    q = forms.CharField(label=_("Name, phone or e-mail"), max_length=TEXT_MAX, required=False)
    owner = forms.TypedChoiceField(
        label=_("Responsible"), required=False, coerce=int, empty_value=None
    )
    team = forms.TypedChoiceField(label=_("Team"), required=False, coerce=int, empty_value=None)
    client_type = forms.ChoiceField(
        label=_("Client type"), required=False, choices=[("", _("Any")), *ClientType.choices]
    )
    tags = forms.CharField(
        label=_("Tags (any of them, separated by commas)"), max_length=1100, required=False
    )
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("Any")), *Source.choices]
    )
    company = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    product = forms.TypedChoiceField(
        label=_("Bought the product"), required=False, coerce=int, empty_value=None
    )
    no_touch_days = forms.IntegerField(
        label=_("No touch for at least, days"),
        required=False,
        min_value=1,
        max_value=NO_TOUCH_DAYS_MAX,
    )
    has_email = forms.ChoiceField(label=_("Has an e-mail"), required=False, choices=YES_NO_ANY)
    has_phone = forms.ChoiceField(label=_("Has a phone"), required=False, choices=YES_NO_ANY)
    consent = forms.ChoiceField(label=_("Consent to mailings"), required=False, choices=YES_NO_ANY)
    with_companies = forms.BooleanField(
        label=_("Also the people of companies that match"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = User.objects.filter(is_active=True).order_by("last_name", "first_name", "id")
        self.fields["owner"].choices = [("", _("Anyone")), *((u.pk, str(u)) for u in users)]  # type: ignore[attr-defined]
        self.fields["team"].choices = [  # type: ignore[attr-defined]
            ("", _("Any")),
            *Team.objects.order_by("name").values_list("pk", "name"),
        ]
        self.fields["product"].choices = [  # type: ignore[attr-defined]
            ("", _("Any")),
            *Product.objects.filter(archived=False)
            .order_by("name", "id")
            .values_list("pk", "name"),
        ]
        self.custom_fields = list(
            CustomField.objects.filter(is_active=True, entity__in=["contact", "company"]).order_by(
                "entity", "position", "id"
            )
        )
        seen: set[str] = set()
        for definition in self.custom_fields:
            if definition.key in seen:
                continue
            seen.add(definition.key)
            name = CUSTOM_PREFIX + definition.key
            label = definition.label
            if definition.entity == "company":
                label = _("Company: %(label)s") % {"label": label}
            if definition.field_type in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE):
                self.fields[name] = forms.ChoiceField(
                    label=label,
                    required=False,
                    choices=[("", _("Any")), *((c, c) for c in definition.choices)],
                )
            elif definition.field_type == CustomFieldType.BOOLEAN:
                self.fields[name] = forms.ChoiceField(
                    label=label, required=False, choices=YES_NO_ANY
                )
            else:
                self.fields[name] = forms.CharField(label=label, required=False, max_length=200)
            css = (
                "form-select"
                if isinstance(self.fields[name], forms.ChoiceField)
                else "form-control"
            )
            self.fields[name].widget.attrs["class"] = css

    def custom_field_names(self) -> list[str]:
        return [name for name in self.fields if name.startswith(CUSTOM_PREFIX)]

    def spec(self) -> dict[str, Any]:
        """The spec of the cleaned inputs (the form must be valid)."""
        data = self.cleaned_data
        spec: dict[str, Any] = {}
        for key in ("q", "client_type", "source"):
            if data.get(key):
                spec[key] = data[key]
        for key in ("owner", "team", "company", "product", "no_touch_days"):
            if data.get(key) is not None:
                spec[key] = data[key]
        tags = [tag.strip() for tag in (data.get("tags") or "").split(",") if tag.strip()]
        if tags:
            spec["tags"] = tags
        for key in ("has_email", "has_phone", "consent"):
            if data.get(key) in ("yes", "no"):
                spec[key] = data[key] == "yes"
        if data.get("with_companies"):
            spec["with_companies"] = True
        custom: dict[str, Any] = {}
        types = {d.key: d.field_type for d in self.custom_fields}
        for name in self.custom_field_names():
            value = data.get(name)
            if value in (None, ""):
                continue
            key = name[len(CUSTOM_PREFIX) :]
            if types.get(key) == CustomFieldType.BOOLEAN:
                value = value == "yes"
            custom[key] = value
        if custom:
            spec["custom"] = custom
        return spec

    @classmethod
    def initial_of(cls, name: str, is_shared: bool, spec: dict[str, Any]) -> dict[str, Any]:
        """The form's initial values for a saved segment."""
        initial: dict[str, Any] = {"name": name, "is_shared": is_shared}
        for key, value in spec.items():
            if key == "tags":
                initial[key] = ", ".join(value)
            elif key in ("has_email", "has_phone", "consent"):
                initial[key] = "yes" if value else "no"
            elif key == "custom":
                for field_key, field_value in value.items():
                    if isinstance(field_value, bool):
                        field_value = "yes" if field_value else "no"
                    initial[CUSTOM_PREFIX + field_key] = field_value
            else:
                initial[key] = value
        return initial

    def field_for(self, error_key: str) -> str | None:
        """The input a spec error (``spec.<key>``, ``spec.custom.<key>``) belongs to."""
        key = error_key.removeprefix("spec.")
        if key.startswith("custom."):
            key = CUSTOM_PREFIX + key[len("custom.") :]
        return key if key in self.fields else None


class ConsentForm(BootstrapForm):
    """The contact card's consent form: consent given (when, from where) and which of the
    contact's addresses are unsubscribed."""

    consent_given = forms.BooleanField(label=_("Consent to mailings given"), required=False)
    consent_on = forms.DateField(
        label=_("Date of consent"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    consent_source = forms.ChoiceField(
        label=_("Consent source"), required=False, choices=[("", "—"), *ConsentSource.choices]
    )
    unsubscribed = forms.TypedMultipleChoiceField(
        label=_("Unsubscribed addresses"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args: Any, emails: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unsubscribed"].choices = [(p.pk, p.value) for p in emails]  # type: ignore[attr-defined]


class MailingForm(BootstrapForm):
    """A draft mailing: the segment and template chosen among the user's, the sender, when
    (empty: at the start) and the rate."""

    name = forms.CharField(label=_("Name"), max_length=200)
    segment_id = forms.TypedChoiceField(label=_("Segment"), coerce=int)
    template_id = forms.TypedChoiceField(label=_("Template"), coerce=int)
    sender = forms.ChoiceField(label=_("Sender"), choices=SenderChoice.choices)
    send_at = forms.DateTimeField(
        label=_("Send at (empty: as soon as it starts)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    rate_per_minute = forms.IntegerField(
        label=_("Messages per minute"), min_value=1, max_value=100_000
    )

    def __init__(
        self,
        *args: Any,
        segments: list[tuple[int, str]],
        templates: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment_id"].choices = [("", "—"), *segments]  # type: ignore[attr-defined]
        self.fields["template_id"].choices = [("", "—"), *templates]  # type: ignore[attr-defined]
