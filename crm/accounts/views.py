"""Sign-in (with its second step), sign-out, the language switch, the user's own security
(two-factor sign-in, password) and the administration pages (users, teams, API tokens, the
audit log). Every view parses input, calls one service or selector and renders.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from crm.accounts import selectors, services, two_factor
from crm.accounts.forms import (
    AuditFilterForm,
    PasswordChangeForm,
    TeamForm,
    ThrottledAuthenticationForm,
    TimeZoneForm,
    TokenForm,
    TwoFactorCodeForm,
    TwoFactorDisableForm,
    UserForm,
)
from crm.accounts.http import SignedInRequest
from crm.accounts.models import SecurityEvent, Team, User
from crm.accounts.permissions import ADMIN_PAGES
from crm.accounts.selectors import AuditFilter
from crm.accounts.services import security_event_record, user_set_language
from crm.accounts.two_factor import TwoFactorThrottled
from crm.core.errors import ValidationFailed
from crm.core.forms import domain_errors, form_page, form_post, saved
from crm.core.http import client_address
from crm.core.pages import edit_page, flash_post

T = TypeVar("T")


class LoginView(auth_views.LoginView):
    """The first step of signing in: user name and password.

    For a user with two-factor sign-in the right password does not sign in: the session
    remembers who is signing in (``pending_sign_in_start``) and the second page asks for a
    code.
    """

    template_name = "accounts/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        assert isinstance(user, User)  # our backend returns the project's user model
        if two_factor.two_factor_is_enabled(user=user):
            two_factor.pending_sign_in_start(
                request=self.request, user=user, next_url=self.get_success_url()
            )
            return redirect("accounts:login_code")
        return super().form_valid(form)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        assert isinstance(form, ThrottledAuthenticationForm)  # the authentication_form above
        response = super().form_invalid(form)
        if form.is_throttled:
            response.status_code = 429
        return response


@sensitive_post_parameters("code")
@never_cache
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator or a recovery code."""
    if two_factor.pending_sign_in_user(request=request) is None:
        return redirect("accounts:login")
    form = TwoFactorCodeForm(request.POST or None)

    def page(status: int) -> HttpResponse:
        return render(request, "accounts/login_code.html", {"form": form}, status=status)

    if request.method != "POST":
        return page(200)
    return _code_form_post(
        form,
        lambda: two_factor.pending_sign_in_complete(
            request=request, code=form.cleaned_data["code"]
        ),
        success=HttpResponseRedirect,
        page=page,
    )


def _code_form_post(
    form: forms.Form,
    save: Callable[[], T],
    *,
    success: Callable[[T], HttpResponse],
    page: Callable[[int], HttpResponse],
) -> HttpResponse:
    """``form_post`` of a form that checks a two-factor code: refused input is the page at
    422, and too many wrong codes (nothing checked) the page at 429 with the message on top."""
    try:
        return form_post(form, save, success=success, failure=lambda: page(422))
    except TwoFactorThrottled as error:
        form.add_error(None, error.message)
        return page(429)


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


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- users ------------------------------------------------------------------------------------


@login_required
@domain_errors
def user_list(request: SignedInRequest) -> HttpResponse:
    """All users with role, teams, absence and last sign-in (administrators only)."""
    users = selectors.user_list(actor=request.user)
    return render(
        request, "accounts/user_list.html", {"users": users, "today": timezone.localdate()}
    )


@login_required
@domain_errors
def user_create(request: SignedInRequest) -> HttpResponse:
    ADMIN_PAGES.check(request.user)
    form = UserForm(request.POST or None)
    return edit_page(
        request,
        form,
        lambda: services.user_create(
            actor=request.user, ip_address=client_address(request), **form.service_arguments()
        ),
        template="accounts/user_form.html",
        success=lambda user: saved(
            request,
            _("User “%(user)s” created.") % {"user": user},
            "accounts:user_edit",
            pk=user.pk,
        ),
    )


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
        "two_factor_on": two_factor.two_factor_is_enabled(user=user),
    }
    return render(request, "accounts/user_form.html", context, status=status)


