"""Sign-in, sign-out, the language switch and the administration pages (users, teams, API
tokens, the security log). Every view parses input, calls one service or selector and renders.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.accounts import selectors, services
from crm.accounts.forms import (
    SecurityFilterForm,
    TeamForm,
    ThrottledAuthenticationForm,
    TokenForm,
    UserForm,
    apply_domain_errors,
)
from crm.accounts.http import SignedInRequest
from crm.accounts.models import SecurityEvent, Team, User
from crm.accounts.services import security_event_record, user_set_language
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        assert isinstance(form, ThrottledAuthenticationForm)  # the authentication_form above
        response = super().form_invalid(form)
        if form.is_throttled:
            response.status_code = 429
        return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        security_event_record(kind=SecurityEvent.Kind.LOGOUT, request=request, user=request.user)
    return auth_views.LogoutView.as_view()(request)


@require_POST
@login_required
def language(request: SignedInRequest) -> HttpResponse:
    """Save the user's interface language and return to the page they were on."""
    try:
        user_set_language(user=request.user, language=request.POST.get("language", ""))
    except ValidationFailed:
        return HttpResponse(_("Unknown language."), status=400)
    target = request.POST.get("next") or request.headers.get("Referer") or "/"
    if not url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    return HttpResponseRedirect(target)


def _domain_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn refusals that are not about form input into Django's 403 and 404 answers."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as error:
            raise DjangoPermissionDenied(error.message) from error
        except NotFound as error:
            raise Http404(error.message) from error

    return wrapper


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- users ------------------------------------------------------------------------------------


@login_required
@_domain_errors
def user_list(request: SignedInRequest) -> HttpResponse:
    """All users with role, teams, absence and last sign-in (administrators only)."""
    users = selectors.user_list(actor=request.user)
    return render(
        request, "accounts/user_list.html", {"users": users, "today": timezone.localdate()}
    )


@login_required
@_domain_errors
def user_create(request: SignedInRequest) -> HttpResponse:
    selectors.require_admin(actor=request.user)
    form = UserForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = services.user_create(actor=request.user, **form.service_arguments())
            except ValidationFailed as error:
                apply_domain_errors(form, error)
            else:
                messages.success(request, _("User “%(user)s” created.") % {"user": user})
                return redirect("accounts:user_edit", pk=user.pk)
        status = 422
    return render(request, "accounts/user_form.html", {"form": form}, status=status)


def _render_user_edit(
    request: HttpRequest,
    user: User,
    form: UserForm,
    status: int = 200,
    access_errors: list[str] | None = None,
) -> HttpResponse:
    context = {
        "form": form,
        "subject": user,
        "tokens": list(user.api_tokens.all()),
        "access_errors": access_errors or [],
    }
    return render(request, "accounts/user_form.html", context, status=status)


@login_required
@_domain_errors
def user_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    """A user's profile, role, teams, absence and password, with their API tokens."""
    user = selectors.user_get(actor=request.user, pk=pk)
    form = UserForm(request.POST or None, instance=user)
    if request.method != "POST":
        return _render_user_edit(request, user, form)
    if form.is_valid():
        try:
            services.user_update(actor=request.user, user=user, **form.service_arguments())
        except ValidationFailed as error:
            apply_domain_errors(form, error)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("accounts:user_edit", pk=user.pk)
    return _render_user_edit(request, user, form, status=422)


@require_POST
@login_required
@_domain_errors
def user_deactivate(request: SignedInRequest, pk: int) -> HttpResponse:
    """Lock a user out: sessions ended, API tokens revoked, sign-in refused."""
    user = selectors.user_get(actor=request.user, pk=pk)
    try:
        services.user_deactivate(actor=request.user, user=user)
    except ValidationFailed as error:
        problems = [m for field in error.field_errors.values() for m in field] or [str(error)]
        return _render_user_edit(
            request, user, UserForm(instance=user), status=422, access_errors=problems
        )
    messages.success(request, _("%(user)s can no longer sign in.") % {"user": user})
    return redirect("accounts:user_edit", pk=user.pk)


@require_POST
@login_required
@_domain_errors
def user_reactivate(request: SignedInRequest, pk: int) -> HttpResponse:
    user = selectors.user_get(actor=request.user, pk=pk)
    services.user_reactivate(actor=request.user, user=user)
    messages.success(request, _("%(user)s may sign in again.") % {"user": user})
    return redirect("accounts:user_edit", pk=user.pk)


# --- teams ------------------------------------------------------------------------------------


@login_required
@_domain_errors
def team_list(request: SignedInRequest) -> HttpResponse:
    teams = selectors.team_list(actor=request.user)
    return render(request, "accounts/team_list.html", {"teams": teams})


def _team_form_page(request: SignedInRequest, team: Team | None) -> HttpResponse:
    form = TeamForm(
        request.POST or None, users=selectors.user_choices(actor=request.user), instance=team
    )
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = services.team_save(
                    actor=request.user,
                    team=team,
                    name=form.cleaned_data["name"],
                    members=form.cleaned_data["members"],
                    heads=form.cleaned_data["heads"],
                )
            except ValidationFailed as error:
                apply_domain_errors(form, error)
            else:
                messages.success(request, _("Team “%(team)s” saved.") % {"team": saved})
                return redirect("accounts:team_list")
        return render(request, "accounts/team_form.html", {"form": form, "team": team}, status=422)
    return render(request, "accounts/team_form.html", {"form": form, "team": team})


@login_required
@_domain_errors
def team_create(request: SignedInRequest) -> HttpResponse:
    return _team_form_page(request, None)


@login_required
@_domain_errors
def team_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    return _team_form_page(request, selectors.team_get(actor=request.user, pk=pk))


# --- API tokens -------------------------------------------------------------------------------


@login_required
def token_list(request: SignedInRequest) -> HttpResponse:
    """The user's API tokens and the form that issues a new one (its secret shown once)."""
    form = TokenForm(request.POST or None)
    secret = ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _token, secret = services.api_token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    expires_at=form.expires_at(),
                    request=request,
                )
            except ValidationFailed as error:
                apply_domain_errors(form, error)
                status = 422
            else:
                form = TokenForm()
                status = 201
        else:
            status = 422
    response = render(
        request,
        "accounts/token_list.html",
        {"form": form, "tokens": selectors.token_list(user=request.user), "secret": secret},
        status=status,
    )
    if secret:
        response.headers["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
@_domain_errors
def token_revoke(request: SignedInRequest, pk: int) -> HttpResponse:
    token = selectors.token_get(actor=request.user, pk=pk)
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return HttpResponseRedirect(_safe_next(request, reverse("accounts:token_list")))


# --- security log -----------------------------------------------------------------------------


@login_required
@_domain_errors
def security_log(request: SignedInRequest) -> HttpResponse:
    """The security log, newest first, filtered by kind of event and user."""
    form = SecurityFilterForm(request.GET or None)
    kind, user_id = "", None
    if form.is_valid():
        kind = form.cleaned_data["kind"]
        user_id = form.cleaned_data["user"].pk if form.cleaned_data["user"] else None
    try:
        page = selectors.security_event_list(
            actor=request.user, kind=kind, user_id=user_id, cursor=request.GET.get("cursor")
        )
    except ValidationFailed:
        return HttpResponseBadRequest(_("Invalid cursor."))
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        "accounts/security_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )
