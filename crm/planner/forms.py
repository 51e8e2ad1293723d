"""Forms of the planner's pages. They only parse; the services check the rules and the
pages show the services' refusals on the fields they name."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import User
from crm.core.errors import DomainError
from crm.core.forms import BootstrapForm
from crm.planner.choices import AbsenceKind, CallOutcome, Priority

REMINDER_PRESETS = [
    (0, _("At the due time")),
    (5, _("5 minutes before")),
    (15, _("15 minutes before")),
    (30, _("30 minutes before")),
    (60, _("1 hour before")),
    (180, _("3 hours before")),
    (1440, _("1 day before")),
    (2880, _("2 days before")),
    (10080, _("1 week before")),
]
# Service field names → form field names.
FIELD_MAP = {"due_at": "due_date", "type": "type_code", "status": None}


def _user_label(user: User) -> str:
    return str(user)


class PlannerForm(BootstrapForm):
    def apply_domain_errors(self, error: DomainError) -> None:
        for name, messages in error.field_errors.items():
            target = FIELD_MAP.get(name, name)
            if name.startswith("reminders"):
                target = "reminders"
            for message in messages:
                self.add_error(target if target in self.fields else None, message)
        if not error.field_errors:
            self.add_error(None, error.message or str(error))


def combine_due(
    form: forms.Form, day: dt.date | None, time: dt.time | None, all_day: bool
) -> dt.datetime | None:
    """The aware due moment from the date and time fields (in the current time zone)."""
    if day is None:
        if time is not None:
            form.add_error("due_date", _("Choose the day."))
        return None
    if all_day:
        return timezone.make_aware(dt.datetime.combine(day, dt.time()))
    if time is None:
        form.add_error("due_time", _("Choose the time, or mark the task as all-day."))
        return None
    return timezone.make_aware(dt.datetime.combine(day, time))


class DueFields(PlannerForm):
    due_date = forms.DateField(
        label=_("Due date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    due_time = forms.TimeField(
        label=_("Time"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    all_day = forms.BooleanField(label=_("All day"), required=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["due_at"] = combine_due(
            self, data.get("due_date"), data.get("due_time"), bool(data.get("all_day"))
        )
        return data


class TaskForm(DueFields):
    """A new task or the edit of one."""

    title = forms.CharField(label=_("Title"), max_length=300)
    type_code = forms.ChoiceField(label=_("Type"))
    duration_minutes = forms.IntegerField(
        label=_("Duration, min"), required=False, min_value=1, max_value=7 * 24 * 60
    )
    owner_id = forms.ChoiceField(label=_("Responsible"))
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Priority.choices, coerce=int, initial=Priority.NORMAL
    )
    description = forms.CharField(
        label=_("Description"), required=False, max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    reminders = forms.TypedMultipleChoiceField(
        label=_("Remind"),
        choices=REMINDER_PRESETS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    coworker_ids = forms.MultipleChoiceField(
        label=_("Co-workers"), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    watcher_ids = forms.MultipleChoiceField(
        label=_("Watchers"), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    subject = forms.CharField(required=False, widget=forms.HiddenInput, max_length=60)

    field_order = [
        "title", "type_code", "due_date", "due_time", "all_day", "duration_minutes",
        "owner_id", "priority", "reminders", "description", "coworker_ids", "watcher_ids",
    ]  # fmt: skip

    def __init__(
        self, *args: Any, types: list[Any], owners: list[Any], people: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.choice_field("type_code").choices = [(kind.code, kind.label) for kind in types]
        self.choice_field("owner_id").choices = [
            (str(user.pk), _user_label(user)) for user in owners
        ]
        choices = [(str(user.pk), _user_label(user)) for user in people]
        self.choice_field("coworker_ids").choices = choices
        self.choice_field("watcher_ids").choices = choices


class CompleteForm(PlannerForm):
    result = forms.CharField(
        label=_("Result"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    outcome = forms.ChoiceField(
        label=_("Outcome of the call"),
        required=False,
        choices=[("", "—"), *CallOutcome.choices],
    )


class RescheduleForm(DueFields):
    pass


class ReassignForm(PlannerForm):
    owner_id = forms.ChoiceField(label=_("Responsible"))

    def __init__(self, *args: Any, owners: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choice_field("owner_id").choices = [
            (str(user.pk), _user_label(user)) for user in owners
        ]


class AbsenceForm(PlannerForm):
    user_id = forms.ChoiceField(label=_("Who is away"))
    kind = forms.ChoiceField(label=_("Kind"), choices=AbsenceKind.choices)
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        label=_("Until (inclusive)"), widget=forms.DateInput(attrs={"type": "date"})
    )
    substitute_id = forms.ChoiceField(label=_("Substitute"), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def __init__(
        self, *args: Any, people: list[Any], substitutes: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.choice_field("user_id").choices = [
            (str(user.pk), _user_label(user)) for user in people
        ]
        self.choice_field("substitute_id").choices = [("", "—")] + [
            (str(user.pk), _user_label(user)) for user in substitutes
        ]


class TeamDigestForm(PlannerForm):
    digest_time = forms.TimeField(
        label=_("Overdue digest at"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    time_zone = forms.CharField(
        label=_("Time zone"),
        required=False,
        max_length=64,
        help_text=_("For example Europe/Moscow or Asia/Vladivostok; empty: the site's."),
    )
