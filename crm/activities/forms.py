"""The form of a manual timeline entry (a note, call, e-mail, meeting or file)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.activities.choices import CallDirection, EntryKind
from crm.core import errors

MAX_DURATION_MINUTES = 24 * 60

# Service error keys that the form calls differently.
FORM_FIELD_FOR = {"duration_seconds": "duration", "upload": "file"}


class TimelineEntryForm(forms.Form):
    """The shape of a manual entry; the service checks the rest (lengths, file content)."""

    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[
            (kind.value, kind.label)
            for kind in (
                EntryKind.NOTE,
                EntryKind.CALL,
                EntryKind.EMAIL,
                EntryKind.MEETING,
                EntryKind.FILE,
            )
        ],
        initial=EntryKind.NOTE,
    )
    title = forms.CharField(label=gettext_lazy("Subject"), required=False, strip=False)
    body = forms.CharField(label=gettext_lazy("Text"), required=False, strip=False)
    direction = forms.ChoiceField(
        label=gettext_lazy("Direction"),
        choices=[("", "—"), *CallDirection.choices],
        required=False,
    )
    duration = forms.IntegerField(
        label=gettext_lazy("Duration, min"),
        required=False,
        min_value=0,
        max_value=MAX_DURATION_MINUTES,
    )
    occurred_at = forms.DateTimeField(
        label=gettext_lazy("When"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    file = forms.FileField(label=gettext_lazy("File"), required=False, allow_empty_file=True)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("kind") == EntryKind.FILE and not data.get("file"):
            self.add_error("file", _("Choose a file."))
        return data

    def service_arguments(self) -> dict[str, Any]:
        """The arguments of the kind's timeline ``add`` service that apply to the chosen kind."""
        data = self.cleaned_data
        kind = data["kind"]
        arguments: dict[str, Any] = {"kind": kind, "body": data["body"]}
        if kind in (EntryKind.EMAIL, EntryKind.MEETING):
            arguments["title"] = data["title"]
        if kind == EntryKind.CALL:
            arguments["direction"] = data["direction"] or ""
            if data["duration"] is not None:
                arguments["duration_seconds"] = data["duration"] * 60
        if kind in (EntryKind.CALL, EntryKind.MEETING) and data["occurred_at"]:
            arguments["occurred_at"] = data["occurred_at"]
        if kind == EntryKind.FILE:
            arguments["upload"] = data["file"]
        return arguments

    def add_domain_error(self, error: errors.DomainError) -> None:
        if not error.field_errors:
            self.add_error(None, error.message or str(error))
        for name, messages in error.field_errors.items():
            field = FORM_FIELD_FOR.get(name, name)
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
