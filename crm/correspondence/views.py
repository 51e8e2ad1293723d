"""Pages of correspondence: writing an e-mail from a card (with a live preview) or an SMS,
the e-mail templates, each user's sender settings, and the SMS provider's delivery
callback. Adapters: a form parses, one service or selector does the work."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.accounts.http import SignedInRequest
from crm.core.errors import ValidationFailed
from crm.core.forms import domain_errors, form_post, saved
from crm.core.http import client_address
from crm.core.permissions import Role
from crm.core.policies import CHANGE
from crm.correspondence import selectors
from crm.correspondence.choices import SenderChoice
from crm.correspondence.forms import (
    ComposeForm,
    SenderForm,
    SmsForm,
    TemplateForm,
    split_addresses,
)
from crm.correspondence.services import sending, sms
from crm.correspondence.services import templates as template_services
from crm.correspondence.services.placeholders import PLACEHOLDERS

security_log = logging.getLogger("crm.security")

# --- writing an e-mail ----------------------------------------------------------------------


def _compose_form(
    request: SignedInRequest, record: Any, data: Any = None, **kw: Any
) -> ComposeForm:
    addresses = selectors.address_choices(record)
    files = selectors.attachment_choices(record)
    return ComposeForm(
        data,
        request.FILES if data is not None else None,
        addresses=[(choice.address, choice.address) for choice in addresses],
        files=[(str(attachment.pk), attachment.original_name) for attachment in files],
        **kw,
    )


def _compose_context(
    request: SignedInRequest, kind: str, record: Any, form: ComposeForm, preview: Any = None
) -> dict[str, Any]:
    record_kind = selectors.mail_kind(kind)
    return {
        "form": form,
        "record": record,
        "kind": record_kind,
        "record_url": record_kind.url_of(record),
        "addresses": selectors.address_choices(record),
        "files": selectors.attachment_choices(record),
        "templates": list(selectors.templates_for(user=request.user)),
        "preview": preview,
        "preview_error": None,
    }


def _preview(request: SignedInRequest, record: Any, subject: str, body: str, template: Any) -> Any:
    try:
        return template_services.email_render(
            actor=request.user,
            record=record,
            subject=subject,
            body=body,
            language=template.language if template else "",
        )
    except ValidationFailed as error:
        return error


def _chosen_template(request: SignedInRequest, value: str | None) -> Any:
    try:
        pk = int(value or "")
    except ValueError:
        return None
    return selectors.templates_for(user=request.user).filter(pk=pk).first()


def _draft(form: ComposeForm) -> sending.Draft:
    data = form.cleaned_data
    upload = data.get("file")
    return sending.Draft(
        to=[*data["to"], *split_addresses(data["to_other"])],
        cc=split_addresses(data["cc"]),
        bcc=split_addresses(data["bcc"]),
        subject=data["subject"],
        body=data["body"],
        sender=data["sender"],
        template_id=data.get("template"),
        attachment_ids=[int(pk) for pk in data["attachment_ids"]],
        uploads=[upload] if upload else [],
    )


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def compose(request: SignedInRequest, kind: str, pk: int) -> HttpResponse:
    """Write an e-mail from a record: GET shows the form (a template's text loaded with
    ``?template=``, previewed against the record); POST sends it."""
    record = selectors.record_for_mail(user=request.user, kind=kind, pk=pk, action=CHANGE)
    if request.method == "GET":
        template = _chosen_template(request, request.GET.get("template"))
        own = selectors.sender_settings_get(user=request.user)
        initial = {
            "sender": own.default_sender if own.from_address else SenderChoice.COMPANY,
            "to": [choice.address for choice in selectors.address_choices(record)
                   if choice.undeliverable_at is None][:1],
        }  # fmt: skip
        if template is not None:
            initial.update(template=template.pk, subject=template.subject, body=template.body)
        form = _compose_form(request, record, initial=initial)
        preview = (
            _preview(request, record, template.subject, template.body, template)
            if template is not None
            else None
        )
        context = _compose_context(request, kind, record, form, preview)
        context["chosen_template"] = template
        return render(request, "correspondence/compose.html", context)
    form = _compose_form(request, record, request.POST)
    record_url = selectors.mail_kind(kind).url_of(record)

    def _sent(email: Any) -> HttpResponseRedirect:
        messages.success(request, _("The e-mail is queued for sending."))
        return HttpResponseRedirect(record_url)

    def _again(status: int = 422) -> HttpResponse:
        context = _compose_context(request, kind, record, form)
        return render(request, "correspondence/compose.html", context, status=status)

    # A refusal answers its own status: 422, a refused file 400, files too large 413.
    return form_post(
        form,
        lambda: sending.email_send(
            actor=request.user, kind=kind, record_id=record.pk, draft=_draft(form)
        ),
        success=_sent,
        failure=_again,
        refused=lambda error: _again(error.status_code),
    )


@login_required
@domain_errors
@require_POST
def compose_preview(request: SignedInRequest, kind: str, pk: int) -> HttpResponse:
    """The preview of the form's subject and text against the record (an HTMX fragment)."""
    record = selectors.record_for_mail(user=request.user, kind=kind, pk=pk, action=CHANGE)
    template = _chosen_template(request, request.POST.get("template"))
    preview = _preview(
        request, record, request.POST.get("subject", ""), request.POST.get("body", ""), template
    )
    status = 422 if isinstance(preview, ValidationFailed) else 200
    return render(
        request, "correspondence/partials/preview.html", {"preview": preview}, status=status
    )


