"""Forms of the administrator's sales settings: pipelines, stages, stage actions, reasons
for loss and the seller's details.

The forms only shape the input; the services (``services/pipelines.py``,
``services/automation.py``, ``services/seller.py``) hold the rules, and their refusals are
shown on the fields they name (``config.title`` lands on ``title``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.core.forms import BootstrapForm, ColorInput
from crm.customers.choices import ClientType
from crm.sales.choices import ActionKind, StageKind
from crm.sales.models import SellerDetails, Stage, StageAction

NUMBER = {"inputmode": "numeric"}


def _choices(form: forms.Form, name: str, choices: Any) -> None:
    """Set the choices of a choice field known only when the form is built."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class SettingsForm(BootstrapForm):
    """Settings forms: an action's service errors are keyed ``config.<name>``."""

    def field_for(self, name: str) -> str | None:
        return super().field_for(name.removeprefix("config."))


# --- pipelines and stages -----------------------------------------------------------------------


class PipelineForm(SettingsForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    client_types = forms.MultipleChoiceField(
        label=_("Default pipeline for"),
        required=False,
        choices=ClientType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "New deals of these client types start in this pipeline. A client type is the "
            "default of one pipeline at most."
        ),
    )


class StageForm(SettingsForm):
    """A stage's settings. Numbers are taken as text so that the service, the one place
    holding the rules, answers for every kind of bad input."""

    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=StageKind.choices, initial=StageKind.OPEN)
    probability = forms.CharField(
        label=_("Probability, %"),
        required=False,
        initial=10,
        widget=forms.NumberInput(attrs={**NUMBER, "min": 0, "max": 100}),
    )
    color = forms.CharField(
        label=_("Colour"),
        required=False,
        initial="#6c757d",
        widget=ColorInput,
    )
    required_fields = forms.MultipleChoiceField(
        label=_("Required to enter the stage"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    stale_after_days = forms.CharField(
        label=_("Flag deals idle for, days"),
        required=False,
        widget=forms.NumberInput(attrs={**NUMBER, "min": 1, "max": 365}),
        help_text=_("Empty: never. The manager is reminded, then the head of their team."),
    )

    def __init__(
        self,
        *args: Any,
        required_choices: list[tuple[str, str]],
        instance: Stage | None = None,
        **kwargs: Any,
    ) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "kind": instance.kind,
                "probability": instance.probability,
                "color": instance.color,
                "required_fields": instance.required_fields,
                "stale_after_days": instance.stale_after_days or "",
            }
        super().__init__(*args, **kwargs)
        _choices(self, "required_fields", required_choices)


class QuickStageForm(StageForm):
    """Adding a stage from the pipeline page: the name, kind, probability and colour."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, required_choices=[], **kwargs)
        del self.fields["required_fields"]
        del self.fields["stale_after_days"]


class MoveDealsForm(SettingsForm):
    move_to = forms.TypedChoiceField(
        label=_("Move its deals to"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, targets: list[Stage], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(
            self,
            "move_to",
            [
                ("", "—"),
                *((stage.pk, stage.name) for stage in targets),
            ],
        )


# --- stage actions ------------------------------------------------------------------------------


class ActionForm(SettingsForm):
    """The settings of one kind of stage action; ``config()`` builds what the service takes."""

    kind: str = ""

    def __init__(self, *args: Any, action: StageAction | None = None, **kwargs: Any) -> None:
        if action is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(action.config or {})
        self.action = action
        super().__init__(*args, **kwargs)

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return dict(config)

    def config(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class TaskActionForm(ActionForm):
    kind = ActionKind.CREATE_TASK
    DUE_UNIT_CHOICES = [
        ("work_hours", _("working hours")),
        ("work_days", _("working days")),
        ("hours", _("hours")),
        ("days", _("days")),
    ]
    ASSIGNEE_CHOICES = [
        ("responsible", _("The deal's responsible")),
        ("head", _("The head of their team")),
        ("user", _("This user:")),
    ]

    title = forms.CharField(label=_("Task"), max_length=400)
    type = forms.ChoiceField(label=_("Type"))
    due_in = forms.CharField(
        label=_("Due in"),
        required=False,
        initial=4,
        widget=forms.NumberInput(attrs={**NUMBER, "min": 0, "max": 1000}),
    )
    due_unit = forms.ChoiceField(label=_("Unit"), choices=DUE_UNIT_CHOICES, initial="work_hours")
    assignee = forms.ChoiceField(
        label=_("Assigned to"),
        choices=ASSIGNEE_CHOICES,
        initial="responsible",
        widget=forms.RadioSelect,
    )
    user_id = forms.ChoiceField(
        label=_("User"), required=False, help_text=_("When “This user:” is chosen above.")
    )

    def __init__(
        self,
        *args: Any,
        task_types: list[tuple[str, str]],
        users: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "type", task_types)
        _choices(self, "user_id", [("", "—"), *users])

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        config = {
            "title": data["title"],
            "type": data["type"],
            "due_in": data["due_in"],
            "due_unit": data["due_unit"],
            "assignee": data["assignee"],
        }
        if data["assignee"] == "user":
            config["user_id"] = data["user_id"]
        return config


class NotifyActionForm(ActionForm):
    kind = ActionKind.NOTIFY
    recipients = forms.MultipleChoiceField(
        label=_("Notify"),
        required=False,
        choices=[
            ("responsible", _("The deal's responsible")),
            ("head", _("The head of their team")),
        ],
        widget=forms.CheckboxSelectMultiple,
    )
    users = forms.MultipleChoiceField(
        label=_("And these users"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Hold Ctrl (⌘ on a Mac) to choose several."),
    )
    message = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, users: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "users", users)

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        recipients = config.get("recipients") or []
        return {
            "recipients": [value for value in recipients if value in ("responsible", "head")],
            "users": [str(value) for value in recipients if isinstance(value, int)],
            "message": config.get("message", ""),
        }

    def field_for(self, name: str) -> str | None:
        return "recipients" if name == "config.recipients" else super().field_for(name)

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "recipients": [*data["recipients"], *(int(value) for value in data["users"])],
            "message": data["message"],
        }


class OwnerActionForm(ActionForm):
    kind = ActionKind.SET_OWNER
    user_id = forms.ChoiceField(label=_("New responsible"), required=False)

    def __init__(self, *args: Any, users: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "user_id", [("", "—"), *users])


class WebhookActionForm(ActionForm):
    """The secret is never shown again: left empty it stays as it was."""

    kind = ActionKind.WEBHOOK
    url = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=1000,
        widget=forms.URLInput(attrs={"placeholder": "https://", "spellcheck": "false"}),
        help_text=_("A JSON POST with the deal goes there when a deal enters the stage."),
    )
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        max_length=400,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Used to sign the request so the receiver can check it came from here."),
    )
    clear_secret = forms.BooleanField(label=_("Remove the secret"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        has_secret = bool(self.action and (self.action.config or {}).get("secret"))
        if has_secret:
            self.fields["secret"].help_text = _(
                "A secret is set; leave empty to keep it, or type a new one."
            )
        else:
            del self.fields["clear_secret"]

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return {"url": config.get("url", "")}

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        secret = data["secret"]
        if not secret and self.action is not None and not data.get("clear_secret"):
            secret = (self.action.config or {}).get("secret", "")
        return {"url": data["url"], "secret": secret}


ACTION_FORMS: dict[str, type[ActionForm]] = {
    ActionKind.CREATE_TASK: TaskActionForm,
    ActionKind.NOTIFY: NotifyActionForm,
    ActionKind.SET_OWNER: OwnerActionForm,
    ActionKind.WEBHOOK: WebhookActionForm,
}


# --- reasons for loss and the seller ------------------------------------------------------------


class LostReasonForm(SettingsForm):
    name = forms.CharField(label=_("Reason"), max_length=300)


class SellerDetailsForm(SettingsForm):
    """The seller's requisites; the service checks ИНН, КПП, ОГРН, БИК and accounts."""

    name = forms.CharField(label=_("Name"), required=False, max_length=600)
    inn = forms.CharField(
        label=_("INN"), required=False, max_length=40, widget=forms.TextInput(NUMBER)
    )
    kpp = forms.CharField(label=_("KPP"), required=False, max_length=40)
    ogrn = forms.CharField(
        label=_("OGRN"), required=False, max_length=40, widget=forms.TextInput(NUMBER)
    )
    address = forms.CharField(label=_("Address"), required=False, max_length=1000)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=100)
    email = forms.CharField(
        label=_("E-mail"), required=False, max_length=400, widget=forms.EmailInput
    )
    director = forms.CharField(label=_("Director"), required=False, max_length=400)
    accountant = forms.CharField(label=_("Chief accountant"), required=False, max_length=400)
    vat_payer = forms.BooleanField(label=_("VAT payer"), required=False)
    bank_name = forms.CharField(label=_("Bank"), required=False, max_length=400)
    bik = forms.CharField(
        label=_("BIK"), required=False, max_length=40, widget=forms.TextInput(NUMBER)
    )
    account = forms.CharField(
        label=_("Settlement account"), required=False, max_length=60, widget=forms.TextInput(NUMBER)
    )
    correspondent_account = forms.CharField(
        label=_("Correspondent account"),
        required=False,
        max_length=60,
        widget=forms.TextInput(NUMBER),
    )

    def __init__(self, *args: Any, instance: SellerDetails | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(instance, name) for name in self.base_fields}
        super().__init__(*args, **kwargs)
