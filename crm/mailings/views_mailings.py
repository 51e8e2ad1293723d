"""Pages of mailings: the list, writing one (with a live preview against the segment's
first recipient), a mailing's page (progress polled while it sends, pause, resume, cancel,
start with a confirmation step for a large segment) and the report's recipient lists.

Only roles that may send mailings open these pages (403 otherwise); a mailing of someone
else is 404 (an administrator sees every mailing).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.accounts.http import SignedInRequest
from crm.core.errors import Conflict, DomainError, ValidationFailed
from crm.core.forms import apply_domain_errors, domain_errors
from crm.correspondence.selectors import record_for_mail, sender_settings_get, templates_for
from crm.correspondence.services.templates import email_render
from crm.mailings import selectors, services
from crm.mailings.choices import MailingState, ReportFigure
from crm.mailings.forms import MailingForm
from crm.mailings.models import Mailing
from crm.mailings.permissions import MAILING
from crm.mailings.spec import spec_clean

RECIPIENTS_PAGE = 50
REPORT_FIGURES = (
    ReportFigure.SENT,
    ReportFigure.DELIVERED,
    ReportFigure.BOUNCED,
    ReportFigure.UNSUBSCRIBED,
    ReportFigure.REPLIED,
    ReportFigure.SKIPPED,
    ReportFigure.FAILED,
)


def _form(request: SignedInRequest, data: Any = None) -> MailingForm:
    segments = [(s.pk, s.name) for s in selectors.segment_list(user=request.user)]
    templates = [(t.pk, t.name) for t in templates_for(user=request.user)]
    initial = {
        "rate_per_minute": settings.CRM_MAILING_RATE_PER_MINUTE,
        "sender": sender_settings_get(user=request.user).default_sender,
    }
    if segment := str(request.GET.get("segment") or ""):
        initial["segment_id"] = segment[:18]
    return MailingForm(data, segments=segments, templates=templates, initial=initial)


@login_required
@require_GET
@domain_errors
def mailing_list(request: SignedInRequest) -> HttpResponse:
    """The user's mailings (an administrator's: everyone's), newest first."""
    MAILING.check(request.user)
    return render(
        request,
        "mailings/mailing_list.html",
        {"mailings": selectors.mailing_list(user=request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def mailing_create(request: SignedInRequest) -> HttpResponse:
    """Write a draft mailing; it starts from its own page."""
    MAILING.check(request.user)
    if request.method != "POST":
        return render(request, "mailings/mailing_form.html", {"form": _form(request)})
    form = _form(request, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            mailing = services.mailing_create(
                actor=request.user,
                name=data["name"],
                segment_id=data["segment_id"],
                template_id=data["template_id"],
                sender=data["sender"],
                send_at=data["send_at"],
                rate_per_minute=data["rate_per_minute"],
            )
        except ValidationFailed as error:
            apply_domain_errors(form, error)
        else:
            messages.success(request, _("The mailing is saved as a draft."))
            return redirect("mailings:mailing_detail", pk=mailing.pk)
    return render(request, "mailings/mailing_form.html", {"form": form}, status=422)


def _int(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 18 else None


@login_required
@require_GET
@domain_errors
def mailing_preview(request: SignedInRequest) -> HttpResponse:
    """The chosen template rendered against the chosen segment's first recipient, with the
    placeholders that recipient cannot fill (an HTMX fragment of the form)."""
    MAILING.check(request.user)
    segment_id, template_id = (
        _int(request.GET.get("segment_id")),
        _int(request.GET.get("template_id")),
    )
    context: dict[str, Any] = {}
    template = (
        templates_for(user=request.user).filter(pk=template_id).first() if template_id else None
    )
    if segment_id and template is not None:
        try:
            segment = selectors.segment_get(user=request.user, pk=segment_id)
        except DomainError:
            raise Http404 from None
        spec = spec_clean(segment.spec)
        context["count"] = selectors.segment_count(user=request.user, spec=spec)
        first = selectors.segment_recipients(user=request.user, spec=spec, limit=1).items
        if first:
            contact = record_for_mail(user=request.user, kind="contact", pk=first[0].pk)
            try:
                context["preview"] = email_render(
                    actor=request.user,
                    record=contact,
                    subject=template.subject,
                    body=template.body,
                    language=template.language,
                )
            except ValidationFailed as error:
                context["error"] = "; ".join(m for ms in error.field_errors.values() for m in ms)
            context["contact"] = contact
        context["confirm_over"] = settings.CRM_MAILING_CONFIRM_OVER
    return render(request, "mailings/partials/mailing_preview.html", context)


def _detail_context(mailing: Mailing) -> dict[str, Any]:
    report = selectors.mailing_report(mailing=mailing)
    handled = report["all"] - report["queued"]
    return {
        "mailing": mailing,
        "report": report,
        "figures": [
            (figure, ReportFigure(figure).label, report[figure]) for figure in REPORT_FIGURES
        ],
        "percent": round(100 * handled / report["all"]) if report["all"] else 0,
        "handled": handled,
        "polling": mailing.state == MailingState.SENDING,
        "states": MailingState,
    }


@login_required
@require_GET
@domain_errors
def mailing_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    """A mailing: what it sends to whom, its progress and report, and its actions."""
    mailing = selectors.mailing_get(user=request.user, pk=pk)
    return render(request, "mailings/mailing_detail.html", _detail_context(mailing))


@login_required
@require_GET
@domain_errors
def mailing_progress(request: SignedInRequest, pk: int) -> HttpResponse:
    """The progress and report fragment, polled by the page while the mailing sends."""
    mailing = selectors.mailing_get(user=request.user, pk=pk)
    return render(request, "mailings/partials/mailing_progress.html", _detail_context(mailing))


@login_required
@require_POST
@domain_errors
def mailing_start(request: SignedInRequest, pk: int) -> HttpResponse:
    """Start a draft; a segment over ``CRM_MAILING_CONFIRM_OVER`` recipients first shows a
    confirmation page with the count (its button posts ``confirm``)."""
    mailing = selectors.mailing_get(user=request.user, pk=pk)
    try:
        services.mailing_start(
            actor=request.user, mailing=mailing, confirm=request.POST.get("confirm") == "1"
        )
    except ValidationFailed as error:
        if "confirm" in error.field_errors:
            context = {"mailing": mailing, "message": error.field_errors["confirm"][0]}
            return render(request, "mailings/mailing_confirm.html", context)
        for message in (m for ms in error.field_errors.values() for m in ms):
            messages.error(request, message)
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The mailing is started."))
    return redirect("mailings:mailing_detail", pk=mailing.pk)


def _action(request: SignedInRequest, pk: int, service: Any, done: str) -> HttpResponse:
    mailing = selectors.mailing_get(user=request.user, pk=pk)
    try:
        service(actor=request.user, mailing=mailing)
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("mailings:mailing_detail", pk=mailing.pk)


@login_required
@require_POST
@domain_errors
def mailing_pause(request: SignedInRequest, pk: int) -> HttpResponse:
    return _action(request, pk, services.mailing_pause, _("The mailing is paused."))


@login_required
@require_POST
@domain_errors
def mailing_resume(request: SignedInRequest, pk: int) -> HttpResponse:
    return _action(request, pk, services.mailing_resume, _("The mailing goes on."))


@login_required
@require_POST
@domain_errors
def mailing_cancel(request: SignedInRequest, pk: int) -> HttpResponse:
    return _action(request, pk, services.mailing_cancel, _("The mailing is cancelled."))


@login_required
@require_GET
@domain_errors
def mailing_recipients(request: SignedInRequest, pk: int, figure: str) -> HttpResponse:
    """The recipients behind one figure of the report, a page at a time."""
    mailing = selectors.mailing_get(user=request.user, pk=pk)
    if figure not in ReportFigure.values:
        raise Http404
    cursor = str(request.GET.get("cursor") or "")[:1000] or None
    try:
        page = selectors.mailing_recipients(
            mailing=mailing, figure=figure, cursor=cursor, limit=RECIPIENTS_PAGE
        )
    except ValidationFailed:
        return redirect("mailings:mailing_recipients", pk=pk, figure=figure)
    context = {
        "mailing": mailing,
        "figure": figure,
        "figure_label": ReportFigure(figure).label,
        "page": page,
        "now": timezone.now(),
    }
    return render(request, "mailings/mailing_recipients.html", context)
