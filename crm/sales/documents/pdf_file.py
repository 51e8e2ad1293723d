"""Drawing the PDF of a document with fpdf2 from the same context as the DOCX.

The PDF is not a conversion of the DOCX (that would need LibreOffice on the server): it is
drawn here in the shipped layout of each kind, so a template the administrator uploaded
changes the DOCX only. The bundled DejaVu Sans fonts (``fonts/``, with their licence) carry
Cyrillic, so nothing depends on the fonts of the machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout, XPos, YPos

from crm.sales.choices import DocumentKind

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"
LINE_COLUMNS: list[tuple[str, str, float, str]] = [
    ("№", "number", 6, "CENTER"),
    ("Наименование", "name", 62, "LEFT"),
    ("Кол-во", "quantity", 14, "RIGHT"),
    ("Ед.", "unit", 11, "LEFT"),
    ("Цена", "price", 20, "RIGHT"),
    ("НДС", "vat_rate", 12, "CENTER"),
    ("Сумма", "total", 22, "RIGHT"),
]


class _Page(FPDF):
    """A4 with the document margins and the bundled fonts."""

    def __init__(self, title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(left=20, top=15, right=15)
        self.set_auto_page_break(auto=True, margin=15)
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_creator("CRM")
        self.add_page()
        self.set_font(FAMILY, size=9)

    def text_block(
        self,
        text: str,
        *,
        size: float = 9,
        bold: bool = False,
        align: str = "L",
        space_before: float = 0,
        space_after: float = 0.5,
    ) -> None:
        if space_before:
            self.ln(space_before)
        self.set_font(FAMILY, "B" if bold else "", size)
        self.multi_cell(0, size * 0.5, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if space_after:
            self.ln(space_after)

    def rule(self, width: float = 0.5) -> None:
        self.set_line_width(width)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_line_width(0.2)
        self.ln(1)

    def lines_table(self, context: dict[str, Any]) -> None:
        self.set_font(FAMILY, size=8)
        with self.table(
            align="LEFT",
            col_widths=[width for _h, _k, width, _a in LINE_COLUMNS],
            text_align=[align for _h, _k, _w, align in LINE_COLUMNS],
            headings_style=FontFace(emphasis="BOLD"),
            line_height=4,
            padding=1,
        ) as table:
            header = table.row()
            for title, _key, _width, _align in LINE_COLUMNS:
                header.cell(title, align="CENTER")
            for line in context["lines"]:
                row = table.row()
                for _title, key, _width, _align in LINE_COLUMNS:
                    value = line[key]
                    if key == "name" and line["discount"]:
                        value = f"{value} (скидка {line['discount']})"
                    row.cell(value)

    def totals(self, context: dict[str, Any], *, with_currency: bool) -> None:
        currency = f" {context['deal']['currency_name']}" if with_currency else ""
        self.text_block(
            f"Итого: {context['totals']['total']}{currency}", bold=True, align="R", space_before=2
        )
        for row in context["vat"]:
            self.text_block(f"В том числе НДС {row['rate']}: {row['amount']}", bold=True, align="R")
        if not context["vat"]:
            self.text_block("Без налога (НДС)", bold=True, align="R")

    def signatures(self, signers: Sequence[tuple[str, str]], *, space_before: float = 6) -> None:
        self.ln(space_before)
        for role, name in signers:
            self.set_font(FAMILY, "B", 9)
            self.cell(35, 8, role)
            self.set_font(FAMILY, "", 9)
            self.cell(50, 8, "_______________________")
            self.cell(0, 8, f"/ {name} /", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _invoice(pdf: _Page, context: dict[str, Any]) -> None:
    seller, document = context["seller"], context["document"]
    pdf.text_block(
        "Внимание! Оплата данного счёта означает согласие с условиями поставки товара. "
        "Товар отпускается по факту прихода денег на р/с Поставщика.",
        size=7,
        align="C",
        space_after=2,
    )
    pdf.set_font(FAMILY, size=8)
    with pdf.table(
        align="LEFT",
        col_widths=(45, 45, 20, 65),
        first_row_as_headings=False,
        line_height=4,
        padding=1,
        text_align="LEFT",
    ) as table:
        row = table.row()
        row.cell(f"{seller['bank_name']}\nБанк получателя", colspan=2, rowspan=2)
        row.cell("БИК")
        row.cell(seller["bik"])
        row = table.row()
        row.cell("Сч. №")
        row.cell(seller["correspondent_account"])
        row = table.row()
        row.cell(f"ИНН {seller['inn']}")
        row.cell(f"КПП {seller['kpp']}")
        row.cell("Сч. №", rowspan=2)
        row.cell(seller["account"], rowspan=2)
        row = table.row()
        row.cell(f"{seller['name']}\nПолучатель", colspan=2)
    pdf.ln(4)
    pdf.text_block(
        f"Счёт на оплату № {document['number']} от {document['date']}", size=13, bold=True
    )
    pdf.rule()
    parties = [
        ("Поставщик (Исполнитель):", seller["requisites"]),
        ("Покупатель (Заказчик):", context["client"]["requisites"]),
    ]
    if document["basis"]:
        parties.append(("Основание:", document["basis"]))
    pdf.set_font(FAMILY, size=9)
    with pdf.table(
        align="LEFT",
        col_widths=(45, 130),
        first_row_as_headings=False,
        borders_layout=TableBordersLayout.NONE,
        line_height=4.5,
        padding=(1, 1, 1, 0),
        text_align="LEFT",
    ) as table:
        for label, value in parties:
            row = table.row()
            row.cell(label)
            row.cell(value, style=FontFace(emphasis="BOLD"))
    pdf.ln(2)
    pdf.lines_table(context)
    pdf.totals(context, with_currency=False)
    totals, currency = context["totals"], context["deal"]["currency_name"]
    pdf.text_block(
        f"Всего наименований {totals['count']}, на сумму {totals['total']} {currency}",
        space_before=2,
    )
    pdf.text_block(
        f"Всего к оплате: {totals['total']} {currency} ({totals['in_words']})", bold=True
    )
    pdf.text_block(
        "Оплатить не позднее 5 банковских дней с даты счёта. В назначении платежа укажите "
        "номер счёта.",
        size=7,
        space_before=2,
    )
    pdf.rule()
    pdf.signatures([("Руководитель", seller["director"]), ("Бухгалтер", seller["accountant"])])
    pdf.text_block("М. П.", space_before=2)


def _proposal(pdf: _Page, context: dict[str, Any]) -> None:
    seller, client, document = context["seller"], context["client"], context["document"]
    manager = context["manager"]
    pdf.text_block(seller["name"], size=12, bold=True)
    pdf.rule()
    contacts = ", ".join(
        part
        for part in (
            seller["address"],
            f"тел. {seller['phone']}" if seller["phone"] else "",
            seller["email"],
        )
        if part
    )
    pdf.text_block(contacts, size=7, space_after=4)
    inn = f", ИНН {client['inn']}" if client["inn"] else ""
    pdf.text_block(f"Кому: {client['name']}{inn}", align="R")
    if client["representative"]:
        pdf.text_block(client["representative"], align="R")
    pdf.text_block(
        f"Коммерческое предложение № {document['number']} от {document['date']}",
        size=13,
        bold=True,
        align="C",
        space_before=6,
        space_after=4,
    )
    if context["contact"]["name"]:
        pdf.text_block(f"Уважаемый(-ая) {context['contact']['name']}!", bold=True, align="C")
    pdf.text_block(
        "Благодарим вас за интерес к нашей компании. По вашему запросу "
        f"«{context['deal']['title']}» предлагаем:",
        space_after=2,
    )
    pdf.lines_table(context)
    pdf.totals(context, with_currency=True)
    pdf.text_block(f"Сумма прописью: {context['totals']['in_words']}", space_before=2)
    pdf.text_block(
        "Предложение действительно в течение 14 календарных дней. Цены указаны с учётом НДС "
        "(если он применяется) и скидок.",
        size=8,
        space_before=2,
    )
    if context["deal"]["expected_close"]:
        pdf.text_block(
            f"Ориентировочный срок исполнения: до {context['deal']['expected_close']}.", size=8
        )
    manager_line = ", ".join(
        part
        for part in (
            manager["name"],
            manager["position"],
            f"тел. {manager['phone']}" if manager["phone"] else "",
            manager["email"],
        )
        if part
    )
    pdf.text_block(f"Ваш менеджер: {manager_line}", space_before=4)
    pdf.signatures([("Руководитель", seller["director"])])


CONTRACT_TERMS: list[tuple[str, list[str]]] = [
    (
        "1. ПРЕДМЕТ ДОГОВОРА",
        [
            "1.1. Поставщик обязуется передать в собственность Покупателя товары (выполнить "
            "работы, оказать услуги), указанные в Спецификации (Приложение № 1), являющейся "
            "неотъемлемой частью настоящего договора, а Покупатель обязуется принять и оплатить их.",
            "1.2. Наименование, количество, цена и стоимость указываются в Спецификации.",
        ],
    ),
    (
        "2. ЦЕНА И ПОРЯДОК РАСЧЁТОВ",
        [
            "2.1. Общая стоимость по договору составляет {total} {currency} ({in_words}), "
            "{vat_text}.",
            "2.2. Покупатель оплачивает 100% стоимости в течение 5 (пяти) банковских дней с даты "
            "выставления счёта Поставщиком.",
            "2.3. Датой оплаты считается дата зачисления денежных средств на расчётный счёт "
            "Поставщика.",
        ],
    ),
    (
        "3. СРОКИ И ПОРЯДОК ПОСТАВКИ",
        [
            "3.1. Поставка осуществляется в течение 10 (десяти) рабочих дней с даты оплаты"
            "{deadline}.",
            "3.2. Право собственности и риск случайной гибели переходят к Покупателю с момента "
            "подписания универсального передаточного документа (товарной накладной).",
            "3.3. Приёмка по количеству и качеству производится при получении. Претензии "
            "принимаются в письменной форме в течение 5 (пяти) рабочих дней.",
        ],
    ),
    (
        "4. ОТВЕТСТВЕННОСТЬ СТОРОН",
        [
            "4.1. За нарушение сроков оплаты или поставки виновная сторона уплачивает неустойку "
            "в размере 0,1% от неоплаченной (непоставленной) суммы за каждый день просрочки, но "
            "не более 10% от этой суммы.",
            "4.2. Споры разрешаются путём переговоров, а при недостижении согласия — в "
            "арбитражном суде по месту нахождения Поставщика. Срок ответа на претензию — 10 "
            "(десять) календарных дней.",
        ],
    ),
    (
        "5. ЗАКЛЮЧИТЕЛЬНЫЕ ПОЛОЖЕНИЯ",
        [
            "5.1. Договор вступает в силу с момента подписания и действует до полного исполнения "
            "сторонами своих обязательств.",
            "5.2. Изменения и дополнения действительны, если они совершены в письменной форме и "
            "подписаны обеими сторонами.",
            "5.3. Договор составлен в двух экземплярах, имеющих равную юридическую силу, по одному "
            "для каждой из сторон.",
        ],
    ),
]


def _party_lines(party: dict[str, Any], *, with_bank: bool) -> str:
    lines = [
        party["name"],
        f"ИНН {party['inn']}" + (f", КПП {party['kpp']}" if party["kpp"] else ""),
        f"ОГРН {party['ogrn']}" if party["ogrn"] else "",
        f"Адрес: {party['address']}",
        f"Тел.: {party['phone']}" if party["phone"] else "",
    ]
    if with_bank:
        lines += [
            f"Р/с {party['account']}",
            f"Банк: {party['bank_name']}",
            f"БИК {party['bik']}, к/с {party['correspondent_account']}",
        ]
    return "\n".join(line for line in lines if line)


def _contract(pdf: _Page, context: dict[str, Any]) -> None:
    seller, client, document = context["seller"], context["client"], context["document"]
    totals, deal = context["totals"], context["deal"]
    client_signer = client["representative"] or client["name"]
    pdf.text_block(f"ДОГОВОР ПОСТАВКИ № {document['number']}", size=13, bold=True, align="C")
    pdf.set_font(FAMILY, size=9)
    pdf.cell(90, 6, "г. ________________")
    pdf.cell(0, 6, document["date"], align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    named = "именуемое" if client["is_company"] else "именуемый(-ая)"
    represented = (
        f", от имени которого действует {client['representative']}"
        if client["representative"]
        else ""
    )
    pdf.text_block(
        f"{seller['name']}, именуемое в дальнейшем «Поставщик», от имени которого на основании "
        f"Устава действует генеральный директор {seller['director']}, с одной стороны, и "
        f"{client['name']}, {named} в дальнейшем «Покупатель»{represented}, с другой стороны, "
        "заключили настоящий договор о нижеследующем:",
        align="J",
        space_before=3,
        space_after=2,
    )
    values = {
        "total": totals["total"],
        "currency": deal["currency_name"],
        "in_words": totals["in_words"],
        "vat_text": totals["vat_text"],
        "deadline": f", но не позднее {deal['expected_close']}" if deal["expected_close"] else "",
    }
    for heading, clauses in CONTRACT_TERMS:
        pdf.text_block(heading, bold=True, align="C", space_before=2)
        for clause in clauses:
            pdf.text_block(clause.format(**values), align="J")
    pdf.text_block("6. РЕКВИЗИТЫ И ПОДПИСИ СТОРОН", bold=True, align="C", space_before=2)
    pdf.set_font(FAMILY, size=8)
    with pdf.table(
        align="LEFT",
        col_widths=(1, 1),
        borders_layout=TableBordersLayout.NONE,
        headings_style=FontFace(emphasis="BOLD"),
        line_height=4,
        padding=1,
        text_align="LEFT",
    ) as table:
        row = table.row()
        row.cell("Поставщик")
        row.cell("Покупатель")
        row = table.row()
        row.cell(_party_lines(seller, with_bank=True))
        row.cell(_party_lines(client, with_bank=False))
        row = table.row()
        row.cell(f"Генеральный директор\n\n____________ / {seller['director']} /\nМ. П.")
        row.cell(
            ("Представитель" if client["is_company"] else "Покупатель")
            + f"\n\n____________ / {client_signer} /"
            + ("\nМ. П." if client["is_company"] else "")
        )
    pdf.add_page()
    pdf.text_block(
        f"Приложение № 1\nк договору поставки № {document['number']} от {document['date']}",
        size=8,
        align="R",
    )
    pdf.text_block("СПЕЦИФИКАЦИЯ", size=12, bold=True, align="C", space_before=4, space_after=2)
    pdf.lines_table(context)
    pdf.totals(context, with_currency=True)
    pdf.text_block(f"Сумма прописью: {totals['in_words']}", space_before=2)
    pdf.signatures([("Поставщик", seller["director"]), ("Покупатель", client_signer)])


LAYOUTS = {
    DocumentKind.PROPOSAL: _proposal,
    DocumentKind.INVOICE: _invoice,
    DocumentKind.CONTRACT: _contract,
}


def render_pdf(context: dict[str, Any]) -> bytes:
    """The PDF of the document described by ``context`` (see ``context.build_context``)."""
    document = context["document"]
    pdf = _Page(f"{document['title']} № {document['number']}")
    LAYOUTS[document["kind"]](pdf, context)
    return bytes(pdf.output())
