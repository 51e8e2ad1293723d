"""The handover of a leaving user's work: the form with a live preview of the counts; the
progress is the reassignment's status page."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from crm.accounts.http import SignedInRequest
from crm.accounts.models import Team, User
from crm.core.errors import ValidationFailed
from crm.core.forms import BootstrapForm, domain_errors, form_post
from crm.core.http import client_address
from crm.core.permissions import Role
from crm.customers.services import reassign as services
from crm.customers.services.handover import SHARES, counts_by_kind
from crm.customers.views.reassign import UserChoiceField

PERSON, TEAM = "person", "team"


class HandoverForm(BootstrapForm):
    """Whose work, to one colleague or spread over a team, and the two options."""

    from_user = UserChoiceField(label=_("Leaving user"), queryset=None)
    receivers = forms.ChoiceField(
        label=_("Hand over to"),
        choices=[(PERSON, _("One colleague")), (TEAM, _("A team, spread evenly"))],
        initial=PERSON,
        widget=forms.RadioSelect,
    )
    to_user = UserChoiceField(label=_("Colleague"), queryset=None, required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    include_closed = forms.BooleanField(
        label=_("Closed deals too"),
        required=False,
        help_text=_("Without it only open deals move; won and lost ones keep their owner."),
    )
    deactivate = forms.BooleanField(
        label=_("Deactivate the user in the same step"),
        required=False,
        help_text=_("Their sessions end and their API tokens are revoked."),
    )

    def __init__(
        self, *args: Any, users: QuerySet[User], teams: QuerySet[Team], is_admin: bool, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        cast(UserChoiceField, self.fields["from_user"]).queryset = users
        cast(UserChoiceField, self.fields["to_user"]).queryset = users.filter(is_active=True)
        cast("forms.ModelChoiceField[Team]", self.fields["team"]).queryset = teams
        if not is_admin:  # deactivation is an administrator's
            del self.fields["deactivate"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        needed = "team" if data.get("receivers") == TEAM else "to_user"
        if not data.get(needed) and needed not in self.errors:
            self.add_error(needed, _("Choose whom the work goes to."))
        return data

    def handover_request(self) -> services.HandoverRequest:
        data = self.cleaned_data
        by_team = data["receivers"] == TEAM
        return services.HandoverRequest(
            from_user=data["from_user"],
            to_user=None if by_team else data["to_user"],
            team=data["team"] if by_team else None,
            include_closed=data["include_closed"],
            deactivate=data.get("deactivate", False),
        )


def _preview(request: SignedInRequest, form: HandoverForm) -> HttpResponse:
    """The counts for the chosen leaving user; the receivers need not be chosen yet. Nothing
    before a leaving user is chosen (the page asks for the preview as it loads)."""
    if not request.GET.get("from_user"):
        return render(request, "customers/handover_preview.html", {"form": None, "rows": None})
    counts = None
    form.is_valid()
    form.errors.pop("to_user", None)
    form.errors.pop("team", None)
    if not form.errors:
        try:
            counts = services.handover_preview(
                actor=request.user, from_user=form.cleaned_data["from_user"]
            )
        except ValidationFailed as error:
            form.apply_domain_errors(error)
    context = {
        "form": form,
        "rows": counts_by_kind(counts) if counts is not None else None,
        "shares": counts.get(SHARES, 0) if counts else 0,
    }
    return render(request, "customers/handover_preview.html", context)


@login_required
@domain_errors
def handover(request: SignedInRequest) -> HttpResponse:
    """The handover form (GET ?preview=1 answers the live counts) and its submission."""
    users = services.reassignment_users(actor=request.user)
    teams = services.handover_teams(actor=request.user)

    def bound(data: Any = None, initial: dict[str, Any] | None = None) -> HandoverForm:
        is_admin = request.user.role == Role.ADMIN
        return HandoverForm(data, initial=initial, users=users, teams=teams, is_admin=is_admin)

    def page(form: HandoverForm, status: int) -> HttpResponse:
        return render(request, "customers/handover.html", {"form": form}, status=status)

    if request.method == "POST":
        form = bound(request.POST)
        return form_post(
            form,
            lambda: services.handover_start(
                actor=request.user,
                request=form.handover_request(),
                ip_address=client_address(request),
            ),
            success=lambda row: redirect("customers:reassign_status", pk=row.pk),
            failure=lambda: page(form, 422),
        )
    if request.GET.get("preview"):
        return _preview(request, bound(request.GET))
    return page(
        bound(initial={"receivers": PERSON, "from_user": request.GET.get("from_user")}), 200
    )
