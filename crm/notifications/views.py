"""The notification centre: the bell's badge and drop-down, the list page, marking read.

Adapters only: each view parses the request, calls one selector or service and renders.
A notification of another user answers 404, like a missing one.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from crm.accounts.http import SignedInRequest
from crm.core.errors import NotFound, ValidationFailed
from crm.core.pagination import Page
from crm.notifications import selectors, services

CHANGED_EVENT = "notifications-changed"  # the badge listens for it and refreshes at once
STOP_POLLING = 286  # HTMX stops polling on this status


@require_GET
@never_cache
def notification_badge(request: HttpRequest) -> HttpResponse:
    """The unread counter of the navbar's bell, polled every 30 s by HTMX.

    The poll reads the session but never saves it, so it does not keep a session alive
    (``SESSION_SAVE_EVERY_REQUEST`` stays off) and sets no cookie. Once the session is gone
    it answers an empty 286, which empties the badge and stops the polling, instead of
    swapping the sign-in page into the navbar.
    """
    if not request.user.is_authenticated:
        return HttpResponse(status=STOP_POLLING)
    unread = selectors.notification_unread_count(actor=request.user)
    return render(request, "notifications/partials/badge.html", {"unread": unread})


@login_required
@require_GET
@never_cache
def notification_menu(request: SignedInRequest) -> HttpResponse:
    """The bell's drop-down: the latest notifications, loaded when it opens."""
    return _menu(request)


def _menu(request: SignedInRequest) -> HttpResponse:
    items = selectors.notification_recent(actor=request.user)
    return render(request, "notifications/partials/menu.html", {"items": items})


@login_required
@require_GET
def notification_list(request: SignedInRequest) -> HttpResponse:
    """All the user's notifications, newest first, a page at a time; ``?unread=1`` filters."""
    unread = request.GET.get("unread") == "1"
    cursor = request.GET.get("cursor") or None
    status, error = 200, ""
    try:
        page = selectors.notification_page(actor=request.user, unread=unread, cursor=cursor)
    except ValidationFailed as exc:
        page, status, error = Page([], None), 400, exc.message or str(exc)
    kept = {"unread": "1"} if unread else {}
    context = {
        "page": page,
        "unread": unread,
        "error": error,
        "next_url": f"?{urlencode({**kept, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else "",
        "first_url": f"?{urlencode(kept)}" if cursor else "",
    }
    return render(request, "notifications/notification_list.html", context, status=status)


@login_required
@require_GET
def notification_open(request: SignedInRequest, pk: int) -> HttpResponse:
    """Mark the notification read and go to what it is about (or to the list)."""
    try:
        notification = services.notification_open(actor=request.user, pk=pk)
    except NotFound as error:
        raise Http404(error.message) from error
    target = notification.url
    if not target or not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        target = reverse("notifications:notification_list")
    return HttpResponseRedirect(target)


@login_required
@require_POST
def notification_read(request: SignedInRequest, pk: int) -> HttpResponse:
    """Mark one notification read (the list's button)."""
    try:
        services.notification_mark_read(actor=request.user, ids=[pk])
    except NotFound as error:
        raise Http404(error.message) from error
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = CHANGED_EVENT
        return response
    return _back(request)


@login_required
@require_POST
def notification_read_all(request: SignedInRequest) -> HttpResponse:
    """Mark every notification read; from the drop-down, answer with the drop-down."""
    services.notification_mark_read(actor=request.user, all=True)
    if request.htmx:
        response = _menu(request)
        response["HX-Trigger"] = CHANGED_EVENT
        return response
    return _back(request)


def _back(request: SignedInRequest) -> HttpResponse:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return redirect("notifications:notification_list")
