"""Forms of the administrator's lead pages: a routing rule, the rule tester, a web form
with its rows of fields, a partner code.

The forms only shape the input; ``services/rules.py`` and ``services/webforms.py`` hold
the rules, and their refusals land on the fields they name (``conditions.utm_source`` on
the "utm_source" box, ``fields[2].name`` on the third row's name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.core.errors import DomainError
from crm.core.forms import BootstrapForm
from crm.customers.choices import ClientType
from crm.leads import selectors_admin as selectors
from crm.leads.choices import Channel, Strategy
from crm.leads.models import RoutingRule, WebForm
from crm.leads.services.webforms import FIELD_TYPES

NUMBER = {"inputmode": "numeric"}
FIELD_TYPE_LABELS = {
    "text": _("Text"),
    "tel": _("Phone"),
    "email": _("E-mail"),
    "textarea": _("Long text"),
    "select": _("Choice"),
    "checkbox": _("Tick box"),
}


def _choices(form: forms.Form, name: str, choices: Any) -> None:
    """Set the choices of a choice field known only when the form is built."""
    choice_field = form.fields[name]
    assert isinstance(choice_field, forms.ChoiceField)
    choice_field.choices = choices


def split_list(text: str) -> list[str]:
    """Comma- or newline-separated values, trimmed, blanks dropped."""
    return [part.strip() for part in re.split(r"[,\n]", text or "") if part.strip()]


class SettingsForm(BootstrapForm):
    """A settings form; ``ERROR_FIELDS`` maps a service's error key to this form's field
    where the names differ (``conditions.`` keys land on the box of the same name)."""

    ERROR_FIELDS: dict[str, str] = {}

    def field_for(self, name: str) -> str | None:
        return super().field_for(self.ERROR_FIELDS.get(name, name).removeprefix("conditions."))


# --- routing rules --------------------------------------------------------------------------------


class RoutingRuleForm(SettingsForm):
    ERROR_FIELDS = {
        "conditions.fields": "field_values",
        "conditions.forms": "web_forms",
        "conditions": "client_types",
    }

    name = forms.CharField(label=_("Name"), max_length=150)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    client_types = forms.MultipleChoiceField(
        label=_("Client types"),
        required=False,
        choices=ClientType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        required=False,
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    web_forms = forms.MultipleChoiceField(
        label=_("Web forms"), required=False, widget=forms.CheckboxSelectMultiple
    )
    utm_source = forms.CharField(
        label="utm_source",
        required=False,
        max_length=2000,
        help_text=_("Comma-separated; any of them matches."),
    )
    utm_medium = forms.CharField(label="utm_medium", required=False, max_length=2000)
    utm_campaign = forms.CharField(label="utm_campaign", required=False, max_length=2000)
    field_values = forms.CharField(
        label=_("Form field values"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "budget=больше"}),
        help_text=_("One “field=value” a line; every one must hold (case does not matter)."),
    )
    pipeline = forms.ChoiceField(label=_("Pipeline"))
    team = forms.ChoiceField(label=_("Team"), required=False)
    strategy = forms.ChoiceField(label=_("Assignment"), choices=Strategy.choices)
    fixed_user = forms.ChoiceField(
        label=_("Fixed user"),
        required=False,
        help_text=_("For “A fixed user”; when they are away, the team's next one."),
    )
    response_minutes = forms.IntegerField(
        label=_("Respond within, working minutes"),
        min_value=1,
        widget=forms.NumberInput(attrs=NUMBER),
    )
    reassign_on_escalation = forms.BooleanField(label=_("Reassign when overdue"), required=False)

    def __init__(self, *args: Any, rule: RoutingRule | None = None, **kwargs: Any) -> None:
        self.rule = rule
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(rule)
        super().__init__(*args, **kwargs)
        _choices(self, "web_forms", selectors.web_form_choices())
        _choices(
            self,
            "pipeline",
            [("", "—"), *selectors.pipeline_choices(keep=rule.pipeline_id if rule else None)],
        )
        _choices(self, "team", [("", "—"), *selectors.team_choices()])
        _choices(
            self,
            "fixed_user",
            [
                ("", "—"),
                *selectors.assignable_user_choices(keep=rule.fixed_user_id if rule else None),
            ],
        )
        if rule is not None and rule.is_default:
            for name in self.condition_fields():
                del self.fields[name]
            del self.fields["is_active"]

    @staticmethod
    def condition_fields() -> tuple[str, ...]:
        return (
            "client_types",
            "channels",
            "web_forms",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "field_values",
        )

    @staticmethod
    def initial_for(rule: RoutingRule) -> dict[str, Any]:
        conditions = rule.conditions or {}
        return {
            "name": rule.name,
            "is_active": rule.is_active,
            "client_types": conditions.get("client_types", []),
            "channels": conditions.get("channels", []),
            "web_forms": [str(pk) for pk in conditions.get("forms", [])],
            **{
                key: ", ".join(conditions.get(key, []))
                for key in ("utm_source", "utm_medium", "utm_campaign")
            },
            "field_values": "\n".join(
                f"{name}={value}" for name, value in (conditions.get("fields") or {}).items()
            ),
            "pipeline": rule.pipeline_id,
            "team": rule.team_id or "",
            "strategy": rule.strategy,
            "fixed_user": rule.fixed_user_id or "",
            "response_minutes": rule.response_minutes,
            "reassign_on_escalation": rule.reassign_on_escalation,
        }

    def clean_field_values(self) -> dict[str, str]:
        pairs: dict[str, str] = {}
        for line in (self.cleaned_data.get("field_values") or "").splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep:
                raise forms.ValidationError(
                    _("“%(line)s”: write it as field=value."), params={"line": line.strip()[:60]}
                )
            pairs[name.strip()] = value.strip()
        return pairs

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        service: dict[str, Any] = {
            "name": data["name"],
            "pipeline_id": data["pipeline"],
            "team_id": data.get("team") or None,
            "strategy": data["strategy"],
            "fixed_user_id": data.get("fixed_user") or None,
            "response_minutes": data["response_minutes"],
            "reassign_on_escalation": data.get("reassign_on_escalation", False),
            "is_active": data.get("is_active", True) if "is_active" in self.fields else True,
        }
        if "client_types" in self.fields:
            service["conditions"] = {
                "client_types": data.get("client_types") or [],
                "channels": data.get("channels") or [],
                "forms": data.get("web_forms") or [],
                "utm_source": split_list(data.get("utm_source", "")),
                "utm_medium": split_list(data.get("utm_medium", "")),
                "utm_campaign": split_list(data.get("utm_campaign", "")),
                "fields": data.get("field_values") or {},
            }
        else:
            service["conditions"] = {}
        return service


class RuleTestForm(BootstrapForm):
    client_type = forms.ChoiceField(
        label=_("Client type"), required=False, choices=ClientType.choices
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=Channel.choices)
    form = forms.ChoiceField(label=_("Web form"), required=False)
    utm_source = forms.CharField(label="utm_source", required=False, max_length=200)

    def __init__(self, *args: Any, form_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "form", [("", "—"), *form_choices])


# --- web forms ------------------------------------------------------------------------------------


class WebFormForm(SettingsForm):
    name = forms.CharField(label=_("Name"), max_length=150)
    allowed_origins = forms.CharField(
        label=_("Allowed sites"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "https://example.ru"}),
        help_text=_(
            "One address a line, as https://example.ru (with the port if it is not the usual "
            "one). Only these sites may send the form from a script."
        ),
    )
    thank_you_text = forms.CharField(
        label=_("Thank-you text"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    redirect_url = forms.CharField(
        label=_("Redirect after sending"),
        required=False,
        max_length=500,
        help_text=_("Instead of the thank-you text, when the form is sent without a script."),
    )
    min_fill_seconds = forms.IntegerField(
        label=_("Minimum fill time, s"),
        min_value=0,
        max_value=60,
        widget=forms.NumberInput(attrs=NUMBER),
        help_text=_("Sent faster than this, it is treated as a bot's."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @staticmethod
    def initial_for(form: WebForm) -> dict[str, Any]:
        return {
            "name": form.name,
            "allowed_origins": "\n".join(form.allowed_origins),
            "thank_you_text": form.thank_you_text,
            "redirect_url": form.redirect_url,
            "min_fill_seconds": form.min_fill_seconds,
            "is_active": form.is_active,
        }

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "allowed_origins": [
                value for value in re.split(r"[\s,]+", data["allowed_origins"]) if value
            ],
            "thank_you_text": data["thank_you_text"],
            "redirect_url": data["redirect_url"],
            "min_fill_seconds": data["min_fill_seconds"],
            "is_active": data["is_active"],
        }


@dataclass
class FieldRow:
    """One row of the fields editor, as typed; ``errors`` maps a column to its messages."""

    name: str = ""
    label: str = ""
    type: str = "text"
    required: bool = False
    options: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_blank(self) -> bool:
        return not (self.name.strip() or self.label.strip())

    def as_field(self) -> dict[str, Any]:
        return {
            "name": self.name.strip(),
            "label": self.label.strip() or self.name.strip(),
            "type": self.type,
            "required": self.required,
            "options": [line.strip() for line in self.options.splitlines() if line.strip()]
            if self.type == "select"
            else [],
        }


FIELD_ROW_INPUTS = ("field_row", "field_name", "field_label", "field_type", "field_options")


def field_rows_from_post(data: Any) -> list[FieldRow]:
    """The editor's rows in the order they were on the page. Every row sends each of
    ``FIELD_ROW_INPUTS`` once, so the lists line up; its "required" box sends the row's
    token (``field_row``), since an unticked box sends nothing."""
    columns = [data.getlist(name) for name in FIELD_ROW_INPUTS]
    count = max(len(column) for column in columns)
    columns = [column + [""] * (count - len(column)) for column in columns]
    required = set(data.getlist("field_required"))
    rows = []
    for token, name, label, kind, options in zip(*columns, strict=True):
        rows.append(
            FieldRow(
                name=name[:100],
                label=label[:300],
                type=kind if kind in FIELD_TYPES else "text",
                required=bool(token) and token in required,
                options=options[:5000],
            )
        )
    return rows


def field_rows_from_form(form: WebForm) -> list[FieldRow]:
    return [
        FieldRow(
            name=item.get("name", ""),
            label=item.get("label", ""),
            type=item.get("type", "text"),
            required=bool(item.get("required")),
            options="\n".join(item.get("options") or []),
        )
        for item in form.fields
    ]


def default_field_rows() -> list[FieldRow]:
    """What a new form starts with: a name, a phone, an e-mail and a message."""
    return [
        FieldRow("name", str(pgettext_lazy("person", "Name")), "text", True),
        FieldRow("phone", str(_("Phone")), "tel", True),
        FieldRow("email", str(_("E-mail")), "email", False),
        FieldRow("message", str(_("Comment")), "textarea", False),
    ]


def field_rows_payload(rows: list[FieldRow]) -> tuple[list[dict[str, Any]], list[int]]:
    """The fields to save (blank rows dropped) and, for each, the index of its row."""
    kept = [index for index, row in enumerate(rows) if not row.is_blank]
    return [rows[index].as_field() for index in kept], kept


ROW_ERROR = re.compile(r"^fields\[(\d+)\]\.(\w+)$")


def field_rows_apply_errors(
    rows: list[FieldRow], kept: list[int], error: DomainError
) -> DomainError:
    """Put ``fields[i].column`` refusals on their rows; returns the rest of the error."""
    rest: dict[str, list[str]] = {}
    for key, messages in error.field_errors.items():
        match = ROW_ERROR.match(key)
        if match and int(match.group(1)) < len(kept):
            row = rows[kept[int(match.group(1))]]
            row.errors.setdefault(match.group(2), []).extend(messages)
        else:
            rest[key] = messages
    return DomainError(error.message, field_errors=rest)


# --- partner codes --------------------------------------------------------------------------------


class PartnerCodeForm(SettingsForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=100,
        help_text=_("As it arrives in the “partner” field or in utm_source."),
    )
    name = forms.CharField(label=_("Partner"), max_length=150)