@login_required
@domain_errors
def user_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    """A user's profile, role, teams, absence and password, with their API tokens."""
    user = selectors.user_get(actor=request.user, pk=pk)
    form = UserForm(request.POST or None, instance=user)
    if request.method != "POST":
        return _render_user_edit(request, user, form)
    return form_post(
        form,
        lambda: services.user_update(
            actor=request.user,
            user=user,
            ip_address=client_address(request),
            **form.service_arguments(),
        ),
        success=lambda _user: saved(request, _("Changes saved."), "accounts:user_edit", pk=user.pk),
        failure=lambda: _render_user_edit(request, user, form, status=422),
    )


def _user_page(user: User) -> str:
    return reverse("accounts:user_edit", args=[user.pk])


@require_POST
@login_required
@domain_errors
def user_deactivate(request: SignedInRequest, pk: int) -> HttpResponse:
    """Lock a user out: sessions ended, API tokens revoked, sign-in refused."""
    user = selectors.user_get(actor=request.user, pk=pk)
    try:
        services.user_deactivate(actor=request.user, user=user, ip_address=client_address(request))
    except ValidationFailed as error:
        problems = [m for field in error.field_errors.values() for m in field] or [str(error)]
        return _render_user_edit(
            request, user, UserForm(instance=user), status=422, access_errors=problems
        )
    return saved(request, _("%(user)s can no longer sign in.") % {"user": user}, _user_page(user))


@require_POST
@login_required
@domain_errors
def user_reactivate(request: SignedInRequest, pk: int) -> HttpResponse:
    user = selectors.user_get(actor=request.user, pk=pk)
    services.user_reactivate(actor=request.user, user=user, ip_address=client_address(request))
    return saved(request, _("%(user)s may sign in again.") % {"user": user}, _user_page(user))


@require_POST
@login_required
@domain_errors
def user_two_factor_reset(request: SignedInRequest, pk: int) -> HttpResponse:
    """An administrator removes a user's authenticator (a lost phone); audited."""
    user = selectors.user_get(actor=request.user, pk=pk)
    two_factor.two_factor_reset(actor=request.user, user=user, request=request)
    message = _("Two-factor sign-in of %(user)s is reset: they sign in with the password.")
    return saved(request, message % {"user": user}, _user_page(user))


# --- the user's own security: two-factor sign-in and password ---------------------------------


def _no_store(response: HttpResponse) -> HttpResponse:
    response.headers["Cache-Control"] = "no-store"
    return response


@sensitive_post_parameters("code", "password")
@login_required
def two_factor_page(request: SignedInRequest) -> HttpResponse:
    """Set up, confirm, renew recovery codes for, or turn off two-factor sign-in.

    POST ``action``: ``begin`` (a new secret, shown as a QR code), ``confirm`` (a code from
    the app turns it on and shows the recovery codes once), ``regenerate`` (new recovery
    codes after a code) or ``disable`` (password and a code).
    """
    user = request.user
    action = request.POST.get("action", "") if request.method == "POST" else ""
    code_form = TwoFactorCodeForm(request.POST if action in {"confirm", "regenerate"} else None)
    disable_form = TwoFactorDisableForm(request.POST if action == "disable" else None)
    if action == "begin":
        return flash_post(
            request,
            lambda: two_factor.two_factor_begin(user=user),
            done=None,
            to="accounts:two_factor",
        )

    def page(status: int, recovery_codes: list[str] | None = None) -> HttpResponse:
        return _two_factor_page(
            request, code_form, disable_form, recovery_codes or [], status=status
        )

    if action in {"confirm", "regenerate"}:
        service = (
            two_factor.two_factor_confirm
            if action == "confirm"
            else two_factor.recovery_codes_regenerate
        )

        def confirmed(recovery_codes: list[str]) -> HttpResponse:
            nonlocal code_form
            code_form = TwoFactorCodeForm()
            return page(200, recovery_codes)

        return _code_form_post(
            code_form,
            lambda: service(user=user, code=code_form.cleaned_data["code"], request=request),
            success=confirmed,
            page=page,
        )
    if action == "disable":
        return _code_form_post(
            disable_form,
            lambda: two_factor.two_factor_disable(
                user=user,
                password=disable_form.cleaned_data["password"],
                code=disable_form.cleaned_data["code"],
                request=request,
            ),
            success=lambda _none: saved(
                request, _("Two-factor sign-in is off."), "accounts:two_factor"
            ),
            page=page,
        )
    if request.method == "POST":
        return HttpResponseBadRequest(_("Unknown action."))
    return page(200)


