"""When each team gets its daily digest of overdue tasks (for its heads and administrators)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.accounts.http import SignedInRequest
from crm.core.forms import domain_errors, form_post, saved
from crm.planner import selectors, services
from crm.planner.forms import TeamDigestForm


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def team_digests(request: SignedInRequest) -> HttpResponse:
    """The teams the user leads (every team for an administrator), each with its digest
    time and time zone; a POST changes one (``team`` in the form)."""
    teams = selectors.teams_led(request.user)
    if not teams:
        raise PermissionDenied(_("Only heads of sales and administrators set this."))
    forms = {
        team.pk: TeamDigestForm(
            initial={"digest_time": team.digest_time, "time_zone": team.time_zone},
            prefix=f"team{team.pk}",
        )
        for team in teams
    }

    def page(status: int) -> HttpResponse:
        rows = [(team, forms[team.pk]) for team in teams]
        return render(request, "planner/team_digests.html", {"rows": rows}, status=status)

    if request.method == "POST":
        try:
            team = next(team for team in teams if str(team.pk) == request.POST.get("team"))
        except StopIteration:
            raise Http404(_("Not found.")) from None
        form = TeamDigestForm(request.POST, prefix=f"team{team.pk}")
        forms[team.pk] = form
        return form_post(
            form,
            lambda: services.team_digest_set(
                actor=request.user,
                team=team,
                digest_time=form.cleaned_data["digest_time"],
                time_zone=form.cleaned_data["time_zone"],
            ),
            success=lambda _team: saved(request, _("Saved."), "planner:team_digests"),
            failure=lambda: page(422),
        )
    return page(200)
