"""The data a document shows, as plain strings, built once for the DOCX and the PDF.

``deal_context`` reads a deal, its client, its lines and the seller's requisites;
``sample_context`` gives the same shape with made-up values (to check an uploaded template
and to show the administrator what each placeholder prints). ``PLACEHOLDERS`` documents
every key; a test keeps it and the context in step.

Documents are Russian whatever the user's interface language: the unit names, month names
and VAT wording below are what a Russian invoice or contract prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.customers.choices import AddressKind, ContactPointKind, LegalForm
from crm.customers.models import Company, Contact
from crm.sales.choices import DocumentKind, VatRate
from crm.sales.documents.amounts import amount_in_words, format_money, format_quantity, to_cents
from crm.sales.models import Deal, Document, SellerDetails

TITLES: dict[str, str] = {
    DocumentKind.PROPOSAL: "Коммерческое предложение",
    DocumentKind.INVOICE: "Счёт на оплату",
    DocumentKind.CONTRACT: "Договор поставки",
}
NUMBER_PREFIXES: dict[str, str] = {
    DocumentKind.PROPOSAL: "КП",
    DocumentKind.INVOICE: "СЧ",
    DocumentKind.CONTRACT: "ДГ",
}
UNIT_NAMES = {
    "pcs": "шт.",
    "h": "ч",
    "day": "дн.",
    "month": "мес.",
    "kg": "кг",
    "t": "т",
    "m": "м",
    "m2": "м²",
    "m3": "м³",
    "l": "л",
    "service": "усл.",
    "set": "компл.",
}
CURRENCY_SHORT = {"RUB": "руб."}
MONTHS_GENITIVE = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]
SELLER_FIELDS = (
    "name",
    "inn",
    "kpp",
    "ogrn",
    "address",
    "phone",
    "email",
    "bank_name",
    "bik",
    "account",
    "correspondent_account",
    "director",
    "accountant",
)
NO_VAT_TEXT = "Без налога (НДС)"


@dataclass(frozen=True)
class LineData:
    """One line item as the document needs it (prices include VAT)."""

    name: str
    quantity: Decimal
    unit: str
    price: Decimal
    discount_percent: Decimal
    vat_rate: str
    total: Decimal
    vat_amount: Decimal


def date_in_words(day: dt.date) -> str:
    """«5 марта 2026 г.» (a no-break space keeps «г.» with the year)."""
    return f"{day.day} {MONTHS_GENITIVE[day.month - 1]} {day.year}\u00a0г."


def vat_label(rate: str) -> str:
    return "Без НДС" if rate == VatRate.NONE else f"{rate}%"


def _join(*parts: str) -> str:
    return ", ".join(part for part in parts if part)


def _requisites(party: dict[str, Any]) -> str:
    """One line naming a party for «Поставщик:» / «Покупатель:»."""
    return _join(
        party["name"],
        f"ИНН {party['inn']}" if party["inn"] else "",
        f"КПП {party['kpp']}" if party["kpp"] else "",
        party["address"],
        f"тел. {party['phone']}" if party["phone"] else "",
    )


def build_context(
    *,
    kind: str,
    number: str,
    date: dt.date,
    seller: dict[str, Any],
    client: dict[str, Any],
    contact: dict[str, str],
    deal: dict[str, str],
    manager: dict[str, str],
    lines: Iterable[LineData],
    currency: str,
    basis: str = "",
) -> dict[str, Any]:
    """The whole context from plain data: formats money, sums totals and VAT per rate."""
    line_list = list(lines)
    total = sum((to_cents(line.total) for line in line_list), Decimal(0))
    vat_by_rate: dict[str, Decimal] = {}
    for line in line_list:
        if line.vat_rate != VatRate.NONE:
            vat_by_rate[line.vat_rate] = vat_by_rate.get(line.vat_rate, Decimal(0)) + to_cents(
                line.vat_amount
            )
    vat_total = sum(vat_by_rate.values(), Decimal(0))
    vat_rows = [
        {"rate": vat_label(rate), "amount": format_money(amount)}
        for rate, amount in sorted(vat_by_rate.items(), key=lambda item: -Decimal(item[0]))
    ]
    vat_text = (
        "; ".join(f"в том числе НДС {row['rate']}: {row['amount']}" for row in vat_rows)
        if vat_rows
        else NO_VAT_TEXT
    )
    seller_context = {**seller, "requisites": _requisites(seller)}
    client_context = {**client, "requisites": _requisites(client)}
    currency_name = CURRENCY_SHORT.get(currency, currency)
    return {
        "document": {
            "kind": kind,
            "title": TITLES.get(kind, ""),
            "number": number,
            "date": date_in_words(date),
            "date_short": date.strftime("%d.%m.%Y"),
            "basis": basis,
        },
        "seller": seller_context,
        "client": client_context,
        "contact": contact,
        "deal": {**deal, "currency": currency, "currency_name": currency_name},
        "manager": manager,
        "lines": [
            {
                "number": str(index),
                "name": line.name,
                "quantity": format_quantity(line.quantity),
                "unit": UNIT_NAMES.get(line.unit, line.unit),
                "price": format_money(line.price),
                "discount": format_quantity(line.discount_percent) + "%"
                if line.discount_percent
                else "",
                "vat_rate": vat_label(line.vat_rate),
                "vat_amount": format_money(line.vat_amount)
                if line.vat_rate != VatRate.NONE
                else "—",
                "total": format_money(line.total),
            }
            for index, line in enumerate(line_list, start=1)
        ],
        "vat": vat_rows,
        "totals": {
            "count": str(len(line_list)),
            "total": format_money(total),
            "vat": format_money(vat_total) if vat_rows else "—",
            "vat_text": vat_text,
            "without_vat": format_money(total - vat_total),
            "in_words": amount_in_words(total, currency),
        },
    }


def _empty_seller() -> dict[str, Any]:
    return {**dict.fromkeys(SELLER_FIELDS, ""), "vat_payer": True}


def seller_data() -> dict[str, Any]:
    """The seller's requisites (``SellerDetails`` pk=1); empty strings when not filled in."""
    details = SellerDetails.objects.filter(pk=1).first()
    if details is None:
        return _empty_seller()
    return {
        **{field: getattr(details, field) or "" for field in SELLER_FIELDS},
        "vat_payer": details.vat_payer,
    }


