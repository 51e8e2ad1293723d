"""Documents pages: generating from the deal card, downloads, the template administration."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from conftest import client_for
from crm.sales.documents.selectors import document_panel
from crm.sales.models import Document, DocumentTemplate
from crm.sales.services import documents as services
from crm.sales.tests.test_documents_services import (
    PNG,
    docx_upload,
    make_client_company,
    make_deal,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    """These tests read English messages: pin the language (the default is Russian)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def generate_url(deal) -> str:
    return reverse("sales:document_generate", args=[deal.pk])


def download_url(document, file_format: str) -> str:
    return reverse("sales:document_download", args=[document.pk, file_format])


# --- generating -----------------------------------------------------------------------------


def test_generating_creates_the_document_and_redirects_to_the_deal(org):
    deal = make_deal(org.manager, company=make_client_company(org.manager))

    response = client_for(org.manager).post(generate_url(deal), {"kind": "invoice"})

    assert response.status_code == 302
    document = Document.objects.get(deal=deal)
    assert document.kind == "invoice" and document.docx_id and document.pdf_id


def test_generating_with_a_chosen_template_takes_its_kind(org):
    deal = make_deal(org.manager)
    template = DocumentTemplate.objects.get(kind="contract", builtin=True)

    response = client_for(org.manager).post(generate_url(deal), {"template": template.pk})

    assert response.status_code == 302
    assert Document.objects.get(deal=deal).kind == "contract"


def test_a_refused_generation_redirects_with_the_reason_and_writes_nothing(org):
    deal = make_deal(org.manager, with_lines=False)
    client = client_for(org.manager)

    response = client.post(generate_url(deal), {"kind": "invoice"}, follow=True)

    assert not Document.objects.exists()
    assert "The deal has no products or services." in response.content.decode()


@pytest.mark.parametrize(
    ("user_name", "status"),
    [("outsider", 404), ("viewer", 403), ("colleague", 302), ("head", 302), ("admin", 302)],
)
def test_generation_permission_matrix(org, user_name, status):
    deal = make_deal(org.manager)
    deal.shared_with.add(org.colleague)

    response = client_for(getattr(org, user_name)).post(generate_url(deal), {"kind": "invoice"})

    assert response.status_code == status
    assert Document.objects.filter(deal=deal).exists() == (status == 302)


def test_generation_needs_sign_in_post_and_csrf(org):
    deal = make_deal(org.manager)
    anonymous = client_for(None).post(generate_url(deal), {"kind": "invoice"})
    get = client_for(org.manager).get(generate_url(deal))
    strict = client_for(org.manager)
    strict.handler.enforce_csrf_checks = True
    no_token = strict.post(generate_url(deal), {"kind": "invoice"})

    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert get.status_code == 405
    assert no_token.status_code == 403
    assert not Document.objects.exists()


def test_an_unknown_deal_is_404(org):
    response = client_for(org.admin).post("/sales/deals/999999/documents/", {"kind": "invoice"})

    assert response.status_code == 404


# --- downloads ------------------------------------------------------------------------------


def test_downloads_are_attachments_with_nosniff(org):
    deal = make_deal(org.manager)
    document = services.document_generate(actor=org.manager, deal=deal, kind="invoice")
    client = client_for(org.manager)

    pdf = client.get(download_url(document, "pdf"))
    docx_file = client.get(download_url(document, "docx"))

    assert pdf.status_code == 200 and docx_file.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert docx_file["Content-Type"] == DOCX_MIME
    for response in (pdf, docx_file):
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "sandbox"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert (
        document.number in pdf["Content-Disposition"] or "filename*" in pdf["Content-Disposition"]
    )


@pytest.mark.parametrize(("user_name", "status"), [("outsider", 404), ("viewer", 200), (None, 302)])
def test_downloads_follow_the_deal_visibility(org, user_name, status):
    deal = make_deal(org.manager)
    document = services.document_generate(actor=org.manager, deal=deal, kind="invoice")
    user = getattr(org, user_name) if user_name else None

    response = client_for(user).get(download_url(document, "pdf"))

    assert response.status_code == status


def test_an_unknown_format_or_document_is_404(org):
    deal = make_deal(org.manager)
    document = services.document_generate(actor=org.manager, deal=deal, kind="invoice")
    client = client_for(org.manager)

    assert client.get(f"/sales/documents/{document.pk}/exe").status_code == 404
    assert client.get("/sales/documents/999999/pdf").status_code == 404


# --- the deal card panel --------------------------------------------------------------------


