"""Generating documents for deals (proposal, invoice, contract) and managing their templates.

A generated document is numbered per kind and year («СЧ-2026-0001»), rendered twice from one
context (the DOCX from the chosen template, the PDF drawn by ``documents.pdf_file``), stored
as two timeline attachments and recorded on the deal's timeline, all in one transaction.
"""

from __future__ import annotations

import io
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.activities.choices import EntryKind
from crm.activities.models import Attachment
from crm.activities.services import attachment_store, timeline_record, timeline_record_changes
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.models import field_verbose_name
from crm.core.permissions import ScopedUser
from crm.sales.choices import DocumentKind
from crm.sales.documents.context import NUMBER_PREFIXES, TITLES, deal_context, sample_context
from crm.sales.documents.docx_file import (
    DOCX_MIME,
    NotDocx,
    TemplateBroken,
    render_docx,
)
from crm.sales.documents.selectors import document_template_source
from crm.sales.models import Deal, Document, DocumentTemplate
from crm.sales.permissions import DEAL, DOCUMENT_TEMPLATES
from crm.sales.services.deals import deal_touch

TEMPLATE_MAX_BYTES = 5 * 2**20
TEMPLATE_NAME_MAX = 150
# Kinds that make no sense without line items.
NEEDS_LINES = {DocumentKind.PROPOSAL, DocumentKind.INVOICE}
NUMBER_ATTEMPTS = 5


class TemplateFileRejected(ValidationFailed):
    """An upload that is not a Word (DOCX) file."""

    status_code = 400


class TemplateTooLarge(ValidationFailed):
    status_code = 413


def _deal_for_change(actor: ScopedUser, deal: Deal) -> Deal:
    """The deal reloaded within ``actor``'s scope with what the documents print joined;
    ``NotFound`` when invisible, ``PermissionDenied`` when read-only for ``actor``."""
    visible: Deal | None = (
        Deal.objects.visible_to(actor)
        .select_related("owner", "contact", "company")
        .filter(pk=deal.pk)
        .first()
    )
    if visible is None:
        raise NotFound(_("Not found."))
    if not DEAL.may_change(actor, visible):
        raise PermissionDenied(str(DEAL.record_denied))
    return visible


def _template_for(kind: str, template: DocumentTemplate | None) -> DocumentTemplate | None:
    """The chosen live template of ``kind``, else the kind's default, else its builtin row;
    ``None`` only when the kind has no template row at all (the shipped file is used)."""
    if template is not None:
        if template.kind != kind or template.archived:
            raise ValidationFailed(
                _("Check the template."),
                field_errors={"template": [_("Choose a live template of this kind.")]},
            )
        return template
    templates = DocumentTemplate.objects.filter(kind=kind)
    return (
        templates.filter(archived=False).order_by("-is_default", "-builtin", "id").first()
        or templates.filter(builtin=True).order_by("id").first()
    )


def _lock_kind(kind: str) -> None:
    """Serialise numbering (and default switching) of one kind on PostgreSQL by locking the
    kind's oldest template row (the builtin one, never deleted). SQLite runs every write
    transaction alone (``BEGIN IMMEDIATE``), so there the lock changes nothing."""
    list(
        DocumentTemplate.objects.select_for_update()
        .filter(kind=kind)
        .order_by("id")
        .values_list("id", flat=True)[:1]
    )


def _next_number(kind: str, year: int) -> str:
    prefix = f"{NUMBER_PREFIXES[kind]}-{year}-"
    numbers = (
        Document.objects.filter(kind=kind, number__startswith=prefix)
        .order_by(Length("number").desc(), "-number")
        .values_list("number", flat=True)
    )
    last = 0
    for number in numbers[:20]:
        suffix = number.removeprefix(prefix)
        if suffix.isdigit():
            last = int(suffix)
            break
    return f"{prefix}{last + 1:04d}"


def _create_numbered(
    *, actor: ScopedUser, deal: Deal, kind: str, template: DocumentTemplate | None
) -> Document:
    """Insert the document row with the next free number of its kind and year.

    The number is the highest of the year plus one, under the kind's lock; with a unique
    constraint on (kind, number) a racing insert fails in its savepoint and is retried.
    """
    year = timezone.localdate().year
    _lock_kind(kind)
    for _attempt in range(NUMBER_ATTEMPTS):
        try:
            with transaction.atomic():
                return Document.objects.create(
                    deal=deal,
                    template=template,
                    kind=kind,
                    number=_next_number(kind, year),
                    created_by_id=actor.pk,
                )
        except IntegrityError:
            continue
    raise Conflict(_("Could not number the document; try again."))


def _store(*, data: bytes, name: str, content_type: str, actor: ScopedUser) -> Attachment:
    """Store generated bytes through the same checks as an upload."""
    return attachment_store(
        upload=SimpleUploadedFile(name, data, content_type=content_type), author=actor
    )