def _two_factor_page(
    request: SignedInRequest,
    code_form: TwoFactorCodeForm,
    disable_form: TwoFactorDisableForm,
    recovery_codes: list[str],
    *,
    status: int,
) -> HttpResponse:
    user = request.user
    device = two_factor.two_factor_device(user=user)
    context: dict[str, Any] = {
        "device": device,
        "enabled": bool(device and device.is_confirmed),
        "required": two_factor.two_factor_is_required(user=user),
        "code_form": code_form,
        "disable_form": disable_form,
        "recovery_codes": recovery_codes,
        "codes_left": two_factor.recovery_codes_left(user=user),
    }
    if device is not None and not device.is_confirmed:
        context["qr_code"] = two_factor.qr_data_uri(
            two_factor.two_factor_provisioning_uri(device=device)
        )
        context["secret"] = two_factor.two_factor_secret(device=device)
    return _no_store(render(request, "accounts/two_factor.html", context, status=status))


@login_required
def time_zone(request: SignedInRequest) -> HttpResponse:
    """The user's own settings: the time zone of their reports' periods and their "today",
    and, for a head of sales or an administrator, the weekly e-mail summary."""
    user = request.user
    summary = user.may_get_weekly_summary
    form = TimeZoneForm(
        request.POST or None,
        initial={"time_zone": user.time_zone, "weekly_summary": user.wants_weekly_summary},
        weekly_summary=summary,
    )
    return edit_page(
        request,
        form,
        lambda: services.user_preferences_set(
            user=user,
            time_zone=form.cleaned_data["time_zone"],
            weekly_summary=form.cleaned_data["weekly_summary"] if summary else None,
        ),
        template="accounts/time_zone.html",
        success=lambda _user: saved(request, _("Your settings are saved."), "accounts:time_zone"),
    )


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@login_required
def password_change(request: SignedInRequest) -> HttpResponse:
    """The user changes their own password; other sessions end, this one stays."""
    form = PasswordChangeForm(request.POST or None)

    def changed(_result: object) -> HttpResponse:
        update_session_auth_hash(request, request.user)
        return saved(request, _("Your password is changed."), "accounts:password_change")

    return edit_page(
        request,
        form,
        lambda: services.password_change(
            user=request.user,
            old_password=form.cleaned_data["old_password"],
            new_password=form.cleaned_data["new_password1"],
            request=request,
        ),
        template="accounts/password_change.html",
        success=changed,
    )


# --- teams ------------------------------------------------------------------------------------


@login_required
@domain_errors
def team_list(request: SignedInRequest) -> HttpResponse:
    teams = selectors.team_list(actor=request.user)
    return render(request, "accounts/team_list.html", {"teams": teams})


def _team_form_page(request: SignedInRequest, team: Team | None) -> HttpResponse:
    form = TeamForm(
        request.POST or None, users=selectors.user_choices(actor=request.user), instance=team
    )
    return edit_page(
        request,
        form,
        lambda: services.team_save(
            actor=request.user,
            team=team,
            name=form.cleaned_data["name"],
            members=form.cleaned_data["members"],
            heads=form.cleaned_data["heads"],
            ip_address=client_address(request),
        ),
        template="accounts/team_form.html",
        context={"team": team},
        success=lambda stored: saved(
            request, _("Team “%(team)s” saved.") % {"team": stored}, "accounts:team_list"
        ),
    )