def test_the_panel_lists_documents_and_offers_each_kind(org):
    deal = make_deal(org.manager)
    services.document_generate(actor=org.manager, deal=deal, kind="invoice")
    services.document_template_upload(
        actor=org.admin, kind="invoice", name="Счёт с печатью", upload=docx_upload("Счёт")
    )
    request = RequestFactory().get("/")
    request.user = org.manager

    html = render_to_string(
        "sales/_documents_panel.html",
        {"deal": deal, **document_panel(user=org.manager, deal=deal)},
        request=request,
    )

    document = Document.objects.get()
    assert generate_url(deal) in html
    assert download_url(document, "pdf") in html and download_url(document, "docx") in html
    assert f"№ {document.number}" in html
    assert "Счёт с печатью" in html and 'name="csrfmiddlewaretoken"' in html
    read_only = document_panel(user=org.viewer, deal=deal)
    assert not read_only["can_generate_documents"]


def test_the_panel_reads_the_same_number_of_queries_for_one_document_and_many(org):
    deal = make_deal(org.manager)
    services.document_generate(actor=org.manager, deal=deal, kind="invoice")
    with CaptureQueriesContext(connection) as one:
        document_panel(user=org.manager, deal=deal)
    for kind in ("invoice", "proposal", "contract"):
        services.document_generate(actor=org.admin, deal=deal, kind=kind)
    with CaptureQueriesContext(connection) as many:
        document_panel(user=org.manager, deal=deal)

    assert len(one) == len(many)


# --- template administration ----------------------------------------------------------------


def test_the_template_pages_are_for_administrators(org):
    builtin = DocumentTemplate.objects.get(kind="invoice", builtin=True)
    urls = [
        reverse("sales:document_template_list"),
        reverse("sales:document_template_placeholders"),
        reverse("sales:document_template_download", args=[builtin.pk]),
    ]
    for url in urls:
        assert client_for(org.admin).get(url).status_code == 200
        assert client_for(org.head).get(url).status_code == 403
        assert client_for(None).get(url).status_code == 302


def test_the_list_and_the_placeholders_show_what_an_administrator_needs(org):
    client = client_for(org.admin)

    listing = client.get(reverse("sales:document_template_list")).content.decode()
    placeholders = client.get(reverse("sales:document_template_placeholders")).content.decode()

    assert "Договор поставки" in listing and 'enctype="multipart/form-data"' in listing
    assert "{{ client.inn }}" in placeholders and "{{ totals.in_words }}" in placeholders
    assert "{%tr for line in lines %}" in placeholders
    assert "7707083893" in placeholders


def test_the_builtin_template_downloads_as_docx(org):
    builtin = DocumentTemplate.objects.get(kind="contract", builtin=True)

    response = client_for(org.admin).get(
        reverse("sales:document_template_download", args=[builtin.pk])
    )

    assert response["Content-Type"] == DOCX_MIME
    assert b"".join(response.streaming_content).startswith(b"PK")


def test_uploading_a_template_then_making_it_default_and_archiving_it(org):
    client = client_for(org.admin)

    response = client.post(
        reverse("sales:document_template_upload"),
        {"kind": "proposal", "name": "КП с логотипом", "file": docx_upload("{{ client.name }}")},
    )
    template = DocumentTemplate.objects.get(name="КП с логотипом")
    made_default = client.post(reverse("sales:document_template_make_default", args=[template.pk]))
    template.refresh_from_db()
    is_default = template.is_default
    archived = client.post(reverse("sales:document_template_archive", args=[template.pk]))
    template.refresh_from_db()

    assert response.status_code == 302
    assert made_default.status_code == 302 and is_default
    assert archived.status_code == 302 and template.archived
    assert DocumentTemplate.objects.get(kind="proposal", builtin=True).is_default


def test_a_broken_template_upload_answers_422_naming_the_file(org):
    response = client_for(org.admin).post(
        reverse("sales:document_template_upload"),
        {"kind": "invoice", "name": "Кривой", "file": docx_upload("Сумма {{ totals.total }")},
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert 'name="file"' in page and "is-invalid" in page
    assert "Line " in page and "Сумма" in page
    assert not DocumentTemplate.objects.filter(name="Кривой").exists()


def test_a_png_named_docx_answers_400(org):
    response = client_for(org.admin).post(
        reverse("sales:document_template_upload"),
        {"kind": "invoice", "name": "Картинка", "file": SimpleUploadedFile("a.docx", PNG)},
    )

    assert response.status_code == 400
    assert "This is not a Word (.docx) document." in response.content.decode()
    assert not DocumentTemplate.objects.filter(name="Картинка").exists()


def test_a_manager_may_not_upload(org):
    response = client_for(org.manager).post(
        reverse("sales:document_template_upload"),
        {"kind": "invoice", "name": "Моё", "file": docx_upload("Счёт")},
    )

    assert response.status_code == 403
    assert not DocumentTemplate.objects.filter(name="Моё").exists()
