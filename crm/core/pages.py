"""Helpers of the apps' pages for what every page asks of a request — where to go back,
whether a script asked, the posted data — for the two posts without a form — a button
that runs one service call, the order of a dragged list — and the page of one form that
creates or edits a record or a setting (``edit_page``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from crm.core.errors import DomainError, ValidationFailed
from crm.core.forms import form_page

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

T = TypeVar("T")


def safe_next(request: HttpRequest, default: str) -> str:
    """The ``next`` the form (or the query string) carries when it points into this site,
    else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def wants_fragment(request: HttpRequest) -> bool:
    """Whether a script (HTMX, or ``fetch`` saying so) asked, not a page load."""
    return bool(
        request.headers.get("HX-Request")
        or request.headers.get("X-Requested-With") == "XMLHttpRequest"
    )


def posted(request: HttpRequest) -> Any:
    """The form data of a POST (even an empty one, which must still bind the form), else
    ``None``."""
    return request.POST if request.method == "POST" else None


def optional_static(name: str) -> str:
    """The URL of a static file that may not be installed yet (the page works without it:
    with hashed static files a missing one would otherwise fail the whole page)."""
    try:
        return static(name)
    except ValueError:
        return ""


def _message_of(error: DomainError) -> str:
    return error.message


def flash_post(
    request: HttpRequest,
    action: Callable[[], object],
    *,
    done: StrOrPromise | None,
    to: str,
    refusals: tuple[type[DomainError], ...] = (ValidationFailed,),
    message: Callable[[DomainError], str] = _message_of,
) -> HttpResponseRedirect:
    """A button's post without a form: run ``action`` (one service call) and go back to
    ``to`` (a URL name or a path) with a flash — ``done`` (if any) when it ran, the refusal's
    ``message`` when it raised one of ``refusals``. Other domain errors pass through."""
    try:
        action()
    except refusals as error:
        messages.error(request, message(error))
    else:
        if done is not None:
            messages.success(request, done)
    return HttpResponseRedirect(resolve_url(to))


def order_post(
    request: HttpRequest,
    field: str,
    save: Callable[[list[int]], object],
    *,
    changed: StrOrPromise,
    to: str,
) -> HttpResponse:
    """The post of a dragged list's order (``field`` repeated, each id once).

    Saved: 204 for a script, else back to ``to`` with "Order saved.". Refused (an id that is
    not a number, or the service's ``ValidationFailed`` when the list changed meanwhile):
    422 with ``changed`` as text for a script, else back to ``to`` with it as an error.
    """
    try:
        ids = [int(value) for value in request.POST.getlist(field)]
        save(ids)
    except (ValueError, ValidationFailed):
        if wants_fragment(request):
            return HttpResponse(changed, status=422, content_type="text/plain; charset=utf-8")
        messages.error(request, changed)
        return HttpResponseRedirect(resolve_url(to))
    if wants_fragment(request):
        return HttpResponse(status=204)
    messages.success(request, _("Order saved."))
    return HttpResponseRedirect(resolve_url(to))


def edit_page(
    request: HttpRequest,
    form: forms.Form,
    save: Callable[[], T],
    *,
    template: str,
    success: Callable[[T], HttpResponse],
    context: Mapping[str, Any] | None = None,
) -> HttpResponse:
    """A page of one form that creates or edits a record or a setting: GET shows
    ``template`` with ``form`` (and ``context``); POST is ``form_page``'s, the page again at
    422 when the input or the service refuses."""

    def page(status: int) -> HttpResponse:
        return render(request, template, {"form": form, **(context or {})}, status=status)

    return form_page(request, form, save, success=success, page=page)
