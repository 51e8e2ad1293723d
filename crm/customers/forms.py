"""Forms of the contact and company pages: rendering and parsing only.

Validation is the services' job (``services.cleaning``): these classes turn POST data into
the dict the services expect and put the services' ``ValidationFailed.field_errors`` next to
the right inputs. Django's own form validation never runs (``_errors`` is preset), so the
UI, the API and imports share one set of rules.

Repeatable groups (phones, e-mails, messengers, addresses, places of work) arrive as
parallel lists (``phone_value``/``phone_label`` …) and are zipped into rows; row ``i`` of
the form is item ``i`` of the list sent to the service, so an error keyed ``phones[1]``
lands on the second phone row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, cast

from django import forms
from django.conf import settings
from django.forms.utils import ErrorDict
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from crm.core.normalize import normalize_email, normalize_inn, normalize_phone
from crm.customers.choices import (
    AddressKind,
    ClientType,
    ContactPointKind,
    ContactPointLabel,
    CustomFieldType,
    LegalForm,
    Messenger,
    Source,
)
from crm.customers.custom_fields import custom_form_field
from crm.customers.models import Company, Contact, CustomField

NAME_CHECK_MAX = 150
BLANK = [("", "—")]

# group → (POST prefix, row keys in POST, service key)
GROUPS = {
    "phones": ("phone", ("value", "label")),
    "emails": ("email", ("value", "label")),
    "messengers": ("messenger", ("value", "messenger", "label")),
    "addresses": ("address", ("kind", "text")),
    "employments": ("employment", ("company_id", "position")),
}
_INDEXED = re.compile(r"^(?P<group>\w+)\[(?P<index>\d+)\](?:\.(?P<part>\w+))?$")


def _text(**attrs: Any) -> forms.TextInput:
    return forms.TextInput(attrs={"class": "form-control", **attrs})


def _select() -> forms.Select:
    return forms.Select(attrs={"class": "form-select"})


def _area(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"class": "form-control", "rows": rows})


# --- rows of repeatable groups ---------------------------------------------------------------


@dataclass
class Row:
    """One row of a repeatable group with the messages the service gave for it."""

    values: dict[str, str]
    errors: list[str] = field(default_factory=list)


@dataclass
class Group:
    """A repeatable group of rows; ``errors`` hold messages about the group as a whole."""

    rows: list[Row]
    errors: list[str] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or any(row.errors for row in self.rows))


def _rows_from_post(post: QueryDict, prefix: str, keys: tuple[str, ...]) -> list[dict[str, str]]:
    columns = [post.getlist(f"{prefix}_{key}") for key in keys]
    length = max((len(column) for column in columns), default=0)
    return [
        {
            key: (column[i] if i < len(column) else "")
            for key, column in zip(keys, columns, strict=True)
        }
        for i in range(length)
    ]


def _rows_from_record(record: Contact | Company) -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = {name: [] for name in GROUPS}
    for point in record.points.all():
        if point.kind == ContactPointKind.PHONE:
            rows["phones"].append({"value": point.display, "label": point.label})
        elif point.kind == ContactPointKind.EMAIL:
            rows["emails"].append({"value": point.value, "label": point.label})
        else:
            rows["messengers"].append(
                {"value": point.display, "messenger": point.messenger, "label": point.label}
            )
    rows["addresses"] = [{"kind": a.kind, "text": a.text} for a in record.addresses.all()]
    if isinstance(record, Contact):
        rows["employments"] = [
            {"company_id": str(e.company_id), "position": e.position}
            for e in record.employments.all()
        ]
    return rows


def _blank_row(name: str) -> dict[str, str]:
    keys = GROUPS[name][1]
    row = dict.fromkeys(keys, "")
    if "label" in row:
        row["label"] = ContactPointLabel.MOBILE if name == "phones" else ContactPointLabel.WORK
    if name == "addresses":
        row["kind"] = AddressKind.ACTUAL
    if name == "messengers":
        row["messenger"] = Messenger.TELEGRAM
    return row


def parse_id(value: Any) -> int | None:
    """A positive database id from text, or ``None``."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    # Ids beyond 64 bits would overflow the database driver instead of matching nothing.
    return number if 0 < number < 2**63 else None


