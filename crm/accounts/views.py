"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.accounts.forms import ThrottledAuthenticationForm
from crm.accounts.models import SecurityEvent
from crm.accounts.services import security_event_record, user_set_language
from crm.core.errors import ValidationFailed


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: ThrottledAuthenticationForm) -> HttpResponse:
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
def language(request: HttpRequest) -> HttpResponse:
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


# Placeholders: being written in this session.
def _todo(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    return HttpResponse("not yet", status=501)


user_list = user_create = user_edit = user_deactivate = user_reactivate = _todo
team_list = team_create = team_edit = token_list = token_revoke = security_log = _todo