def _render(
    *, deal: Deal, document: Document, template: DocumentTemplate | None
) -> tuple[bytes, bytes]:
    today = timezone.localdate()
    context = deal_context(deal=deal, kind=document.kind, number=document.number, date=today)
    try:
        source = document_template_source(template, document.kind)
    except FileNotFoundError:
        raise ValidationFailed(
            _("Check the template."),
            field_errors={"template": [_("The template's file is missing; upload it again.")]},
        ) from None
    try:
        docx_data = render_docx(source, context)
    except (NotDocx, TemplateBroken) as error:
        raise ValidationFailed(
            _("The template could not be filled in."),
            field_errors={"template": [_template_error_text(error)]},
        ) from error
    # fpdf and its font tables take 0.2 s to import: loaded by the process that makes a PDF.
    from crm.sales.documents.pdf_file import render_pdf

    return docx_data, render_pdf(context)


def _remember_number(deal: Deal, kind: str, number: str, actor: ScopedUser) -> None:
    """An invoice or a contract gives the deal its number if it has none yet (the stage
    rules often require one)."""
    fields: dict[str, str] = {
        DocumentKind.INVOICE: "invoice_number",
        DocumentKind.CONTRACT: "contract_number",
    }
    field = fields.get(kind)
    if field is None or getattr(deal, field):
        return
    setattr(deal, field, number)
    deal.save(update_fields=[field, "updated_at"])
    timeline_record_changes(
        subject=deal,
        author=actor,
        changes=[
            {
                "field": field,
                "label": field_verbose_name(Deal, field),
                "old": "",
                "new": number,
            }
        ],
    )


@transaction.atomic
def document_generate(
    *, actor: ScopedUser, deal: Deal, kind: str, template: DocumentTemplate | None = None
) -> Document:
    """Make a proposal, invoice or contract for ``deal`` and return it.

    Preconditions: ``actor`` may see the deal (else ``NotFound``) and change it (else
    ``PermissionDenied``); a proposal or invoice needs line items. Side effects, all in
    this transaction: the ``Document`` row with the next number of its kind and year, the
    DOCX and PDF as ``Attachment`` rows, a "file" entry on the deal's timeline (the PDF
    attached; ``data`` names the document and both files) and the deal's activity time.
    A failure writes nothing and removes any file already stored.
    """
    if kind not in DocumentKind.values:
        raise ValidationFailed(
            _("Check the document."), field_errors={"kind": [_("Unknown kind of document.")]}
        )
    deal = _deal_for_change(actor, deal)
    if kind in NEEDS_LINES and not deal.lines.exists():
        raise ValidationFailed(
            _("Add products or services to the deal first."),
            field_errors={"lines": [_("The deal has no products or services.")]},
        )
    template = _template_for(kind, template)
    document = _create_numbered(actor=actor, deal=deal, kind=kind, template=template)
    docx_data, pdf_data = _render(deal=deal, document=document, template=template)
    base_name = f"{TITLES[kind]} {document.number}"
    stored: list[Attachment] = []
    try:
        stored.append(
            _store(data=docx_data, name=f"{base_name}.docx", content_type=DOCX_MIME, actor=actor)
        )
        stored.append(
            _store(
                data=pdf_data, name=f"{base_name}.pdf", content_type="application/pdf", actor=actor
            )
        )
        document.docx, document.pdf = stored
        document.save(update_fields=["docx", "pdf"])
        timeline_record(
            subject=deal,
            kind=EntryKind.FILE,
            author=actor,
            title=f"{TITLES[kind]} № {document.number}",
            attachment=document.pdf,
            data={
                "document_id": document.pk,
                "document_kind": kind,
                "number": document.number,
                "docx_attachment_id": document.docx.pk,
                "pdf_attachment_id": document.pdf.pk,
            },
        )
        _remember_number(deal, kind, document.number, actor)
        deal_touch(deal=deal)
    except BaseException:
        for attachment in stored:
            attachment.file.delete(save=False)
        raise
    return document


# --- templates --------------------------------------------------------------------------------


def _template_error_text(error: Exception) -> str:
    if isinstance(error, NotDocx):
        return _("This is not a Word (.docx) document.")
    if isinstance(error, TemplateBroken):
        text = error.message
        if error.line is not None:
            text = _("Line %(line)d: %(message)s") % {"line": error.line, "message": text}
        if error.near:
            text = _("%(text)s (near “%(near)s”)") % {"text": text, "near": error.near}
        return text
    return str(error)


def _read_upload(upload: UploadedFile[Any]) -> bytes:
    upload.seek(0)
    buffer = io.BytesIO()
    for chunk in upload.chunks():
        buffer.write(chunk)
        if buffer.tell() > TEMPLATE_MAX_BYTES:
            break
    return buffer.getvalue()


