"""Build the shipped DOCX templates: proposal.docx, invoice.docx and contract.docx.

Run ``.venv/bin/python crm/sales/document_templates/build.py`` after changing this file and
commit the three files; ``--check`` exits with 1 when a committed file differs from what this
script builds (a test runs it). The output is reproducible: fixed document properties and zip
timestamps.

The templates use docxtpl's Jinja placeholders (``{{ client.name }}``); rows between
``{%tr for … %}`` and ``{%tr endfor %}`` repeat per line item, paragraphs between
``{%p … %}`` tags repeat or show conditionally. The placeholders are listed on the
administrator's page "Document templates → Placeholders" and in docs/architecture.md.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import docx
from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table, _Cell, _Row
from docx.text.paragraph import Paragraph

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ZIP_TIME = (2026, 1, 1, 0, 0, 0)


LEFT, CENTER, RIGHT, JUSTIFY = (
    WD_ALIGN_PARAGRAPH.LEFT,
    WD_ALIGN_PARAGRAPH.CENTER,
    WD_ALIGN_PARAGRAPH.RIGHT,
    WD_ALIGN_PARAGRAPH.JUSTIFY,
)

LINE_ROW = "{%tr for line in lines %}"
END_ROW = "{%tr endfor %}"
DISCOUNT = "{% if line.discount %} (скидка {{ line.discount }}){% endif %}"


# --- building blocks ------------------------------------------------------------------------


def new_document(title: str, *, font: str, size: float) -> Document:
    document = docx.Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin, section.right_margin = Cm(2), Cm(1.5)
    section.top_margin, section.bottom_margin = Cm(1.5), Cm(1.5)
    normal = document.styles["Normal"]
    normal.font.name = font
    normal.font.size = Pt(size)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), font)
    normal.paragraph_format.space_after = Pt(2)
    normal.paragraph_format.space_before = Pt(0)
    properties = document.core_properties
    properties.title = title
    properties.author = "CRM"
    properties.last_modified_by = "CRM"
    properties.comments = ""
    properties.subject = ""
    properties.keywords = ""
    properties.revision = 1
    properties.created = properties.modified = FIXED_TIME
    return document


def paragraph(
    container: Document | _Cell,
    text: str = "",
    *,
    bold: bool = False,
    size: float | None = None,
    align: int | None = None,
    space_after: float | None = None,
    space_before: float | None = None,
) -> Paragraph:
    result = container.add_paragraph()
    if text:
        run = result.add_run(text)
        run.bold = bold
        if size:
            run.font.size = Pt(size)
    if align is not None:
        result.alignment = align
    if space_after is not None:
        result.paragraph_format.space_after = Pt(space_after)
    if space_before is not None:
        result.paragraph_format.space_before = Pt(space_before)
    return result


def runs(target: Paragraph, parts: Sequence[tuple[str, bool]]) -> Paragraph:
    """Add (text, bold) runs to a paragraph."""
    for text, bold in parts:
        target.add_run(text).bold = bold
    return target


def set_cell(
    cell: _Cell, text: str, *, bold: bool = False, size: float | None = None, align: int = LEFT
) -> _Cell:
    cell.text = ""
    first = cell.paragraphs[0]
    if text:
        run = first.add_run(text)
        run.bold = bold
        if size:
            run.font.size = Pt(size)
    first.alignment = align
    return cell


def bottom_border(target: Paragraph) -> None:
    """A rule under the paragraph, as under the title of an invoice."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (
        ("w:val", "single"),
        ("w:sz", "12"),
        ("w:space", "1"),
        ("w:color", "000000"),
    ):
        bottom.set(qn(key), value)
    borders.append(bottom)
    target._p.get_or_add_pPr().append(borders)


def no_borders(table: Table) -> None:
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties.append(borders)


def widths(table: Table, centimetres: Sequence[float]) -> None:
    """Column widths, in the grid (LibreOffice reads it) and in every cell (Word does)."""
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for column, width in zip(table.columns, centimetres, strict=False):
        column.width = Cm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, centimetres, strict=False):
            cell.width = Cm(width)


def grid(document: Document | _Cell, rows: int, columns: int, *, borders: bool = True) -> Table:
    table = document.add_table(rows=rows, cols=columns)
    if borders:
        table.style = "Table Grid"
    else:
        no_borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    return table


def add_row(table: Table) -> _Row:
    """A new bottom row of ``table``."""
    row: _Row = table.add_row()  # type: ignore[no-untyped-call]  # unannotated in python-docx
    return row