def _points(record: Contact | Company) -> tuple[str, str]:
    """The first phone and e-mail, primary ones first."""
    phone = email = ""
    for point in sorted(record.points.all(), key=lambda p: (not p.is_primary, p.position, p.pk)):
        if point.kind == ContactPointKind.PHONE and not phone:
            phone = point.display
        elif point.kind == ContactPointKind.EMAIL and not email:
            email = point.value
    return phone, email


def _address(record: Contact | Company) -> str:
    """The legal address if there is one, else the first."""
    addresses = list(record.addresses.all())
    for address in addresses:
        if address.kind == AddressKind.LEGAL:
            return address.text
    return addresses[0].text if addresses else ""


def company_legal_name(company: Company) -> str:
    """The name for documents: «ООО «Ромашка»», the legal form spelled as registered."""
    if company.legal_form and company.legal_form not in {LegalForm.OTHER, LegalForm.GOV}:
        return f"{company.legal_form} «{company.legal_name}»"
    return company.legal_name


def _empty_party() -> dict[str, Any]:
    return {
        "name": "",
        "is_company": False,
        "inn": "",
        "kpp": "",
        "ogrn": "",
        "address": "",
        "phone": "",
        "email": "",
        "representative": "",
    }


def _contact_data(contact: Contact | None, company: Company | None) -> dict[str, str]:
    if contact is None:
        return {"name": "", "position": "", "phone": "", "email": ""}
    phone, email = _points(contact)
    position = ""
    if company is not None:
        employment = contact.employments.filter(company=company).first()
        position = employment.position if employment else ""
    return {"name": contact.full_name, "position": position, "phone": phone, "email": email}


def _client_data(deal: Deal) -> dict[str, Any]:
    """Who pays: the deal's company, or the person when there is no company."""
    client = _empty_party()
    if deal.company is not None:
        company = deal.company
        phone, email = _points(company)
        client.update(
            name=company_legal_name(company),
            is_company=True,
            inn=company.inn,
            kpp=company.kpp,
            ogrn=company.ogrn,
            address=_address(company),
            phone=phone,
            email=email,
            representative=deal.contact.full_name if deal.contact else "",
        )
    elif deal.contact is not None:
        phone, email = _points(deal.contact)
        client.update(
            name=deal.contact.full_name, address=_address(deal.contact), phone=phone, email=email
        )
    return client


def _contract_basis(deal: Deal) -> str:
    """«Договор № ДГ-2026-0001 от 3 марта 2026 г.»: the latest generated contract, else the
    contract number typed on the deal, else nothing."""
    contract = (
        Document.objects.filter(deal=deal, kind=DocumentKind.CONTRACT)
        .order_by("-created_at", "-id")
        .first()
    )
    if contract is not None:
        day = timezone.localtime(contract.created_at).date()
        return f"Договор № {contract.number} от {date_in_words(day)}"
    if deal.contract_number:
        return f"Договор № {deal.contract_number}"
    return ""


