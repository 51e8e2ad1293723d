"""Forms of the accounts app."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from crm.accounts import throttle
from crm.accounts.models import SecurityEvent
from crm.accounts.services import client_ip, security_event_record


class ThrottledAuthenticationForm(AuthenticationForm):
    """The sign-in form; refuses at once when the account or address is throttled."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": _("Too many failed sign-in attempts. Wait a few minutes and try again."),
    }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.is_throttled = False
        self.fields["username"].widget.attrs.update({"class": "form-control", "autofocus": True})
        self.fields["password"].widget.attrs.update({"class": "form-control"})

    def clean(self) -> dict:
        username = (self.cleaned_data.get("username") or "").strip()
        if throttle.is_throttled(username=username, ip_address=client_ip(self.request)):
            self.is_throttled = True
            security_event_record(
                kind=SecurityEvent.Kind.LOGIN_THROTTLED, request=self.request, username=username
            )
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        return super().clean()