def loop_row(table: Table, tag: str) -> None:
    """A row holding only a docxtpl row tag; docxtpl removes it when rendering."""
    row = add_row(table)
    first = row.cells[0].merge(row.cells[-1])
    set_cell(first, tag)


def lines_table(
    document: Document,
    columns: Sequence[tuple[str, str, float, int]],
) -> Table:
    """The line items: a header row, then one row per ``line`` between loop tags.

    ``columns`` are (header, cell template, width in cm, alignment).
    """
    table = grid(document, 1, len(columns))
    for cell, (header, _value, _width, _align) in zip(table.rows[0].cells, columns, strict=True):
        set_cell(cell, header, bold=True, size=9, align=CENTER)
    loop_row(table, LINE_ROW)
    row = add_row(table)
    for cell, (_header, value, _width, align) in zip(row.cells, columns, strict=True):
        set_cell(cell, value, size=9, align=align)
    loop_row(table, END_ROW)
    widths(table, [width for _h, _v, width, _a in columns])
    return table


def vat_paragraphs(document: Document, *, align: int = RIGHT, bold: bool = True) -> None:
    """«В том числе НДС 22%: …» per rate, or «Без налога (НДС)»."""
    paragraph(document, "{%p for row in vat %}")
    paragraph(document, "В том числе НДС {{ row.rate }}: {{ row.amount }}", bold=bold, align=align)
    paragraph(document, "{%p endfor %}")
    paragraph(document, "{%p if not vat %}")
    paragraph(document, "Без налога (НДС)", bold=bold, align=align)
    paragraph(document, "{%p endif %}")


def signature_table(document: Document, signers: Sequence[tuple[str, str]]) -> Table:
    """«Руководитель ________ / Иванов И. И. /» rows."""
    table = grid(document, len(signers), 3, borders=False)
    for row, (role, name) in zip(table.rows, signers, strict=True):
        set_cell(row.cells[0], role, bold=True)
        set_cell(row.cells[1], "____________________", align=CENTER)
        set_cell(row.cells[2], f"/ {name} /")
    widths(table, [4, 5.5, 8])
    return table


def page_break(document: Document) -> None:
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


# --- invoice --------------------------------------------------------------------------------


def bank_table(document: Document) -> None:
    """The seller's bank details block at the top of a Russian invoice."""
    table = grid(document, 4, 4)
    bank = table.cell(0, 0).merge(table.cell(1, 1))
    set_cell(bank, "{{ seller.bank_name }}")
    paragraph(bank, "Банк получателя", size=8)
    set_cell(table.cell(0, 2), "БИК")
    set_cell(table.cell(0, 3), "{{ seller.bik }}")
    set_cell(table.cell(1, 2), "Сч. №")
    set_cell(table.cell(1, 3), "{{ seller.correspondent_account }}")
    set_cell(table.cell(2, 0), "ИНН {{ seller.inn }}")
    set_cell(table.cell(2, 1), "КПП {{ seller.kpp }}")
    account_label = table.cell(2, 2).merge(table.cell(3, 2))
    set_cell(account_label, "Сч. №")
    account = table.cell(2, 3).merge(table.cell(3, 3))
    set_cell(account, "{{ seller.account }}")
    recipient = table.cell(3, 0).merge(table.cell(3, 1))
    set_cell(recipient, "{{ seller.name }}")
    paragraph(recipient, "Получатель", size=8)
    widths(table, [5, 5, 2, 5.5])