def document_template_check(*, kind: str, upload: UploadedFile[Any]) -> bytes:
    """Check an uploaded template: size, a real DOCX by content, and that it renders with
    the sample context of ``kind``. Returns the bytes; raises an error naming ``file``."""
    limit_mb = TEMPLATE_MAX_BYTES // 2**20
    too_large = _("The file is larger than %(limit)d MB.") % {"limit": limit_mb}
    if (upload.size or 0) > TEMPLATE_MAX_BYTES:
        raise TemplateTooLarge(field_errors={"file": [too_large]})
    data = _read_upload(upload)
    if len(data) > TEMPLATE_MAX_BYTES:
        raise TemplateTooLarge(field_errors={"file": [too_large]})
    if not data:
        raise ValidationFailed(field_errors={"file": [_("The file is empty.")]})
    if not (upload.name or "").lower().endswith(".docx"):
        raise TemplateFileRejected(
            field_errors={"file": [_("Upload a Word document with the .docx extension.")]}
        )
    try:
        render_docx(data, sample_context(kind))
    except NotDocx as error:
        raise TemplateFileRejected(field_errors={"file": [_template_error_text(error)]}) from error
    except TemplateBroken as error:
        raise ValidationFailed(
            _("The template does not work."), field_errors={"file": [_template_error_text(error)]}
        ) from error
    return data


def _make_default(template: DocumentTemplate) -> None:
    DocumentTemplate.objects.filter(kind=template.kind, is_default=True).exclude(
        pk=template.pk
    ).update(is_default=False)
    if not template.is_default:
        template.is_default = True
        template.save(update_fields=["is_default", "updated_at"])


def document_template_upload(
    *,
    actor: ScopedUser,
    kind: str,
    name: str,
    upload: UploadedFile[Any] | None,
    make_default: bool = False,
) -> DocumentTemplate:
    """Add a DOCX template (administrators only), optionally as the default of its kind.

    The file is checked before anything is written (see ``document_template_check``).
    """
    DOCUMENT_TEMPLATES.check(actor)
    errors: dict[str, list[str]] = {}
    if kind not in DocumentKind.values:
        errors["kind"] = [_("Unknown kind of document.")]
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Name the template.")]
    elif len(name) > TEMPLATE_NAME_MAX:
        errors["name"] = [_("At most %(n)d characters.") % {"n": TEMPLATE_NAME_MAX}]
    if upload is None:
        errors["file"] = [_("Choose a file.")]
    if errors:
        raise ValidationFailed(_("Check the template."), field_errors=errors)
    assert upload is not None
    data = document_template_check(kind=kind, upload=upload)
    template = DocumentTemplate(kind=kind, name=name, uploaded_by_id=actor.pk)
    template.file.save(f"{kind}.docx", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            if make_default:
                _lock_kind(kind)
            template.save()
            if make_default:
                _make_default(template)
    except BaseException:
        template.file.delete(save=False)
        raise
    return template


def _admin_template(actor: ScopedUser, template: DocumentTemplate) -> DocumentTemplate:
    DOCUMENT_TEMPLATES.check(actor)
    locked = DocumentTemplate.objects.select_for_update().filter(pk=template.pk).first()
    if locked is None:
        raise NotFound(_("Not found."))
    return locked


@transaction.atomic
def document_template_make_default(
    *, actor: ScopedUser, template: DocumentTemplate
) -> DocumentTemplate:
    """Make a live template the one used for its kind unless another is chosen."""
    template = _admin_template(actor, template)
    if template.archived:
        raise ValidationFailed(
            _("Check the template."),
            field_errors={"template": [_("An archived template cannot be the default.")]},
        )
    _make_default(template)
    return template


@transaction.atomic
def document_template_archive(*, actor: ScopedUser, template: DocumentTemplate) -> DocumentTemplate:
    """Hide a template from the choice; documents made from it keep their files.

    The shipped templates stay (they are the fallback of their kind). Archiving the default
    makes the kind's shipped template the default again.
    """
    template = _admin_template(actor, template)
    if template.builtin:
        raise ValidationFailed(
            _("Check the template."),
            field_errors={
                "template": [
                    _("The shipped template cannot be archived; make another the default.")
                ]
            },
        )
    if template.archived:
        return template
    was_default = template.is_default
    template.archived, template.is_default = True, False
    template.save(update_fields=["archived", "is_default", "updated_at"])
    if was_default:
        fallback = (
            DocumentTemplate.objects.filter(kind=template.kind, archived=False)
            .order_by("-builtin", "-created_at", "-id")
            .first()
        )
        if fallback is not None:
            _make_default(fallback)
    return template


def document_template_list(*, actor: ScopedUser) -> list[DocumentTemplate]:
    """Every template, live and archived, for the administrator's page."""
    DOCUMENT_TEMPLATES.check(actor)
    order = {kind: index for index, kind in enumerate(DocumentKind.values)}
    templates = list(DocumentTemplate.objects.select_related("uploaded_by"))
    return sorted(
        templates,
        key=lambda t: (order.get(t.kind, 99), t.archived, not t.is_default, not t.builtin, t.name),
    )


def document_template_get(*, actor: ScopedUser, pk: Any) -> DocumentTemplate:
    """A template for the administrator; ``NotFound`` for an unknown id."""
    DOCUMENT_TEMPLATES.check(actor)
    try:
        return DocumentTemplate.objects.get(pk=int(pk))
    except (TypeError, ValueError, DocumentTemplate.DoesNotExist):
        raise NotFound(_("Not found.")) from None