def deal_lines(deal: Deal) -> list[LineData]:
    return [
        LineData(
            name=line.name,
            quantity=line.quantity,
            unit=line.unit,
            price=line.price,
            discount_percent=line.discount_percent,
            vat_rate=line.vat_rate,
            total=line.total,
            vat_amount=line.vat_amount,
        )
        for line in deal.lines.order_by("position", "id")
    ]


def deal_context(*, deal: Deal, kind: str, number: str, date: dt.date) -> dict[str, Any]:
    """Everything a document of ``kind`` shows for ``deal``, numbered ``number`` on ``date``."""
    owner = deal.owner
    return build_context(
        kind=kind,
        number=number,
        date=date,
        seller=seller_data(),
        client=_client_data(deal),
        contact=_contact_data(deal.contact, deal.company),
        deal={
            "title": deal.title,
            "id": str(deal.pk),
            "expected_close": deal.expected_close.strftime("%d.%m.%Y")
            if deal.expected_close
            else "",
            "invoice_number": deal.invoice_number,
            "contract_number": deal.contract_number,
        },
        manager={
            "name": owner.get_full_name() or owner.username,
            "position": owner.position,
            "phone": owner.phone,
            "email": owner.email,
        },
        lines=deal_lines(deal),
        currency=deal.currency,
        basis=_contract_basis(deal) if kind != DocumentKind.CONTRACT else "",
    )


SAMPLE_LINES = [
    LineData(
        name="Монтаж вентиляции",
        quantity=Decimal(1),
        unit="service",
        price=Decimal("12200.00"),
        discount_percent=Decimal(0),
        vat_rate=VatRate.TWENTY_TWO,
        total=Decimal("12200.00"),
        vat_amount=Decimal("2200.00"),
    ),
    LineData(
        name="Фильтр карманный F7",
        quantity=Decimal(4),
        unit="pcs",
        price=Decimal("1100.00"),
        discount_percent=Decimal(0),
        vat_rate=VatRate.TEN,
        total=Decimal("4400.00"),
        vat_amount=Decimal("400.00"),
    ),
]


def sample_context(kind: str) -> dict[str, Any]:
    """The context with made-up values, for checking templates and for the placeholder list."""
    return build_context(
        kind=kind,
        number=f"{NUMBER_PREFIXES.get(kind, 'Д')}-2026-0001",
        date=dt.date(2026, 3, 5),
        seller={
            "name": "ООО «Вентпром»",
            "inn": "7701234567",
            "kpp": "770101001",
            "ogrn": "1027700000000",
            "address": "125009, г. Москва, ул. Тверская, д. 1",
            "phone": "+7 495 123-45-67",
            "email": "info@ventprom.example",
            "bank_name": "ПАО Сбербанк, г. Москва",
            "bik": "044525225",
            "account": "40702810900000000001",
            "correspondent_account": "30101810400000000225",
            "director": "Петров П. П.",
            "accountant": "Сидорова А. А.",
            "vat_payer": True,
        },
        client={
            **_empty_party(),
            "name": "ООО «Ромашка»",
            "is_company": True,
            "inn": "7707083893",
            "kpp": "773601001",
            "ogrn": "1027700132195",
            "address": "117997, г. Москва, ул. Вавилова, д. 19",
            "phone": "+7 495 500-55-50",
            "email": "office@romashka.example",
            "representative": "Иванов Иван Иванович",
        },
        contact={
            "name": "Иванов Иван Иванович",
            "position": "Генеральный директор",
            "phone": "+7 916 000-00-00",
            "email": "ivanov@romashka.example",
        },
        deal={
            "title": "Вентиляция офиса",
            "id": "42",
            "expected_close": "31.03.2026",
            "invoice_number": "",
            "contract_number": "",
        },
        manager={
            "name": "Смирнова Мария",
            "position": "Менеджер по продажам",
            "phone": "+7 495 123-45-68",
            "email": "smirnova@ventprom.example",
        },
        lines=SAMPLE_LINES,
        currency="RUB",
        basis="Договор № ДГ-2026-0001 от 3 марта 2026 г." if kind == DocumentKind.INVOICE else "",
    )