# --- writing an SMS -------------------------------------------------------------------------


def _sms_page(
    request: SignedInRequest, kind: str, record: Any, form: SmsForm, status: int = 200,
    template: Any = None,
) -> HttpResponse:  # fmt: skip
    record_kind = selectors.mail_kind(kind)
    context = {
        "form": form,
        "record": record,
        "kind": record_kind,
        "record_url": record_kind.url_of(record),
        "phones": selectors.phone_choices(record),
        "templates": list(selectors.templates_for(user=request.user)),
        "chosen_template": template,
        "configured": sms.sms_configured(),
        "max_parts": settings.CRM_SMS_MAX_PARTS,
        "recent": list(selectors.sms_for_record(user=request.user, kind=kind, pk=record.pk)[:5]),
    }
    return render(request, "correspondence/sms_compose.html", context, status=status)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def sms_compose(request: SignedInRequest, kind: str, pk: int) -> HttpResponse:
    """Write an SMS from a record: GET shows the form (a template's text loaded with
    ``?template=``); POST queues it. Without a configured provider the page says so and a
    POST is refused (503)."""
    record = selectors.record_for_mail(user=request.user, kind=kind, pk=pk, action=CHANGE)
    if request.method == "GET":
        template = _chosen_template(request, request.GET.get("template"))
        phones = selectors.phone_choices(record)
        initial: dict[str, Any] = {"phone": phones[0].phone if phones else ""}
        if template is not None:
            initial.update(template=template.pk, text=template.body)
        return _sms_page(request, kind, record, SmsForm(initial=initial), template=template)
    form = SmsForm(request.POST)
    record_url = selectors.mail_kind(kind).url_of(record)

    def _sent(message: Any) -> HttpResponseRedirect:
        messages.success(request, _("The SMS is queued for sending."))
        return HttpResponseRedirect(record_url)

    def _again(status: int = 422) -> HttpResponse:
        return _sms_page(request, kind, record, form, status)

    return form_post(
        form,
        lambda: sms.sms_send(
            actor=request.user,
            kind=kind,
            record_id=record.pk,
            phone=form.cleaned_data["phone"],
            text=form.cleaned_data["text"],
            template_id=form.cleaned_data.get("template"),
        ),
        success=_sent,
        failure=_again,
        refused=lambda error: _again(error.status_code),
    )


