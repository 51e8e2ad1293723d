"""The CSV splitter agrees with Python's csv module on whatever a spreadsheet writes, however
the text is cut into chunks."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from crm.transfer.readers_text import CsvSplitter

cell = st.text(alphabet=st.sampled_from(list('ab Жё,;"\n\r\t|')), max_size=12)
table = st.lists(st.lists(cell, min_size=1, max_size=6), min_size=1, max_size=8)


def written(rows: list[list[str]], delimiter: str, line_end: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=line_end).writerows(rows)
    return buffer.getvalue()


def in_chunks(text: str, sizes: list[int]) -> list[str]:
    chunks, position = [], 0
    for size in sizes:
        chunks.append(text[position : position + size])
        position += size
    chunks.append(text[position:])
    return [chunk for chunk in chunks if chunk]


@settings(max_examples=300, deadline=None)
@given(
    rows=table,
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    line_end=st.sampled_from(["\r\n", "\n", "\r"]),
    sizes=st.lists(st.integers(min_value=1, max_value=7), max_size=30),
)
def test_records_are_what_csv_reader_reads(
    rows: list[list[str]], delimiter: str, line_end: str, sizes: list[int]
) -> None:
    text = written(rows, delimiter, line_end)
    records = list(CsvSplitter(delimiter).records(in_chunks(text, sizes)))
    expected = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    # line breaks inside cells come out as "\n" whatever the file used; an empty line is a
    # record of one empty cell (csv.reader says no cells)
    expected = [
        [value.replace("\r\n", "\n").replace("\r", "\n") for value in row] or [""]
        for row in expected
    ]
    assert [record.cells for record in records] == expected
    assert all(record.count == len(record.cells) for record in records)


def test_old_mac_line_ends_and_mixed_ends() -> None:
    splitter = CsvSplitter(",")
    records = list(splitter.records(["a,b\r1,2\r\n3,4\n5,", '"x\r\ny"\r']))
    assert [record.cells for record in records] == [
        ["a", "b"], ["1", "2"], ["3", "4"], ["5", "x\ny"],
    ]  # fmt: skip
