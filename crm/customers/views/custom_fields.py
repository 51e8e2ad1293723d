"""Administration of custom fields: the list per entity and the create/edit form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.accounts.http import SignedInRequest
from crm.core.forms import BootstrapForm, domain_errors, form_post, saved
from crm.customers.choices import ClientType, CustomFieldType, FieldEntity
from crm.customers.models import CustomField
from crm.customers.services import custom_fields as services


class CustomFieldForm(BootstrapForm):
    """The definition of a custom field; the service validates the rules across records."""

    entity = forms.ChoiceField(label=_("Records"), choices=FieldEntity.choices)
    label = forms.CharField(label=_("Label"), max_length=100)
    key = forms.CharField(
        label=_("Key"),
        max_length=50,
        required=False,
        help_text=_(
            "Used in the API and imports. Latin letters, digits and “_”; "
            "leave empty to make it from the label."
        ),
    )
    field_type = forms.ChoiceField(label=_("Type"), choices=CustomFieldType.choices)
    choices = forms.CharField(
        label=_("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For “Choice” and “Multiple choice”: one option per line."),
    )
    client_types = forms.MultipleChoiceField(
        label=_("Client types"),
        required=False,
        choices=ClientType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: the field applies to every client type."),
    )
    is_required = forms.BooleanField(label=_("Required"), required=False)
    help_text = forms.CharField(label=_("Hint"), max_length=200, required=False)
    position = forms.IntegerField(
        label=_("Position in forms"), min_value=0, max_value=10000, initial=0
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, instance: CustomField | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "entity": instance.entity,
                "label": instance.label,
                "key": instance.key,
                "field_type": instance.field_type,
                "choices": "\n".join(instance.choices or []),
                "client_types": instance.client_types,
                "is_required": instance.is_required,
                "help_text": instance.help_text,
                "position": instance.position,
                "is_active": instance.is_active,
            }
        super().__init__(*args, **kwargs)
        self.fields["key"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})


def _entity(request: HttpRequest) -> str:
    value = request.GET.get("entity") or ""
    return value if value in FieldEntity.values else FieldEntity.CONTACT


@login_required
@domain_errors
def custom_field_list(request: SignedInRequest) -> HttpResponse:
    """The custom fields of contacts or companies, in form order (administrators only)."""
    entity = _entity(request)
    fields = services.custom_field_list(actor=request.user, entity=entity)
    return render(
        request,
        "customers/custom_field_list.html",
        {
            "fields": fields,
            "entity": entity,
            "entities": FieldEntity.choices,
            "first_name_required": settings.CRM_CONTACT_FIRST_NAME_REQUIRED,
        },
    )


def _form_page(
    request: HttpRequest, form: CustomFieldForm, field: CustomField | None, status: int = 200
) -> HttpResponse:
    return render(
        request, "customers/custom_field_form.html", {"form": form, "field": field}, status=status
    )


def _list_url(entity: str) -> str:
    return f"{reverse('customers:custom_field_list')}?entity={entity}"


@login_required
@domain_errors
def custom_field_create(request: SignedInRequest) -> HttpResponse:
    services.custom_field_check_admin(actor=request.user)
    if request.method != "POST":
        form = CustomFieldForm(
            initial={"entity": _entity(request), "position": 0, "is_active": True}
        )
        return _form_page(request, form, None)
    form = CustomFieldForm(request.POST)
    return form_post(
        form,
        lambda: services.custom_field_save(actor=request.user, **form.cleaned_data),
        success=lambda field: saved(
            request,
            _("Field “%(label)s” created.") % {"label": field.label},
            _list_url(field.entity),
        ),
        failure=lambda: _form_page(request, form, None, status=422),
    )


@login_required
@domain_errors
def custom_field_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    """Change a field; the "deactivate" button hides it from forms and keeps its values."""
    field = services.custom_field_get(actor=request.user, pk=pk)
    if request.method != "POST":
        return _form_page(request, CustomFieldForm(instance=field), field)
    if request.POST.get("action") == "deactivate":
        services.custom_field_deactivate(actor=request.user, field=field)
        messages.success(
            request,
            _("Field “%(label)s” deactivated; stored values are kept.") % {"label": field.label},
        )
        return redirect(_list_url(field.entity))
    form = CustomFieldForm(request.POST, instance=field)
    return form_post(
        form,
        lambda: services.custom_field_save(actor=request.user, field=field, **form.cleaned_data),
        success=lambda stored: saved(request, _("Changes saved."), _list_url(stored.entity)),
        failure=lambda: _form_page(request, form, field, status=422),
    )