# --- the forms ---------------------------------------------------------------------------------


class CustomerForm(forms.Form):
    """Common part of the contact and company forms.

    Build it with ``post`` (a re-render after a refused save) or ``record``/``initial``
    (a fresh page). ``data_for_service()`` returns the dict the services take;
    ``show_errors()`` places the services' messages.
    """

    entity = ""
    group_names: tuple[str, ...] = ("phones", "emails", "messengers", "addresses")
    type_field = "client_type"

    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[*BLANK, *Source.choices], widget=_select()
    )
    owner_id = forms.ChoiceField(label=_("Responsible"), required=False, widget=_select())
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        help_text=_("Separate tags with commas."),
        widget=_text(placeholder=_("vip, wholesale")),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=_area(4))

    def __init__(
        self,
        *,
        post: QueryDict | None = None,
        record: Contact | Company | None = None,
        initial: dict[str, Any] | None = None,
        owners: list[Any],
        definitions: list[CustomField],
        initial_rows: dict[str, list[dict[str, str]]] | None = None,
    ) -> None:
        initial = {**(self._initial_from(record) if record else {}), **(initial or {})}
        super().__init__(data=post, initial=initial)
        # Rendering only: the service validates, so Django's validation must never run.
        self._errors = ErrorDict()
        self.other_errors: list[tuple[str, list[str]]] = []
        self.record = record
        self.definitions = definitions
        cast(forms.ChoiceField, self.fields["owner_id"]).choices = [
            (str(user.pk), str(user)) for user in owners
        ]
        for definition in definitions:
            self.fields[f"custom.{definition.key}"] = custom_form_field(definition)
        if post is not None:
            raw_rows = {name: _rows_from_post(post, *GROUPS[name]) for name in self.group_names}
        else:
            raw_rows = _rows_from_record(record) if record else {}
            raw_rows.update(initial_rows or {})
        self.groups = {
            name: Group([Row(values) for values in raw_rows.get(name) or [_blank_row(name)]])
            for name in self.group_names
        }
        self._service_index: dict[str, list[int]] = {}

    # --- reading ----------------------------------------------------------------------------

    def _initial_from(self, record: Contact | Company) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "source": record.source,
            "owner_id": str(record.owner_id),
            "tags": ", ".join(tag.name for tag in record.tags.all()),
            "notes": record.notes,
        }
        for key, value in (record.custom or {}).items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            initial[f"custom.{key}"] = value
        return initial

    def _group_for_service(self, name: str) -> list[dict[str, Any]]:
        rows = [row.values for row in self.groups[name].rows]
        self._service_index[name] = list(range(len(rows)))
        if name == "phones" or name == "emails":
            return [{"value": r["value"], "label": r["label"]} for r in rows]
        if name == "messengers":
            return [
                {"value": r["value"], "messenger": r["messenger"], "label": r["label"]}
                for r in rows
            ]
        if name == "addresses":
            return [{"kind": r["kind"], "text": r["text"]} for r in rows]
        # places of work: an empty row means "none"; a bad id is sent as 0 to get an error
        items, index = [], []
        for row_index, row in enumerate(rows):
            if not str(row["company_id"]).strip() and not row["position"].strip():
                continue
            items.append(
                {"company_id": parse_id(row["company_id"]) or 0, "position": row["position"]}
            )
            index.append(row_index)
        self._service_index[name] = index
        return items

    def _custom_for_service(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        assert isinstance(self.data, MultiValueDict)
        for definition in self.definitions:
            name = f"custom.{definition.key}"
            if definition.field_type == CustomFieldType.MULTI_CHOICE:
                values[definition.key] = self.data.getlist(name)
            else:
                values[definition.key] = self.data.get(name, "")
        return values

    def data_for_service(self) -> dict[str, Any]:
        """The posted values in the shape ``services.*_create``/``*_update`` take."""
        post = self.data
        data: dict[str, Any] = {
            name: post.get(name, "") for name in self.scalar_names() if name != "owner_id"
        }
        data["owner_id"] = post.get("owner_id") or None
        for name in self.group_names:
            data[name] = self._group_for_service(name)
        data["custom"] = self._custom_for_service()
        return data

    def scalar_names(self) -> list[str]:
        return [name for name in self.fields if not name.startswith("custom.")]

    @property
    def type_value(self) -> str:
        """The client type (a contact's) or kind (a company's) the form holds."""
        if self.is_bound:
            return str(self.data.get(self.type_field, ""))
        return str(self.initial.get(self.type_field, ""))

    # --- errors -----------------------------------------------------------------------------

    def show_errors(self, field_errors: dict[str, list[str]]) -> None:
        """Attach the services' messages to fields and rows; the rest goes to the top."""
        for key, messages in field_errors.items():
            if key in self.fields:
                self._errors[key] = self.error_class(messages)
                widget = self.fields[key].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                continue
            if key == "tags" or key.startswith("tags["):
                self._errors.setdefault("tags", self.error_class()).extend(messages)
                self.fields["tags"].widget.attrs["class"] = "form-control is-invalid"
                continue
            if key in self.groups:
                self.groups[key].errors.extend(messages)
                continue
            match = _INDEXED.match(key)
            if match and match["group"] in self.groups:
                group = self.groups[match["group"]]
                index_map = self._service_index.get(match["group"])
                index = int(match["index"])
                row_index = index_map[index] if index_map and index < len(index_map) else index
                if row_index < len(group.rows):
                    group.rows[row_index].errors.extend(messages)
                    continue
            if key != "duplicate":
                self.other_errors.append((key, messages))

    # --- rendering helpers ------------------------------------------------------------------

    def custom_bound_fields(self) -> list[tuple[forms.BoundField, CustomField]]:
        return [(self[f"custom.{d.key}"], d) for d in self.definitions]


class ContactForm(CustomerForm):
    """A person's card: names, type, birthday, contacts, places of work, custom fields."""

    entity = "contact"
    group_names = ("phones", "emails", "messengers", "addresses", "employments")

    last_name = forms.CharField(
        label=_("Last name"), required=False, widget=_text(maxlength=150, autocomplete="off")
    )
    first_name = forms.CharField(
        label=_("First name"), required=False, widget=_text(maxlength=150, autocomplete="off")
    )
    middle_name = forms.CharField(
        label=_("Patronymic"), required=False, widget=_text(maxlength=150, autocomplete="off")
    )
    client_type = forms.ChoiceField(
        label=_("Client type"), choices=ClientType.choices, widget=_select()
    )
    birthday = forms.CharField(
        label=_("Birthday"),
        required=False,
        widget=forms.DateInput(attrs={"class": "form-control", "type": "date"}),
    )
    preferences = forms.CharField(label=_("Preferences"), required=False, widget=_area(2))

    @property
    def first_name_required(self) -> bool:
        """Whether the first name is marked required (``CRM_CONTACT_FIRST_NAME_REQUIRED``);
        otherwise a last name or a first name is enough (``contact_name_problems``)."""
        return bool(settings.CRM_CONTACT_FIRST_NAME_REQUIRED)

    def _initial_from(self, record: Contact | Company) -> dict[str, Any]:
        assert isinstance(record, Contact)
        return {
            **super()._initial_from(record),
            "last_name": record.last_name,
            "first_name": record.first_name,
            "middle_name": record.middle_name,
            "client_type": record.client_type,
            "birthday": record.birthday.isoformat() if record.birthday else "",
            "preferences": record.preferences,
        }


class CompanyForm(CustomerForm):
    """A company's card: names, legal form, requisites, contacts, custom fields."""

    entity = "company"
    type_field = "kind"

    legal_name = forms.CharField(
        label=_("Legal name"), required=False, widget=_text(maxlength=300, autocomplete="off")
    )
    short_name = forms.CharField(
        label=_("Short name"), required=False, widget=_text(maxlength=150, autocomplete="off")
    )
    legal_form = forms.ChoiceField(
        label=_("Legal form"),
        required=False,
        choices=[*BLANK, *LegalForm.choices],
        widget=_select(),
    )
    kind = forms.ChoiceField(
        label=_("Client type"),
        choices=[
            (ClientType.BUSINESS, ClientType.BUSINESS.label),
            (ClientType.GOVERNMENT, ClientType.GOVERNMENT.label),
        ],
        widget=_select(),
    )
    inn = forms.CharField(
        label=_("ИНН"), required=False, widget=_text(inputmode="numeric", maxlength=14)
    )
    kpp = forms.CharField(label=_("КПП"), required=False, widget=_text(maxlength=11))
    ogrn = forms.CharField(
        label=_("ОГРН"), required=False, widget=_text(inputmode="numeric", maxlength=17)
    )
    website = forms.CharField(
        label=_("Website"), required=False, widget=_text(placeholder="https://")
    )
    industry = forms.CharField(label=_("Industry"), required=False, widget=_text(maxlength=120))

    def _initial_from(self, record: Contact | Company) -> dict[str, Any]:
        assert isinstance(record, Company)
        return {
            **super()._initial_from(record),
            **{
                name: getattr(record, name)
                for name in (
                    "legal_name",
                    "short_name",
                    "legal_form",
                    "kind",
                    "inn",
                    "kpp",
                    "ogrn",
                    "website",
                    "industry",
                )
            },
        }


# --- the live duplicate check ------------------------------------------------------------------


def _lenient_points(post: QueryDict) -> list[tuple[str, str]]:
    """Phones and e-mails that normalise; anything malformed is skipped, never an error."""
    points: list[tuple[str, str]] = []
    for prefix, kind, normalizer in (
        ("phone", ContactPointKind.PHONE, normalize_phone),
        ("email", ContactPointKind.EMAIL, normalize_email),
    ):
        for raw in post.getlist(f"{prefix}_value")[:20]:
            if not raw.strip():
                continue
            try:
                points.append((kind, normalizer(raw)))
            except (ValueError, TypeError):
                continue
    return points


def _name(post: QueryDict, key: str) -> str:
    return " ".join(str(post.get(key, "")).split())[:NAME_CHECK_MAX]


def contact_check_input(post: QueryDict) -> dict[str, Any]:
    """Keyword arguments for ``services.contact_duplicates_find`` from a half-typed form."""
    return {
        "last_name": _name(post, "last_name"),
        "first_name": _name(post, "first_name"),
        "middle_name": _name(post, "middle_name"),
        "points": _lenient_points(post),
        "exclude_id": parse_id(post.get("record_id")),
    }


def company_check_input(post: QueryDict) -> dict[str, Any]:
    """Keyword arguments for ``services.company_duplicates_find`` from a half-typed form."""
    try:
        inn = normalize_inn(str(post.get("inn", ""))) if post.get("inn", "").strip() else ""
    except ValueError:
        inn = ""
    kpp = "".join(ch for ch in str(post.get("kpp", "")) if ch.isalnum()).upper()
    return {
        "legal_name": _name(post, "legal_name")[:300],
        "short_name": _name(post, "short_name"),
        "inn": inn,
        "kpp": kpp if len(kpp) == 9 else "",
        "points": _lenient_points(post),
        "exclude_id": parse_id(post.get("record_id")),
    }


def wants(post: QueryDict, name: str) -> bool:
    """Whether a confirmation checkbox was ticked."""
    return post.get(name) in {"1", "on", "true", "yes"}


class ShareForm(forms.Form):
    """Who else sees a record."""

    user_ids = forms.MultipleChoiceField(
        label=_("Share with"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, users: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["user_ids"]).choices = [
            (str(user.pk), str(user)) for user in users
        ]
        self._errors = ErrorDict()

    def chosen_ids(self) -> list[int]:
        assert isinstance(self.data, MultiValueDict)
        return [number for value in self.data.getlist("user_ids") if (number := parse_id(value))]
