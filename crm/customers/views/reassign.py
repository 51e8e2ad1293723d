"""Bulk reassignment: the request form with a live count, and the progress page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from crm.accounts.http import SignedInRequest
from crm.accounts.models import User
from crm.core.errors import ValidationFailed
from crm.core.forms import BootstrapForm, domain_errors, form_post
from crm.core.http import client_address
from crm.customers.choices import ClientType, Entity, Source
from crm.customers.services import reassign as services
from crm.customers.services.handover import counts_by_kind

BOTH = "both"
ENTITY_CHOICES = [
    (BOTH, _("Contacts and companies")),
    (Entity.CONTACT, _("Contacts only")),
    (Entity.COMPANY, _("Companies only")),
]


if TYPE_CHECKING:
    _UserChoiceBase = forms.ModelChoiceField[User]
else:  # Django's form fields are not generic at run time
    _UserChoiceBase = forms.ModelChoiceField


class UserChoiceField(_UserChoiceBase):
    """A user to pick, deactivated ones marked as such."""

    def label_from_instance(self, obj: User) -> str:
        label = str(obj)
        return label if obj.is_active else f"{label} ({_('deactivated')})"


class ReassignForm(BootstrapForm):
    """Whose records go to whom, which kinds, and the optional list filters."""

    from_user = UserChoiceField(label=_("From"), queryset=None)
    to_user = UserChoiceField(label=_("To"), queryset=None)
    entities = forms.ChoiceField(
        label=_("Records"), choices=ENTITY_CHOICES, initial=BOTH, widget=forms.RadioSelect
    )
    client_type = forms.ChoiceField(
        label=_("Client type"), required=False, choices=[("", _("Any")), *ClientType.choices]
    )
    tag = forms.CharField(label=_("Tag"), required=False, max_length=50)
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("Any")), *Source.choices]
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        help_text=_("Name, phone, e-mail or ИНН fragment."),
    )

    def __init__(self, *args: Any, users: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(UserChoiceField, self.fields["from_user"]).queryset = users
        cast(UserChoiceField, self.fields["to_user"]).queryset = users.filter(is_active=True)

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        entities = data["entities"]
        return {
            "from_user": data["from_user"],
            "entities": [Entity.CONTACT, Entity.COMPANY] if entities == BOTH else [entities],
            "filters": {name: data[name] for name in ("q", "client_type", "tag", "source")},
        }


def _preview(request: SignedInRequest, form: ReassignForm) -> HttpResponse:
    counts = None
    form.fields["to_user"].required = False
    if form.is_valid():
        arguments = form.service_arguments()
        try:
            counts = services.reassignment_preview(actor=request.user, **arguments)
        except ValidationFailed as error:
            form.apply_domain_errors(error)
    return render(request, "customers/reassign_preview.html", {"form": form, "counts": counts})


@login_required
@domain_errors
def reassign(request: SignedInRequest) -> HttpResponse:
    """The reassignment form (GET ?preview=1 answers the live count) and its submission."""
    users = services.reassignment_users(actor=request.user)

    def page(form: ReassignForm, status: int) -> HttpResponse:
        context = {"form": form, "recent": services.reassignment_recent(actor=request.user)}
        return render(request, "customers/reassign.html", context, status=status)

    if request.method == "POST":
        form = ReassignForm(request.POST, users=users)
        return form_post(
            form,
            lambda: services.reassignment_start(
                actor=request.user,
                to_user=form.cleaned_data["to_user"],
                ip_address=client_address(request),
                **form.service_arguments(),
            ),
            success=lambda reassignment: redirect("customers:reassign_status", pk=reassignment.pk),
            failure=lambda: page(form, 422),
        )
    if request.GET.get("preview"):
        return _preview(request, ReassignForm(request.GET, users=users))
    form = ReassignForm(
        initial={"entities": BOTH, "from_user": request.GET.get("from_user")}, users=users
    )
    return page(form, 200)


@login_required
@domain_errors
def reassign_status(request: SignedInRequest, pk: int) -> HttpResponse:
    """Progress of one reassignment; HTMX polls the fragment every second until it ends."""
    reassignment, progress = services.reassignment_status(actor=request.user, pk=pk)
    template = (
        "customers/reassign_progress.html" if request.htmx else "customers/reassign_status.html"
    )
    context: dict[str, Any] = {"reassignment": reassignment, "progress": progress}
    if reassignment.filters.get("handover"):
        context["moved"] = counts_by_kind(reassignment.counts)
        context["receivers"] = services.handover_receivers_of(reassignment)
    return render(request, template, context)
