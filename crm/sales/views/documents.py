"""Documents pages: generating a document on the deal card, downloading its DOCX or PDF,
and the administrator's document templates (list, upload, default, archive, placeholders).

The deal card includes ``sales/_documents_panel.html``; its context comes from
``crm.sales.documents.selectors.document_panel``.
"""

from __future__ import annotations

import io
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, URLPattern, path, re_path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from crm.accounts.http import SignedInRequest
from crm.activities.models import Attachment
from crm.core.errors import DomainError, ValidationFailed
from crm.core.forms import BootstrapForm, domain_errors, form_post, saved
from crm.core.pages import flash_post
from crm.sales.choices import DocumentKind
from crm.sales.documents.context import placeholder_rows
from crm.sales.documents.docx_file import DOCX_MIME
from crm.sales.documents.selectors import document_get, document_template_source
from crm.sales.models import Deal, DocumentTemplate
from crm.sales.permissions import DOCUMENT_TEMPLATES
from crm.sales.services import documents as services

# Files sent with their real type; anything else goes out as opaque bytes.
DOWNLOAD_TYPES = {"application/pdf", DOCX_MIME}

# How the loops over line items and VAT rates are written in a template.
LOOP_EXAMPLES = [
    (
        gettext_lazy("A table row per line item (the tag rows disappear when filled in)"),
        "| {%tr for line in lines %}                                |\n"
        "| {{ line.number }} | {{ line.name }} | {{ line.quantity }} | {{ line.total }} |\n"
        "| {%tr endfor %}                                           |",
    ),
    (
        gettext_lazy("A paragraph per VAT rate, or the “no VAT” wording"),
        "{%p for row in vat %}\n"
        "В том числе НДС {{ row.rate }}: {{ row.amount }}\n"
        "{%p endfor %}\n"
        "{%p if not vat %}\nБез налога (НДС)\n{%p endif %}",
    ),
    (
        gettext_lazy("A condition inside a paragraph"),
        "{% if client.kpp %}КПП {{ client.kpp }}{% endif %}",
    ),
]


