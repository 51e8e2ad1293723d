"""Reading generated documents and document templates, within the viewer's scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from crm.core.errors import NotFound
from crm.core.permissions import ScopedUser
from crm.sales.choices import DocumentKind
from crm.sales.documents.docx_file import builtin_template_path
from crm.sales.models import Deal, Document, DocumentTemplate
from crm.sales.permissions import DEAL

# The documents panel lists this many of a deal's latest documents.
PANEL_LIMIT = 50


@dataclass
class KindTemplates:
    """The live templates of one kind, the default first."""

    kind: str
    label: str
    templates: list[DocumentTemplate] = field(default_factory=list)

    @property
    def default(self) -> DocumentTemplate | None:
        return self.templates[0] if self.templates else None

    @property
    def others(self) -> list[DocumentTemplate]:
        return self.templates[1:]


def document_get(*, user: ScopedUser, pk: int) -> Document:
    """A document of a deal ``user`` may see, with its files joined; ``NotFound`` otherwise."""
    document = (
        Document.objects.filter(pk=pk, deal__in=Deal.objects.visible_to(user).values("pk"))
        .select_related("docx", "pdf", "deal")
        .first()
    )
    if document is None:
        raise NotFound(_("Document not found."))
    return document


def template_choices() -> list[KindTemplates]:
    """Live templates grouped by kind in the order proposal, invoice, contract."""
    groups = {kind: KindTemplates(kind, str(label)) for kind, label in DocumentKind.choices}
    templates = DocumentTemplate.objects.filter(archived=False).order_by(
        "kind", "-is_default", "-builtin", "name", "id"
    )
    for template in templates:
        if template.kind in groups:
            groups[template.kind].templates.append(template)
    return list(groups.values())


def document_panel(*, user: ScopedUser, deal: Deal) -> dict[str, Any]:
    """The context of ``sales/_documents_panel.html`` for a deal the caller checked ``user``
    may see: ``documents`` (newest first), ``document_kinds`` (``KindTemplates`` per kind)
    and ``can_generate_documents``. Two queries, whatever the number of documents."""
    documents = list(
        Document.objects.filter(deal=deal)
        .select_related("created_by")
        .order_by("-created_at", "-id")[:PANEL_LIMIT]
    )
    return {
        "documents": documents,
        "document_kinds": template_choices(),
        "can_generate_documents": DEAL.may_change(user, deal),
    }


def document_template_source(template: DocumentTemplate | None, kind: str) -> bytes:
    """The DOCX bytes of a template: its uploaded file, or the shipped one of ``kind``.

    Raises ``FileNotFoundError`` when an uploaded file is gone from storage.
    """
    if template is not None and template.file:
        with template.file.open("rb") as handle:
            data: bytes = handle.read()
        return data
    return builtin_template_path(kind).read_bytes()