@csrf_exempt
@require_POST
def sms_callback(request: HttpRequest, token: str) -> HttpResponse:
    """The SMS provider's delivery reports (public: the secret token in the address is the
    protection). A wrong token, or no callback configured, is 404; otherwise the body the
    provider expects (SMS.ru: ``100``), also for a report already recorded."""
    answer = sms.sms_callback(token=token, form=dict(request.POST.lists()))
    if answer is None:
        # The address without the token: it is the secret.
        security_log.warning("sms_callback_refused address=%s", client_address(request) or "")
        raise Http404
    return HttpResponse(answer, content_type="text/plain")


# --- templates ------------------------------------------------------------------------------


@login_required
@require_GET
def template_list(request: SignedInRequest) -> HttpResponse:
    """The shared templates and the user's own, with the placeholders they may use."""
    archived = request.GET.get("archived") == "1"
    context = {
        "templates": list(selectors.templates_for(user=request.user, archived=archived)),
        "archived": archived,
        "placeholders": PLACEHOLDERS,
        "is_admin": request.user.role == Role.ADMIN,
    }
    return render(request, "correspondence/template_list.html", context)


def _template_page(
    request: SignedInRequest, form: TemplateForm, template: Any, shared: bool, status: int = 200
) -> HttpResponse:
    context = {"form": form, "template": template, "shared": shared, "placeholders": PLACEHOLDERS}
    return render(request, "correspondence/template_form.html", context, status=status)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def template_create(request: SignedInRequest) -> HttpResponse:
    """A new template: personal, or shared (``?shared=1``, administrators)."""
    shared = (request.POST or request.GET).get("shared") == "1"
    form = TemplateForm(request.POST or None, initial={"language": request.LANGUAGE_CODE[:2]})
    if request.method == "GET":
        return _template_page(request, form, None, shared)
    return form_post(
        form,
        lambda: template_services.email_template_create(
            actor=request.user, data=form.cleaned_data, shared=shared
        ),
        success=lambda t: saved(
            request, _("The template is saved."), "correspondence:template_list"
        ),
        failure=lambda: _template_page(request, form, None, shared, 422),
    )


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def template_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    """Change a template the user manages (others' personal templates are 404)."""
    template = selectors.template_get(user=request.user, pk=pk)
    initial = {name: getattr(template, name) for name in template_services.EDITABLE}
    form = TemplateForm(request.POST or None, initial=initial)
    if request.method == "GET":
        return _template_page(request, form, template, template.is_shared)
    return form_post(
        form,
        lambda: template_services.email_template_update(
            actor=request.user, template=template, data=form.cleaned_data
        ),
        success=lambda t: saved(
            request, _("The template is saved."), "correspondence:template_list"
        ),
        failure=lambda: _template_page(request, form, template, template.is_shared, 422),
    )


@login_required
@domain_errors
@require_POST
def template_delete(request: SignedInRequest, pk: int) -> HttpResponse:
    template = selectors.template_get(user=request.user, pk=pk)
    template_services.email_template_delete(actor=request.user, template=template)
    return saved(request, _("The template is deleted."), "correspondence:template_list")


# --- the sender -----------------------------------------------------------------------------


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def sender(request: SignedInRequest) -> HttpResponse:
    """The user's own sender name and address, and their default sender."""
    current = selectors.sender_settings_get(user=request.user)
    form = SenderForm(
        request.POST or None,
        initial={
            "from_name": current.from_name,
            "from_address": current.from_address,
            "default_sender": current.default_sender,
        },
    )

    def page(status: int) -> HttpResponse:
        context = {"form": form, "company_sender": sending.sender_for(
            actor=request.user, choice=SenderChoice.COMPANY)}  # fmt: skip
        return render(request, "correspondence/sender.html", context, status=status)

    if request.method == "GET":
        return page(200)
    return form_post(
        form,
        lambda: sending.sender_settings_save(actor=request.user, data=form.cleaned_data),
        success=lambda row: saved(
            request, _("The sender settings are saved."), "correspondence:sender"
        ),
        failure=lambda: page(422),
    )