@login_required
@domain_errors
def team_create(request: SignedInRequest) -> HttpResponse:
    return _team_form_page(request, None)


@login_required
@domain_errors
def team_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    return _team_form_page(request, selectors.team_get(actor=request.user, pk=pk))


# --- API tokens -------------------------------------------------------------------------------


@login_required
def token_list(request: SignedInRequest) -> HttpResponse:
    """The user's API tokens and the form that issues a new one (its secret shown once)."""
    form = TokenForm(request.POST or None)

    def page(form: TokenForm, status: int, secret: str = "") -> HttpResponse:
        response = render(
            request,
            "accounts/token_list.html",
            {"form": form, "tokens": selectors.token_list(user=request.user), "secret": secret},
            status=status,
        )
        if secret:
            response.headers["Cache-Control"] = "no-store"
        return response

    return form_page(
        request,
        form,
        lambda: services.api_token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            expires_at=form.expires_at(),
            request=request,
        ),
        success=lambda created: page(TokenForm(), 201, secret=created[1]),
        page=lambda status: page(form, status),
    )


@require_POST
@login_required
@domain_errors
def token_revoke(request: SignedInRequest, pk: int) -> HttpResponse:
    token = selectors.token_get(actor=request.user, pk=pk)
    services.api_token_revoke(actor=request.user, token=token, request=request)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return HttpResponseRedirect(_safe_next(request, reverse("accounts:token_list")))


# --- audit log --------------------------------------------------------------------------------


@login_required
@domain_errors
def security_log(request: SignedInRequest) -> HttpResponse:
    """The audit log, newest first, with filters; invalid filters answer 400 naming them."""
    ADMIN_PAGES.check(request.user)
    form = AuditFilterForm(request.GET or None)
    filters = AuditFilter()
    status = 200
    if form.is_bound:
        if form.is_valid():
            filters = form.filters()
        else:
            status = 400
    page = None
    if status == 200:
        try:
            page = selectors.security_event_list(
                actor=request.user, filters=filters, cursor=request.GET.get("cursor")
            )
        except ValidationFailed:
            return HttpResponseBadRequest(_("Invalid cursor."))
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        "accounts/security_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=status,
    )


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(value: object) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a cell may not start with = + - @."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _audit_csv(events: Iterator[SecurityEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # Excel opens UTF-8 CSV correctly only with a byte-order mark
    yield writer.writerow(
        [_("Time"), _("Event"), _("User"), _("By"), _("Address"), _("Browser"), _("Details")]
    )
    for event in events:
        yield writer.writerow(
            [
                _csv_cell(value)
                for value in (
                    timezone.localtime(event.created_at).isoformat(timespec="seconds"),
                    event.get_kind_display(),
                    event.user.username if event.user else event.username,
                    event.actor.username if event.actor else "",
                    event.ip_address or "",
                    event.user_agent,
                    json.dumps(event.data, ensure_ascii=False, sort_keys=True),
                )
            ]
        )


@login_required
@domain_errors
def security_log_export(request: SignedInRequest) -> HttpResponseBase:
    """The filtered audit log as CSV (UTF-8 with BOM), streamed; the export is audited."""
    ADMIN_PAGES.check(request.user)
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest(
            "; ".join(
                f"{name}: {' '.join(str(error) for error in errors)}"
                for name, errors in form.errors.items()
            )
        )
    filters = form.filters() if form.is_bound else AuditFilter()
    rows, events = selectors.security_event_export(actor=request.user, filters=filters)
    security_event_record(
        kind=SecurityEvent.Kind.EXPORT,
        request=request,
        actor=request.user,
        data={
            "what": "audit_log",
            "rows": rows,
            "filters": filters.as_text(),
        },
    )
    response = StreamingHttpResponse(_audit_csv(events), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
