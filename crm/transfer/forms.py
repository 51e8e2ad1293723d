"""Forms of the import wizard and the export."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import User
from crm.core.forms import BootstrapForm
from crm.core.records import ImportField, ImportFlag
from crm.customers.permissions import owners_in_scope
from crm.transfer.importing_options import TO, ValueMapStep
from crm.transfer.models import ImportJob

if TYPE_CHECKING:
    _UserChoiceBase = forms.ModelChoiceField[User]
else:  # Django's form fields are not generic at run time
    _UserChoiceBase = forms.ModelChoiceField


class ImportUploadForm(BootstrapForm):
    """The first step: what the file holds, and the file."""

    kind = forms.ChoiceField(label=_("Records"))
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or Windows-1251; comma, semicolon or tab), XLSX or vCard."),
    )

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choice_field("kind").choices = kinds


def assignable_users(actor: User) -> QuerySet[User]:
    """The active users ``actor`` may make responsible: everyone for an administrator,
    else the owners in their scope and themselves."""
    users = get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name")
    scope = owners_in_scope(actor)
    if scope is not None:
        users = users.filter(pk__in=scope | {actor.pk})
    return users


class ImportSetupForm(BootstrapForm):
    """The second step: the field of each column (``column_<i>``), the duplicate policy
    and who is responsible for the records."""

    policy = forms.ChoiceField(
        label=_("A row matching a record already there"),
        choices=ImportJob.Policy.choices,
        initial=ImportJob.Policy.SKIP,
        widget=forms.RadioSelect,
    )
    owner_rule = forms.ChoiceField(
        label=_("Responsible"),
        choices=ImportJob.OwnerRule.choices,
        initial=ImportJob.OwnerRule.IMPORTER,
        widget=forms.RadioSelect,
    )
    owner = _UserChoiceBase(
        label=_("Manager"),
        queryset=None,
        required=False,
        help_text=_(
            "With “A chosen manager”: the responsible. With the column: the responsible of "
            "rows whose column is empty or names nobody (without one, such rows fail)."
        ),
    )

    def __init__(
        self,
        *args: Any,
        columns: Sequence[str],
        fields: Sequence[ImportField],
        users: QuerySet[User],
        steps: Sequence[ValueMapStep] = (),
        flags: Sequence[ImportFlag] = (),
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.steps = list(steps)
        self.flags = list(flags)
        choices = [("", _("— leave out —")), *((item.key, item.label) for item in fields)]
        self.column_names = []
        for index, header in enumerate(columns):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(
                label=header or _("Column %(n)d") % {"n": index + 1},
                choices=choices,
                required=False,
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )
            self.column_names.append(name)
        cast(_UserChoiceBase, self.fields["owner"]).queryset = users
        self._add_options(options or {})

    def _add_options(self, options: dict[str, Any]) -> None:
        """A select per distinct value of each value map (``<map>_<i>``: this base's
        choices, the stored or guessed one chosen) and a checkbox per flag."""
        self.step_names: list[list[str]] = []
        for step in self.steps:
            choices = [("", _("— by its own name —")), *step.choices]
            names = []
            for index, (values, chosen) in enumerate(step.rows):
                name = f"{step.map.name}_{index}"
                self.fields[name] = forms.ChoiceField(
                    label=" / ".join(value for value in values if value) or "—",
                    choices=choices,
                    required=False,
                    initial=chosen,
                    widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
                )
                names.append(name)
            self.step_names.append(names)
        for flag in self.flags:
            self.fields[flag.key] = forms.BooleanField(
                label=flag.label,
                help_text=flag.help,
                required=False,
                initial=bool(options.get(flag.key)),
            )

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(name) or "" for name in self.column_names]

    def step_fields(self) -> list[tuple[ValueMapStep, list[forms.BoundField]]]:
        """Each value map with the bound selects of its values (for the template)."""
        return [
            (step, [self[name] for name in names])
            for step, names in zip(self.steps, self.step_names, strict=True)
        ]

    def flag_fields(self) -> list[forms.BoundField]:
        return [self[flag.key] for flag in self.flags]

    def _chosen(self, name: str) -> Any:
        if hasattr(self, "cleaned_data"):
            return self.cleaned_data.get(name)
        return self.fields[name].initial

    def options(self) -> dict[str, Any]:
        """The kind's options as ``importing_options.options_check`` takes them (the
        initial ones, stored or guessed, of a form not submitted)."""
        chosen: dict[str, Any] = {}
        for step, names in zip(self.steps, self.step_names, strict=True):
            chosen[step.map.name] = [
                {
                    **dict(zip(step.map.fields, values, strict=True)),
                    TO: self._chosen(name) or "",
                }
                for (values, _guess), name in zip(step.rows, names, strict=True)
            ]
        for flag in self.flags:
            chosen[flag.key] = bool(self._chosen(flag.key))
        return chosen

    def field_for(self, name: str) -> str | None:
        if name.startswith("mapping[") and name.endswith("]"):
            column = f"column_{name[8:-1]}"
            return column if column in self.fields else None
        return super().field_for(name)