class TemplateUploadForm(BootstrapForm):
    """The shape of an upload; the service checks the file's content and that it renders."""

    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=DocumentKind.choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=services.TEMPLATE_NAME_MAX)
    file = forms.FileField(
        label=gettext_lazy("DOCX file"),
        allow_empty_file=True,
        help_text=gettext_lazy("A Word document with placeholders such as {{ client.name }}."),
    )
    make_default = forms.BooleanField(
        label=gettext_lazy("Use by default for this kind"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = f".docx,{DOCX_MIME}"


def _send(attachment: Attachment | None, *, filename: str = "") -> FileResponse:
    """A stored file as a download, never rendered by the browser (as on the timeline)."""
    if attachment is None:
        raise Http404(_("File not found."))
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("File not found.")) from None
    return _download_response(handle, filename or attachment.original_name, attachment.content_type)


def _download_response(handle: Any, filename: str, content_type: str) -> FileResponse:
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=filename,
        content_type=content_type if content_type in DOWNLOAD_TYPES else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, max-age=0"
    return response


def _deal_card_url(deal_pk: int) -> str:
    """The deal card; the home page until the card's URL exists."""
    try:
        return reverse("sales:deal_detail", args=[deal_pk])
    except NoReverseMatch:
        return reverse("home")


def _message(error: DomainError) -> str:
    details = [message for messages_ in error.field_errors.values() for message in messages_]
    return " ".join([error.message, *details]).strip() or str(error)


@login_required
@require_POST
@domain_errors
def document_generate(request: SignedInRequest, deal_id: int) -> HttpResponse:
    """Make a document of the posted ``kind`` (and optional ``template`` id) for a deal and
    go back to the deal card with a message."""
    deal = Deal.objects.filter(pk=deal_id).only("pk", "owner_id").first()
    if deal is None:
        raise Http404(_("Not found."))
    kind = request.POST.get("kind", "")
    template = None
    template_id = request.POST.get("template", "")
    try:
        if template_id:
            template = DocumentTemplate.objects.filter(pk=int(template_id)).first()
            if template is None:
                raise ValidationFailed(
                    _("Check the template."),
                    field_errors={"template": [_("Choose a live template of this kind.")]},
                )
            kind = kind or template.kind
        document = services.document_generate(
            actor=request.user, deal=deal, kind=kind, template=template
        )
    except ValueError:
        messages.error(request, _("Choose a template from the list."))
    except ValidationFailed as error:
        messages.error(request, _message(error))
    else:
        messages.success(
            request,
            _("%(kind)s № %(number)s is ready.")
            % {"kind": document.get_kind_display(), "number": document.number},
        )
    return redirect(_deal_card_url(deal.pk))


@login_required
@require_GET
@domain_errors
def document_download(request: SignedInRequest, pk: int, file_format: str) -> FileResponse:
    """The DOCX or PDF of a document of a deal the user may see."""
    document = document_get(user=request.user, pk=pk)
    return _send(document.docx if file_format == "docx" else document.pdf)


def _list_page(
    request: SignedInRequest, form: TemplateUploadForm | None = None, status: int = 200
) -> HttpResponse:
    templates = services.document_template_list(actor=request.user)
    return render(
        request,
        "sales/documents/template_list.html",
        {
            "templates": templates,
            "form": form or TemplateUploadForm(initial={"kind": DocumentKind.INVOICE}),
            "max_mb": services.TEMPLATE_MAX_BYTES // 2**20,
        },
        status=status,
    )


@login_required
@require_GET
@domain_errors
def document_template_list(request: SignedInRequest) -> HttpResponse:
    """The templates of every kind and the upload form (administrators only)."""
    return _list_page(request)


@login_required
@require_POST
@domain_errors
def document_template_upload(request: SignedInRequest) -> HttpResponse:
    DOCUMENT_TEMPLATES.check(request.user)
    form = TemplateUploadForm(request.POST, request.FILES)

    def added(template: DocumentTemplate) -> HttpResponse:
        message = _("Template “%(name)s” added.") % {"name": template.name}
        return saved(request, message, "sales:document_template_list")

    return form_post(
        form,
        lambda: services.document_template_upload(
            actor=request.user,
            kind=form.cleaned_data["kind"],
            name=form.cleaned_data["name"],
            upload=form.cleaned_data["file"],
            make_default=form.cleaned_data["make_default"],
        ),
        success=added,
        failure=lambda: _list_page(request, form, status=422),
        refused=lambda error: _list_page(request, form, status=error.status_code),
    )


@login_required
@require_POST
@domain_errors
def document_template_make_default(request: SignedInRequest, pk: int) -> HttpResponse:
    template = services.document_template_get(actor=request.user, pk=pk)
    return flash_post(
        request,
        lambda: services.document_template_make_default(actor=request.user, template=template),
        done=_("“%(name)s” is now the default for %(kind)s.")
        % {"name": template.name, "kind": template.get_kind_display().lower()},
        to="sales:document_template_list",
        message=_message,
    )


@login_required
@require_POST
@domain_errors
def document_template_archive(request: SignedInRequest, pk: int) -> HttpResponse:
    template = services.document_template_get(actor=request.user, pk=pk)
    return flash_post(
        request,
        lambda: services.document_template_archive(actor=request.user, template=template),
        done=_("Template “%(name)s” archived.") % {"name": template.name},
        to="sales:document_template_list",
        message=_message,
    )


@login_required
@require_GET
@domain_errors
def document_template_download(request: SignedInRequest, pk: int) -> FileResponse:
    """The template's DOCX (the shipped file for a builtin one), to edit and upload again."""
    template = services.document_template_get(actor=request.user, pk=pk)
    try:
        data = document_template_source(template, template.kind)
    except FileNotFoundError:
        raise Http404(_("File not found.")) from None
    return _download_response(io.BytesIO(data), f"{template.name}.docx", DOCX_MIME)


@login_required
@require_GET
@domain_errors
def document_template_placeholders(request: SignedInRequest) -> HttpResponse:
    """Every placeholder a template may use, with what it prints in a sample invoice."""
    DOCUMENT_TEMPLATES.check(request.user)
    return render(
        request,
        "sales/documents/placeholders.html",
        {
            "rows": placeholder_rows(DocumentKind.INVOICE),
            "examples": LOOP_EXAMPLES,
        },
    )


urlpatterns: list[URLPattern] = [
    path("document-templates/", document_template_list, name="document_template_list"),
    path("document-templates/upload/", document_template_upload, name="document_template_upload"),
    path(
        "document-templates/placeholders/",
        document_template_placeholders,
        name="document_template_placeholders",
    ),
    path(
        "document-templates/<int:pk>/default/",
        document_template_make_default,
        name="document_template_make_default",
    ),
    path(
        "document-templates/<int:pk>/archive/",
        document_template_archive,
        name="document_template_archive",
    ),
    path(
        "document-templates/<int:pk>/download/",
        document_template_download,
        name="document_template_download",
    ),
    path("deals/<int:deal_id>/documents/", document_generate, name="document_generate"),
    re_path(
        r"^documents/(?P<pk>[0-9]+)/(?P<file_format>docx|pdf)$",
        document_download,
        name="document_download",
    ),
]