def build_invoice() -> Document:
    document = new_document("Счёт на оплату", font="Arial", size=9.5)
    paragraph(
        document,
        "Внимание! Оплата данного счёта означает согласие с условиями поставки товара. "
        "Товар отпускается по факту прихода денег на р/с Поставщика.",
        size=8,
        align=CENTER,
        space_after=6,
    )
    bank_table(document)
    title = paragraph(
        document,
        "Счёт на оплату № {{ document.number }} от {{ document.date }}",
        bold=True,
        size=14,
        space_before=12,
        space_after=6,
    )
    bottom_border(title)
    parties = grid(document, 0, 2, borders=False)
    for label, value in (
        ("Поставщик\n(Исполнитель):", "{{ seller.requisites }}"),
        ("Покупатель\n(Заказчик):", "{{ client.requisites }}"),
    ):
        row = add_row(parties)
        set_cell(row.cells[0], label)
        set_cell(row.cells[1], value, bold=True)
    loop_row(parties, "{%tr if document.basis %}")
    row = add_row(parties)
    set_cell(row.cells[0], "Основание:")
    set_cell(row.cells[1], "{{ document.basis }}", bold=True)
    loop_row(parties, "{%tr endif %}")
    widths(parties, [3.5, 14])
    paragraph(document, space_after=4)
    lines_table(
        document,
        [
            ("№", "{{ line.number }}", 0.8, CENTER),
            ("Товары (работы, услуги)", "{{ line.name }}" + DISCOUNT, 7.2, LEFT),
            ("Кол-во", "{{ line.quantity }}", 1.6, RIGHT),
            ("Ед.", "{{ line.unit }}", 1.2, LEFT),
            ("Цена", "{{ line.price }}", 2.3, RIGHT),
            ("НДС", "{{ line.vat_rate }}", 1.5, CENTER),
            ("Сумма", "{{ line.total }}", 2.9, RIGHT),
        ],
    )
    paragraph(document, "Итого: {{ totals.total }}", bold=True, align=RIGHT, space_before=6)
    vat_paragraphs(document)
    paragraph(
        document,
        "Всего наименований {{ totals.count }}, на сумму {{ totals.total }} "
        "{{ deal.currency_name }}",
        space_before=6,
    )
    paragraph(
        document,
        "Всего к оплате: {{ totals.total }} {{ deal.currency_name }} ({{ totals.in_words }})",
        bold=True,
    )
    rule = paragraph(
        document,
        "Оплатить не позднее 5 банковских дней с даты счёта. В назначении платежа укажите "
        "номер счёта.",
        size=8,
        space_before=6,
        space_after=12,
    )
    bottom_border(rule)
    signature_table(
        document,
        [("Руководитель", "{{ seller.director }}"), ("Бухгалтер", "{{ seller.accountant }}")],
    )
    paragraph(document, "М. П.", space_before=6)
    return document


# --- proposal -------------------------------------------------------------------------------


def build_proposal() -> Document:
    document = new_document("Коммерческое предложение", font="Arial", size=10)
    header = paragraph(document, "{{ seller.name }}", bold=True, size=13)
    bottom_border(header)
    paragraph(
        document,
        "{{ seller.address }}{% if seller.phone %}, тел. {{ seller.phone }}{% endif %}"
        "{% if seller.email %}, {{ seller.email }}{% endif %}",
        size=8,
        space_after=12,
    )
    paragraph(
        document,
        "Кому: {{ client.name }}{% if client.inn %}, ИНН {{ client.inn }}{% endif %}",
        align=RIGHT,
    )
    paragraph(document, "{%p if client.representative %}")
    paragraph(document, "{{ client.representative }}", align=RIGHT)
    paragraph(document, "{%p endif %}")
    paragraph(
        document,
        "Коммерческое предложение № {{ document.number }} от {{ document.date }}",
        bold=True,
        size=14,
        align=CENTER,
        space_before=12,
        space_after=12,
    )
    paragraph(document, "{%p if contact.name %}")
    paragraph(document, "Уважаемый(-ая) {{ contact.name }}!", bold=True, align=CENTER)
    paragraph(document, "{%p endif %}")
    paragraph(
        document,
        "Благодарим вас за интерес к нашей компании. По вашему запросу «{{ deal.title }}» "
        "предлагаем:",
        align=JUSTIFY,
        space_after=6,
    )
    lines_table(
        document,
        [
            ("№", "{{ line.number }}", 0.8, CENTER),
            ("Наименование", "{{ line.name }}" + DISCOUNT, 7.2, LEFT),
            ("Кол-во", "{{ line.quantity }}", 1.6, RIGHT),
            ("Ед.", "{{ line.unit }}", 1.2, LEFT),
            ("Цена, {{ deal.currency_name }}", "{{ line.price }}", 2.3, RIGHT),
            ("НДС", "{{ line.vat_rate }}", 1.5, CENTER),
            ("Сумма, {{ deal.currency_name }}", "{{ line.total }}", 2.9, RIGHT),
        ],
    )
    paragraph(
        document,
        "Итого: {{ totals.total }} {{ deal.currency_name }}",
        bold=True,
        align=RIGHT,
        space_before=6,
    )
    vat_paragraphs(document)
    paragraph(document, "Сумма прописью: {{ totals.in_words }}", space_before=6)
    paragraph(
        document,
        "Предложение действительно в течение 14 календарных дней. Цены указаны с учётом НДС "
        "(если он применяется) и скидок.",
        size=9,
        space_before=6,
    )
    paragraph(document, "{%p if deal.expected_close %}")
    paragraph(document, "Ориентировочный срок исполнения: до {{ deal.expected_close }}.", size=9)
    paragraph(document, "{%p endif %}")
    runs(
        paragraph(document, space_before=12),
        [
            ("Ваш менеджер: ", False),
            ("{{ manager.name }}", True),
            ("{% if manager.position %}, {{ manager.position }}{% endif %}", False),
            ("{% if manager.phone %}, тел. {{ manager.phone }}{% endif %}", False),
            ("{% if manager.email %}, {{ manager.email }}{% endif %}", False),
        ],
    )
    paragraph(document, space_after=12)
    signature_table(document, [("Руководитель", "{{ seller.director }}")])
    return document


