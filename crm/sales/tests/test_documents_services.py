"""Generating proposals, invoices and contracts for deals, and managing their templates.

Documents are read back for real: the DOCX with python-docx, the PDF's text with pypdf.
"""

from __future__ import annotations

import importlib.util
import io
import re
import threading
import zipfile
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from pypdf import PdfReader

from crm.activities.models import Attachment, TimelineEntry
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.customers.tests.factories import make_company, make_contact
from crm.sales.choices import DocumentKind
from crm.sales.documents import context as document_context
from crm.sales.documents.docx_file import BUILTIN_DIR, builtin_template_path, render_docx
from crm.sales.models import (
    Deal,
    DealLine,
    Document,
    DocumentTemplate,
    Pipeline,
    SellerDetails,
)
from crm.sales.services import documents as services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    """These tests read English messages: pin the language (the default is Russian)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


CLIENT_INN = "7707083893"
TOTAL = "125 111,10"
TOTAL_WORDS = "Сто двадцать пять тысяч сто одиннадцать рублей 10 копеек"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


# --- builders -------------------------------------------------------------------------------


def make_seller() -> SellerDetails:
    return SellerDetails.objects.create(
        pk=1,
        name="ООО «Вентпром»",
        inn="7701234567",
        kpp="770101001",
        ogrn="1027700000000",
        address="125009, г. Москва, ул. Тверская, д. 1",
        bank_name="ПАО Сбербанк",
        bik="044525225",
        account="40702810900000000001",
        correspondent_account="30101810400000000225",
        director="Петров П. П.",
        accountant="Сидорова А. А.",
    )


def make_client_company(owner):
    return make_company(
        owner,
        legal_name="Ромашка",
        legal_form="ООО",
        inn=CLIENT_INN,
        kpp="773601001",
        ogrn="1027700132195",
        addresses=[{"kind": "legal", "text": "117997, г. Москва, ул. Вавилова, д. 19"}],
        phones=["+7 495 500-55-50"],
    )


def add_line(deal: Deal, name: str, **values) -> DealLine:
    """A line with its total and VAT worked out by hand (prices include VAT)."""
    return DealLine.objects.create(deal=deal, name=name, **values)


def make_deal(owner, *, company=None, contact=None, with_lines: bool = True) -> Deal:
    """A wholesale deal; with lines at two VAT rates (one discounted) totalling 125 111,10."""
    pipeline = Pipeline.objects.get(name="Опт")
    now = timezone.now()
    deal = Deal.objects.create(
        title="Вентиляция склада",
        pipeline=pipeline,
        stage=pipeline.stages.order_by("position").first(),
        owner=owner,
        company=company,
        contact=contact,
        stage_entered_at=now,
        last_activity_at=now,
    )
    if with_lines:
        add_line(
            deal,
            "Монтаж вентиляции",
            quantity=Decimal(2),
            unit="service",
            price=Decimal("61000.00"),
            vat_rate="22",
            total=Decimal("122000.00"),
            vat_amount=Decimal("22000.00"),
            position=0,
        )
        # 3 × 1152,26 less 10% = 3111,102 → 3111,10; VAT 10/110 of it = 282,827… → 282,83.
        add_line(
            deal,
            "Фильтр карманный F7",
            quantity=Decimal(3),
            unit="pcs",
            price=Decimal("1152.26"),
            discount_percent=Decimal(10),
            vat_rate="10",
            total=Decimal("3111.10"),
            vat_amount=Decimal("282.83"),
            position=1,
        )
    return deal


def docx_upload(*paragraphs: str, name: str = "template.docx") -> SimpleUploadedFile:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


# --- readers --------------------------------------------------------------------------------


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return flat("\n".join(parts))


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return flat("\n".join(page.extract_text() for page in reader.pages))


def stored_bytes(attachment: Attachment) -> bytes:
    with attachment.file.open("rb") as handle:
        return handle.read()


# --- generating -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", DocumentKind.values)
def test_each_kind_prints_the_client_lines_totals_and_words_in_docx_and_pdf(org, kind):
    make_seller()
    contact = make_contact(
        org.manager, first_name="Иван", last_name="Иванов", middle_name="Иванович"
    )
    deal = make_deal(org.manager, company=make_client_company(org.manager), contact=contact)

    document = services.document_generate(actor=org.manager, deal=deal, kind=kind)

    year = timezone.localdate().year
    prefix = document_context.NUMBER_PREFIXES[kind]
    assert document.number == f"{prefix}-{year}-0001"
    assert document.created_by == org.manager
    assert document.template == DocumentTemplate.objects.get(kind=kind, builtin=True)
    for text in (docx_text(stored_bytes(document.docx)), pdf_text(stored_bytes(document.pdf))):
        for expected in (
            "ООО «Ромашка»",
            f"ИНН {CLIENT_INN}",
            "ООО «Вентпром»",
            "Монтаж вентиляции",
            "Фильтр карманный F7 (скидка 10%)",
            TOTAL,
            "В том числе НДС 22%: 22 000,00",
            "В том числе НДС 10%: 282,83",
            TOTAL_WORDS,
            document.number,
            "3 111,10",
            "1 152,26",
        ):
            assert expected in text, (expected, text)
        assert "{{" not in text and "{%" not in text


def test_the_invoice_has_bank_details_signatures_and_the_total_to_pay(org):
    make_seller()
    deal = make_deal(org.manager, company=make_client_company(org.manager))

    document = services.document_generate(actor=org.manager, deal=deal, kind="invoice")

    for text in (docx_text(stored_bytes(document.docx)), pdf_text(stored_bytes(document.pdf))):
        assert f"Счёт на оплату № {document.number} от" in text
        assert "044525225" in text and "40702810900000000001" in text
        assert "30101810400000000225" in text and "КПП 773601001" in text
        assert f"Всего к оплате: {TOTAL} руб. ({TOTAL_WORDS})" in text
        assert "Всего наименований 2" in text
        assert "Петров П. П." in text and "Сидорова А. А." in text
        assert "Руководитель" in text and "Бухгалтер" in text


def test_documents_are_stored_as_attachments_and_recorded_on_the_deal_timeline(org):
    deal = make_deal(org.manager, company=make_client_company(org.manager))

    document = services.document_generate(actor=org.manager, deal=deal, kind="proposal")

    assert document.docx.content_type == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert document.pdf.content_type == "application/pdf"
    assert document.docx.original_name == f"Коммерческое предложение {document.number}.docx"
    assert document.pdf.uploaded_by == org.manager
    entry = TimelineEntry.objects.get(subject_id=deal.pk, kind="file")
    assert entry.subject_type.model == "deal"
    assert entry.attachment == document.pdf
    assert entry.title == f"Коммерческое предложение № {document.number}"
    assert entry.data["document_id"] == document.pk
    assert entry.data["docx_attachment_id"] == document.docx.pk


def test_a_person_without_company_is_the_client_and_no_seller_details_print_blank(org):
    contact = make_contact(
        org.manager, first_name="Анна", last_name="Смирнова", phones=["+7 916 111-22-33"]
    )
    deal = make_deal(org.manager, contact=contact)

    document = services.document_generate(actor=org.manager, deal=deal, kind="contract")

    text = docx_text(stored_bytes(document.docx))
    assert "Смирнова Анна" in text and "именуемый(-ая) в дальнейшем «Покупатель»" in text
    assert pdf_text(stored_bytes(document.pdf)).count("Смирнова Анна") >= 2


def test_an_invoice_after_a_contract_names_it_as_the_basis(org):
    deal = make_deal(org.manager, company=make_client_company(org.manager))
    contract = services.document_generate(actor=org.manager, deal=deal, kind="contract")

    invoice = services.document_generate(actor=org.manager, deal=deal, kind="invoice")

    assert f"Основание: Договор № {contract.number}" in docx_text(stored_bytes(invoice.docx))
    assert f"Договор № {contract.number}" in pdf_text(stored_bytes(invoice.pdf))


def test_a_seller_without_vat_prints_no_vat(org):
    deal = make_deal(org.manager, with_lines=False, company=make_client_company(org.manager))
    add_line(
        deal,
        "Консультация",
        quantity=Decimal(1),
        unit="h",
        price=Decimal("1000.00"),
        vat_rate="none",
        total=Decimal("1000.00"),
        vat_amount=Decimal("0.00"),
    )

    document = services.document_generate(actor=org.manager, deal=deal, kind="invoice")

    for text in (docx_text(stored_bytes(document.docx)), pdf_text(stored_bytes(document.pdf))):
        assert "Без налога (НДС)" in text and "В том числе НДС" not in text
        assert "Одна тысяча рублей 00 копеек" in text


# --- numbering ------------------------------------------------------------------------------


def test_numbers_increase_per_kind_and_year_and_stay_unique(org):
    deal = make_deal(org.manager, company=make_client_company(org.manager))
    year = timezone.localdate().year
    Document.objects.create(deal=deal, kind="invoice", number=f"СЧ-{year - 1}-0041")

    numbers = [
        services.document_generate(actor=org.manager, deal=deal, kind=kind).number
        for kind in ("invoice", "invoice", "proposal", "invoice", "contract")
    ]

    assert numbers == [
        f"СЧ-{year}-0001",
        f"СЧ-{year}-0002",
        f"КП-{year}-0001",
        f"СЧ-{year}-0003",
        f"ДГ-{year}-0001",
    ]
    all_numbers = list(Document.objects.values_list("kind", "number"))
    assert len(all_numbers) == len(set(all_numbers))


def test_numbering_continues_past_four_digits(org):
    deal = make_deal(org.manager)
    year = timezone.localdate().year
    Document.objects.create(deal=deal, kind="invoice", number=f"СЧ-{year}-9999")
    Document.objects.create(deal=deal, kind="invoice", number=f"СЧ-{year}-10000")

    document = services.document_generate(actor=org.manager, deal=deal, kind="invoice")

    assert document.number == f"СЧ-{year}-10001"


# --- refusals -------------------------------------------------------------------------------


def test_a_deal_the_actor_may_not_see_is_not_found_and_nothing_is_written(org):
    deal = make_deal(org.manager)

    with pytest.raises(NotFound):
        services.document_generate(actor=org.outsider, deal=deal, kind="invoice")

    assert not Document.objects.exists() and not Attachment.objects.exists()


def test_a_read_only_user_may_not_generate(org):
    deal = make_deal(org.manager)

    with pytest.raises(PermissionDenied):
        services.document_generate(actor=org.viewer, deal=deal, kind="invoice")

    assert not Document.objects.exists()


def test_head_and_admin_may_generate_for_their_scope(org):
    deal = make_deal(org.manager)

    assert services.document_generate(actor=org.head, deal=deal, kind="invoice").pk
    assert services.document_generate(actor=org.admin, deal=deal, kind="invoice").pk


def test_an_invoice_needs_lines_and_a_kind_must_be_known(org):
    deal = make_deal(org.manager, with_lines=False)

    with pytest.raises(ValidationFailed) as no_lines:
        services.document_generate(actor=org.manager, deal=deal, kind="invoice")
    with pytest.raises(ValidationFailed) as bad_kind:
        services.document_generate(actor=org.manager, deal=deal, kind="receipt")

    assert "lines" in no_lines.value.field_errors
    assert "kind" in bad_kind.value.field_errors
    assert not Document.objects.exists()


def test_a_template_of_another_kind_or_archived_is_refused(org):
    deal = make_deal(org.manager)
    proposal_template = DocumentTemplate.objects.get(kind="proposal", builtin=True)
    archived = DocumentTemplate.objects.create(kind="invoice", name="Старый", archived=True)

    for template in (proposal_template, archived):
        with pytest.raises(ValidationFailed) as error:
            services.document_generate(
                actor=org.manager, deal=deal, kind="invoice", template=template
            )
        assert "template" in error.value.field_errors
    assert not Document.objects.exists()


def test_a_template_that_fails_on_real_data_leaves_nothing_behind(org, settings):
    deal = make_deal(org.manager)
    broken = DocumentTemplate(kind="invoice", name="Сломанный")
    broken.file.save("broken.docx", ContentFile(docx_upload("{{ nothing.here }}").read()))

    with pytest.raises(ValidationFailed) as error:
        services.document_generate(actor=org.manager, deal=deal, kind="invoice", template=broken)

    assert "nothing" in error.value.field_errors["template"][0]
    assert not Document.objects.exists()
    assert not Attachment.objects.exists()
    assert not TimelineEntry.objects.filter(kind="file").exists()
    attachments_dir = Path(settings.MEDIA_ROOT) / "attachments"
    assert not attachments_dir.exists() or not any(attachments_dir.rglob("*.*"))


# --- templates ------------------------------------------------------------------------------


def test_an_uploaded_template_becomes_the_default_and_fills_the_docx(org):
    upload = docx_upload(
        "Наш счёт {{ document.number }} для {{ client.name }} (ИНН {{ client.inn }})",
        "{%p for line in lines %}",
        "{{ line.number }}. {{ line.name }} — {{ line.total }}",
        "{%p endfor %}",
        "Итого: {{ totals.total }}, {{ totals.in_words }}",
    )

    template = services.document_template_upload(
        actor=org.admin, kind="invoice", name="Наш счёт", upload=upload, make_default=True
    )
    deal = make_deal(org.manager, company=make_client_company(org.manager))
    document = services.document_generate(actor=org.manager, deal=deal, kind="invoice")

    template.refresh_from_db()
    assert template.is_default and template.uploaded_by == org.admin
    assert not DocumentTemplate.objects.get(kind="invoice", builtin=True).is_default
    assert document.template == template
    text = docx_text(stored_bytes(document.docx))
    assert f"Наш счёт {document.number} для ООО «Ромашка» (ИНН {CLIENT_INN})" in text
    assert "2. Фильтр карманный F7 — 3 111,10" in text
    assert f"Итого: {TOTAL}, {TOTAL_WORDS}" in text
    assert f"Всего к оплате: {TOTAL}" in pdf_text(stored_bytes(document.pdf))


def test_a_broken_jinja_tag_is_refused_naming_the_file_and_the_line(org):
    upload = docx_upload("Шапка", "Итого: {{ totals.total }", "Подвал")

    with pytest.raises(ValidationFailed) as error:
        services.document_template_upload(
            actor=org.admin, kind="invoice", name="Кривой", upload=upload
        )

    assert error.value.status_code == 422
    message = error.value.field_errors["file"][0]
    assert re.search(r"Line \d+", message), message
    assert "Итого" in message
    assert DocumentTemplate.objects.filter(builtin=False).count() == 0


def test_a_misspelt_placeholder_and_python_internals_are_refused(org):
    for text, expected in (
        ("{{ clinet.name }}", "clinet"),
        ("{{ ''.__class__.__mro__ }}", "__class__"),
    ):
        with pytest.raises(ValidationFailed) as error:
            services.document_template_upload(
                actor=org.admin, kind="proposal", name="Т", upload=docx_upload(text)
            )
        assert expected in error.value.field_errors["file"][0]


def test_a_png_renamed_docx_or_a_zip_without_a_document_is_rejected_as_400(org):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("readme.txt", "not a document")
    for upload in (
        SimpleUploadedFile("invoice.docx", PNG),
        SimpleUploadedFile("invoice.docx", archive.getvalue()),
        docx_upload("Счёт", name="invoice.pdf"),
    ):
        with pytest.raises(services.TemplateFileRejected) as error:
            services.document_template_upload(
                actor=org.admin, kind="invoice", name="Картинка", upload=upload
            )
        assert error.value.status_code == 400 and "file" in error.value.field_errors
    assert not DocumentTemplate.objects.filter(builtin=False).exists()


def test_a_template_over_the_size_limit_is_refused(org):
    upload = SimpleUploadedFile("big.docx", b"0" * (services.TEMPLATE_MAX_BYTES + 1))

    with pytest.raises(services.TemplateTooLarge) as error:
        services.document_template_upload(actor=org.admin, kind="invoice", name="Б", upload=upload)

    assert error.value.status_code == 413


def test_only_an_administrator_manages_templates(org):
    builtin = DocumentTemplate.objects.get(kind="invoice", builtin=True)
    for user in (org.head, org.manager, org.viewer):
        with pytest.raises(PermissionDenied):
            services.document_template_upload(
                actor=user, kind="invoice", name="Т", upload=docx_upload("Счёт")
            )
        with pytest.raises(PermissionDenied):
            services.document_template_make_default(actor=user, template=builtin)
        with pytest.raises(PermissionDenied):
            services.document_template_list(actor=user)
    assert not DocumentTemplate.objects.filter(builtin=False).exists()


def test_archiving_the_default_brings_back_the_shipped_one_which_stays(org):
    template = services.document_template_upload(
        actor=org.admin,
        kind="contract",
        name="Договор услуг",
        upload=docx_upload("Договор"),
        make_default=True,
    )
    builtin = DocumentTemplate.objects.get(kind="contract", builtin=True)

    services.document_template_archive(actor=org.admin, template=template)

    template.refresh_from_db()
    builtin.refresh_from_db()
    assert template.archived and not template.is_default
    assert builtin.is_default
    with pytest.raises(ValidationFailed):
        services.document_template_archive(actor=org.admin, template=builtin)
    with pytest.raises(ValidationFailed):
        services.document_template_make_default(actor=org.admin, template=template)
    assert DocumentTemplate.objects.filter(kind="contract", is_default=True).count() == 1


def test_make_default_leaves_one_default_per_kind(org):
    first = services.document_template_upload(
        actor=org.admin, kind="proposal", name="А", upload=docx_upload("КП")
    )
    services.document_template_make_default(actor=org.admin, template=first)

    defaults = DocumentTemplate.objects.filter(kind="proposal", is_default=True)
    assert list(defaults) == [first]
    assert DocumentTemplate.objects.filter(kind="invoice", is_default=True).count() == 1


# --- shipped templates and placeholders -----------------------------------------------------


def test_the_shipped_templates_match_their_build_script():
    spec = importlib.util.spec_from_file_location("build_templates", BUILTIN_DIR / "build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)

    assert build.main(["--check"]) == 0


@pytest.mark.parametrize("kind", DocumentKind.values)
def test_the_shipped_templates_render_the_sample_without_leftover_tags(kind):
    data = render_docx(builtin_template_path(kind), document_context.sample_context(kind))

    text = docx_text(data)
    assert "{{" not in text and "{%" not in text and "}}" not in text
    assert "ООО «Ромашка»" in text and "Шестнадцать тысяч шестьсот рублей 00 копеек" in text


def _leaves(value, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        return {leaf for key, item in value.items() for leaf in _leaves(item, f"{prefix}{key}.")}
    return {prefix.rstrip(".")}


def test_every_placeholder_is_documented_and_every_documented_one_exists():
    context = document_context.sample_context("invoice")
    actual = _leaves({key: value for key, value in context.items() if key not in ("lines", "vat")})
    actual |= {f"line.{key}" for key in context["lines"][0]} | {"lines", "vat"}
    actual |= {f"row.{key}" for key in context["vat"][0]}
    documented = {path for path, _description in document_context.PLACEHOLDERS}

    assert documented == actual
    rows = document_context.placeholder_rows("invoice")
    assert {row["path"] for row in rows} == documented
    assert {"path": "client.inn", "tag": "{{ client.inn }}"}.items() <= next(
        row for row in rows if row["path"] == "client.inn"
    ).items()


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_generation_never_repeats_a_number(org):
    """Two writers at once on PostgreSQL (SQLite runs one write transaction at a time)."""
    import importlib

    from django.apps import apps
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter")
    # A transactional test starts from tables emptied by the one before: put back the
    # pipelines and templates that migration sales/0002 creates.
    importlib.import_module("crm.sales.migrations.0002_defaults").create(apps, None)
    deal = make_deal(org.manager)
    barrier = threading.Barrier(2)
    numbers: list[str] = []
    failures: list[BaseException] = []

    def generate() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                numbers.append(
                    services.document_generate(actor=org.manager, deal=deal, kind="invoice").number
                )
        except BaseException as error:  # reported by the assertion below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=generate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    year = timezone.localdate().year
    assert not failures
    assert sorted(numbers) == [f"СЧ-{year}-{n:04d}" for n in range(1, 7)]
