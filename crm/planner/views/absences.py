"""Absences: the team calendar of who is away, recording an absence with a substitute,
cancelling one."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.accounts.http import SignedInRequest
from crm.core.forms import domain_errors, saved
from crm.core.pages import edit_page, flash_post
from crm.planner import selectors, services
from crm.planner.forms import AbsenceForm

BOARD_DAYS = 28


@login_required
def absence_list(request: SignedInRequest) -> HttpResponse:
    """Who is away over four weeks from ``?from=`` (today by default), by person and day."""
    try:
        start = dt.date.fromisoformat(request.GET.get("from") or "")
    except ValueError:
        start = timezone.localdate()
    try:
        team_id = int(request.GET.get("team") or 0) or None
    except ValueError:
        team_id = None
    dates, rows, absences = selectors.absence_board(
        user=request.user, start=start, days=BOARD_DAYS, team_id=team_id
    )
    managed = services.absence_manageable_user_ids(
        request.user, {absence.user_id for absence in absences}
    )
    context = {
        "dates": dates,
        "rows": rows,
        "absences": absences,
        "start": start,
        "previous": start - dt.timedelta(days=BOARD_DAYS),
        "following": start + dt.timedelta(days=BOARD_DAYS),
        "today": timezone.localdate(),
        "teams": selectors.user_teams(request.user),
        "team_id": team_id,
        "manageable": {
            absence.pk
            for absence in absences
            if absence.cancelled_at is None
            and absence.ends_on >= timezone.localdate()
            and absence.user_id in managed
        },
    }
    return render(request, "planner/absence_list.html", context)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def absence_create(request: SignedInRequest) -> HttpResponse:
    people = selectors.absence_people(actor=request.user)
    form = AbsenceForm(
        request.POST if request.method == "POST" else None,
        people=people,
        substitutes=selectors.assignable_users(actor=request.user),
        initial={"user_id": str(request.user.pk), "starts_on": timezone.localdate()},
    )

    def save() -> object:
        data = form.cleaned_data
        return services.absence_create(
            actor=request.user,
            user=selectors.user_by_id(data["user_id"]),
            kind=data["kind"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            substitute=selectors.user_by_id(data["substitute_id"])
            if data["substitute_id"]
            else None,
            note=data["note"],
        )

    return edit_page(
        request,
        form,
        save,
        template="planner/absence_form.html",
        success=lambda _absence: saved(request, _("Absence recorded."), "planner:absence_list"),
    )


@login_required
@domain_errors
@require_POST
def absence_cancel(request: SignedInRequest, pk: int) -> HttpResponse:
    return flash_post(
        request,
        lambda: services.absence_cancel(actor=request.user, pk=pk),
        done=_("Absence cancelled."),
        to="planner:absence_list",
        message=lambda exc: "; ".join(m for ms in exc.field_errors.values() for m in ms),
    )