# --- contract -------------------------------------------------------------------------------

CONTRACT_SECTIONS: list[tuple[str, list[str]]] = [
    (
        "1. Предмет договора",
        [
            "1.1. Поставщик обязуется передать в собственность Покупателя товары (выполнить "
            "работы, оказать услуги), указанные в Спецификации (Приложение № 1), являющейся "
            "неотъемлемой частью настоящего договора, а Покупатель обязуется принять и оплатить их.",
            "1.2. Наименование, количество, цена и стоимость указываются в Спецификации.",
        ],
    ),
    (
        "2. Цена и порядок расчётов",
        [
            "2.1. Общая стоимость по договору составляет {{ totals.total }} "
            "{{ deal.currency_name }} ({{ totals.in_words }}), {{ totals.vat_text }}.",
            "2.2. Покупатель оплачивает 100% стоимости в течение 5 (пяти) банковских дней с даты "
            "выставления счёта Поставщиком.",
            "2.3. Датой оплаты считается дата зачисления денежных средств на расчётный счёт "
            "Поставщика.",
        ],
    ),
    (
        "3. Сроки и порядок поставки",
        [
            "3.1. Поставка осуществляется в течение 10 (десяти) рабочих дней с даты оплаты"
            "{% if deal.expected_close %}, но не позднее {{ deal.expected_close }}{% endif %}.",
            "3.2. Право собственности и риск случайной гибели переходят к Покупателю с момента "
            "подписания универсального передаточного документа (товарной накладной).",
            "3.3. Приёмка по количеству и качеству производится при получении. Претензии "
            "принимаются в письменной форме в течение 5 (пяти) рабочих дней.",
        ],
    ),
    (
        "4. Ответственность сторон",
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
        "5. Заключительные положения",
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

PARTY_LINES = [
    "{{ %(p)s.name }}",
    "ИНН {{ %(p)s.inn }}{%% if %(p)s.kpp %%}, КПП {{ %(p)s.kpp }}{%% endif %%}",
    "{%% if %(p)s.ogrn %%}ОГРН {{ %(p)s.ogrn }}{%% endif %%}",
    "Адрес: {{ %(p)s.address }}",
    "{%% if %(p)s.phone %%}Тел.: {{ %(p)s.phone }}{%% endif %%}",
]
SELLER_BANK_LINES = [
    "Р/с {{ seller.account }}",
    "Банк: {{ seller.bank_name }}",
    "БИК {{ seller.bik }}, к/с {{ seller.correspondent_account }}",
]


def keep_rows_whole(table: Table) -> None:
    """Rows never split across pages, so signatures stay with the requisites."""
    for row in table.rows:
        properties = row._tr.get_or_add_trPr()
        properties.append(OxmlElement("w:cantSplit"))


def parties_table(document: Document) -> None:
    """Requisites and signatures of both parties side by side, kept on one page."""
    table = grid(document, 1, 2, borders=False)
    seller, client = table.cell(0, 0), table.cell(0, 1)
    set_cell(seller, "Поставщик", bold=True)
    set_cell(client, "Покупатель", bold=True)
    seller_lines = [line % {"p": "seller"} for line in PARTY_LINES] + SELLER_BANK_LINES
    client_lines = [line % {"p": "client"} for line in PARTY_LINES]
    client_lines += [""] * (len(seller_lines) - len(client_lines))
    for line in [
        *seller_lines,
        "",
        "Генеральный директор",
        "",
        "____________ / {{ seller.director }} /",
        "М. П.",
    ]:
        paragraph(seller, line)
    for line in [
        *client_lines,
        "",
        "{% if client.is_company %}Представитель{% else %}Покупатель{% endif %}",
        "",
        "____________ / {% if client.representative %}{{ client.representative }}"
        "{% else %}{{ client.name }}{% endif %} /",
        "{% if client.is_company %}М. П.{% endif %}",
    ]:
        paragraph(client, line)
    keep_rows_whole(table)
    widths(table, [8.75, 8.75])


def build_contract() -> Document:
    document = new_document("Договор поставки", font="Times New Roman", size=10.5)
    paragraph(
        document,
        "ДОГОВОР ПОСТАВКИ № {{ document.number }}",
        bold=True,
        size=14,
        align=CENTER,
        space_after=6,
    )
    place = grid(document, 1, 2, borders=False)
    set_cell(place.cell(0, 0), "г. ________________")
    set_cell(place.cell(0, 1), "{{ document.date }}", align=RIGHT)
    widths(place, [8.75, 8.75])
    paragraph(
        document,
        "{{ seller.name }}, именуемое в дальнейшем «Поставщик», от имени которого на основании "
        "Устава действует генеральный директор {{ seller.director }}, с одной стороны, и "
        "{{ client.name }}, {% if client.is_company %}именуемое{% else %}именуемый(-ая)"
        "{% endif %} в дальнейшем «Покупатель»{% if client.representative %}, от имени которого "
        "действует {{ client.representative }}{% endif %}, с другой стороны, заключили "
        "настоящий договор о нижеследующем:",
        align=JUSTIFY,
        space_before=12,
        space_after=6,
    )
    for heading, clauses in CONTRACT_SECTIONS:
        paragraph(document, heading.upper(), bold=True, align=CENTER, space_before=5, space_after=2)
        for clause in clauses:
            paragraph(document, clause, align=JUSTIFY)
    requisites = paragraph(
        document,
        "6. РЕКВИЗИТЫ И ПОДПИСИ СТОРОН",
        bold=True,
        align=CENTER,
        space_before=5,
        space_after=2,
    )
    requisites.paragraph_format.keep_with_next = True
    parties_table(document)
    page_break(document)
    paragraph(
        document,
        "Приложение № 1\nк договору поставки № {{ document.number }} от {{ document.date }}",
        align=RIGHT,
        size=9,
    )
    paragraph(
        document, "СПЕЦИФИКАЦИЯ", bold=True, size=13, align=CENTER, space_before=12, space_after=6
    )
    lines_table(
        document,
        [
            ("№", "{{ line.number }}", 0.8, CENTER),
            ("Наименование", "{{ line.name }}" + DISCOUNT, 7.2, LEFT),
            ("Кол-во", "{{ line.quantity }}", 1.6, RIGHT),
            ("Ед.", "{{ line.unit }}", 1.2, LEFT),
            ("Цена", "{{ line.price }}", 2.3, RIGHT),
            ("НДС", "{{ line.vat_rate }}", 1.5, CENTER),
            ("Сумма", "{{ line.total }}", 2.9, RIGHT),
        ],
    )
    paragraph(
        document,
        "Итого: {{ totals.total }} {{ deal.currency_name }}",
        bold=True,
        align=RIGHT,
        space_before=6,
    )
    vat_paragraphs(document)
    paragraph(document, "Сумма прописью: {{ totals.in_words }}", space_before=6, space_after=12)
    signature_table(
        document,
        [
            ("Поставщик", "{{ seller.director }}"),
            (
                "Покупатель",
                "{% if client.representative %}{{ client.representative }}"
                "{% else %}{{ client.name }}{% endif %}",
            ),
        ],
    )
    return document


# --- output ---------------------------------------------------------------------------------

BUILDERS: dict[str, Callable[[], Document]] = {
    "proposal": build_proposal,
    "invoice": build_invoice,
    "contract": build_contract,
}


def reproducible(document: Document) -> bytes:
    """The DOCX bytes with fixed zip timestamps, so a rebuild gives the same file."""
    raw = io.BytesIO()
    document.save(raw)
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(entry.filename))
    return output.getvalue()


def build_all() -> dict[str, bytes]:
    return {kind: reproducible(builder()) for kind, builder in BUILDERS.items()}


def main(argv: Sequence[str]) -> int:
    built = build_all()
    if "--check" in argv:
        stale = [
            kind
            for kind, data in built.items()
            if not (HERE / f"{kind}.docx").exists() or (HERE / f"{kind}.docx").read_bytes() != data
        ]
        for kind in stale:
            print(f"{kind}.docx is out of date: run {Path(__file__).name}", file=sys.stderr)
        return 1 if stale else 0
    for kind, data in built.items():
        (HERE / f"{kind}.docx").write_bytes(data)
        print(f"wrote {kind}.docx ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