# Every placeholder a template may use. Items of ``lines`` and ``vat`` are used inside
# ``{%tr for line in lines %}`` … ``{%tr endfor %}`` (table rows) or ``{%p for … %}``.
PLACEHOLDERS: list[tuple[str, Any]] = [
    ("document.title", _("Title of the document kind (e.g. «Счёт на оплату»)")),
    ("document.kind", _("Kind: proposal, invoice or contract")),
    ("document.number", _("Number, unique per kind and year (e.g. СЧ-2026-0001)")),
    ("document.date", _("Date in words (e.g. «5 марта 2026 г.»)")),
    ("document.date_short", _("Date as dd.mm.yyyy")),
    ("document.basis", _("Basis of an invoice: the deal's latest contract, if any")),
    ("seller.name", _("Seller: name")),
    ("seller.inn", _("Seller: ИНН")),
    ("seller.kpp", _("Seller: КПП")),
    ("seller.ogrn", _("Seller: ОГРН")),
    ("seller.address", _("Seller: address")),
    ("seller.phone", _("Seller: phone")),
    ("seller.email", _("Seller: e-mail")),
    ("seller.bank_name", _("Seller: bank")),
    ("seller.bik", _("Seller: БИК")),
    ("seller.account", _("Seller: settlement account")),
    ("seller.correspondent_account", _("Seller: correspondent account")),
    ("seller.director", _("Seller: director")),
    ("seller.accountant", _("Seller: chief accountant")),
    ("seller.vat_payer", _("Seller pays VAT (true or false, for conditions)")),
    ("seller.requisites", _("Seller in one line: name, ИНН, КПП, address, phone")),
    ("client.name", _("Client: company name with legal form, or the person's full name")),
    ("client.is_company", _("The client is a company (true or false, for conditions)")),
    ("client.inn", _("Client: ИНН")),
    ("client.kpp", _("Client: КПП")),
    ("client.ogrn", _("Client: ОГРН")),
    ("client.address", _("Client: legal address (or the first address)")),
    ("client.phone", _("Client: phone")),
    ("client.email", _("Client: e-mail")),
    ("client.representative", _("Client: the deal's contact person, when the client is a company")),
    ("client.requisites", _("Client in one line: name, ИНН, КПП, address, phone")),
    ("contact.name", _("Contact person: full name")),
    ("contact.position", _("Contact person: position at the client company")),
    ("contact.phone", _("Contact person: phone")),
    ("contact.email", _("Contact person: e-mail")),
    ("deal.title", _("Deal: title")),
    ("deal.id", _("Deal: number in the CRM")),
    ("deal.expected_close", _("Deal: expected close date")),
    ("deal.invoice_number", _("Deal: invoice number typed on the deal")),
    ("deal.contract_number", _("Deal: contract number typed on the deal")),
    ("deal.currency", _("Deal: currency code (RUB)")),
    ("deal.currency_name", _("Deal: currency as printed (руб.)")),
    ("manager.name", _("Responsible manager: name")),
    ("manager.position", _("Responsible manager: position")),
    ("manager.phone", _("Responsible manager: phone")),
    ("manager.email", _("Responsible manager: e-mail")),
    ("lines", _("Line items (a list; loop over it)")),
    ("line.number", _("Line: number, from 1")),
    ("line.name", _("Line: product or service")),
    ("line.quantity", _("Line: quantity")),
    ("line.unit", _("Line: unit (шт., ч, усл.)")),
    ("line.price", _("Line: price including VAT")),
    ("line.discount", _("Line: discount (e.g. 10%), empty when none")),
    ("line.vat_rate", _("Line: VAT rate (22%, 10%, Без НДС)")),
    ("line.vat_amount", _("Line: VAT included in the line total")),
    ("line.total", _("Line: total including VAT, after the discount")),
    ("vat", _("VAT per rate (a list; loop over it)")),
    ("row.rate", _("VAT row: rate")),
    ("row.amount", _("VAT row: amount")),
    ("totals.count", _("Number of lines")),
    ("totals.total", _("Total including VAT")),
    ("totals.vat", _("VAT in the total")),
    (
        "totals.vat_text",
        _("VAT in words for one line: «в том числе НДС 22%: …» or «Без налога (НДС)»"),
    ),
    ("totals.without_vat", _("Total without VAT")),
    ("totals.in_words", _("Total in words («Сто рублей 00 копеек»)")),
]


LOOP_TAGS = {
    "lines": "{%tr for line in lines %} … {%tr endfor %}",
    "vat": "{%p for row in vat %} … {%p endfor %}",
}


def placeholder_rows(kind: str) -> list[dict[str, str]]:
    """The placeholder list with the value each prints in the sample ``kind`` document."""
    context = sample_context(kind)
    items = {"line": context["lines"][0], "row": context["vat"][0]}
    rows = []
    for path, description in PLACEHOLDERS:
        head, _dot, rest = path.partition(".")
        value: Any = items[head] if head in items else context[head]
        if rest:
            value = value[rest]
        tag = LOOP_TAGS.get(path, f"{{{{ {path} }}}}")
        if isinstance(value, list):
            value = f"[{len(value)}]"
        rows.append(
            {"path": path, "tag": tag, "description": str(description), "sample": str(value)}
        )
    return rows
