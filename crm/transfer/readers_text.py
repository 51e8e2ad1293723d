"""Text tables: which encoding and which separator a CSV file uses, and its records read
in bounded memory.

The encoding is found from the first ``SAMPLE_BYTES``: a byte-order mark decides (UTF-8,
UTF-16 LE/BE, UTF-32); else UTF-8 if most lines with non-ASCII bytes are valid UTF-8; else
the single-byte code page under which the sample reads most like words (Russian words are
all Cyrillic, in one case pattern and made of the letters Russian uses most: cp1251 against
KOI8-R and cp866, cp1251 kept on a near tie; Western text has accented letters inside Latin
words: cp1252). The file is then decoded with replacement, so
a line in another encoding does not stop the file: its row gets a problem.

The records are split by our own small state machine rather than ``csv.reader``: it keeps
at most ``MAX_CELL_CHARS`` of a cell and only the cells under the header, so neither a
1 GB cell nor a row of a million cells is ever held in memory, and a cell that is too long
is a problem of its row naming the column (``csv.reader`` raises for the whole file, and its
field size limit is global to the process). Quoting is the spreadsheets' dialect: a cell in
double quotes may hold separators and line breaks, ``""`` inside it is one quote, a quote
inside an unquoted cell is kept as it is.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.utils.translation import gettext as _

from .readers_base import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    SourceRow,
    Table,
    cell_too_long,
    file_is_empty,
    join_problems,
    too_many_cells,
    too_many_columns,
)

SAMPLE_BYTES = 64 * 1024
CHUNK_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_RECORDS = 50

# (mark, codec to read with, encoding shown to the user); UTF-32 before UTF-16 (same start).
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be"),
)
_SEPARATOR_HINT = re.compile(r"sep=([,;\t|])\r?(?:\n|$)", re.IGNORECASE)
_CYRILLIC_PAGES = ("cp1251", "koi8-r", "cp866")
SINGLE_BYTE = (*_CYRILLIC_PAGES, "cp1252")
_WORD = re.compile(r"[^\W\d_]+")
# How often each letter occurs in Russian text, per cent.
_RUSSIAN_FREQUENCY = {
    letter: float(share)
    for letter, share in (
        pair.split(":")
        for pair in [
            "о:10.97",
            "е:8.45",
            "а:8.01",
            "и:7.35",
            "н:6.70",
            "т:6.26",
            "с:5.47",
            "р:4.73",
            "в:4.54",
            "л:4.40",
            "к:3.49",
            "м:3.21",
            "д:2.98",
            "п:2.81",
            "у:2.62",
            "я:2.01",
            "ы:1.90",
            "ь:1.74",
            "г:1.70",
            "з:1.65",
            "б:1.59",
            "ч:1.44",
            "й:1.21",
            "х:0.97",
            "ж:0.94",
            "ш:0.73",
            "ю:0.64",
            "ц:0.48",
            "щ:0.36",
            "э:0.32",
            "ф:0.26",
            "ъ:0.04",
            "ё:0.04",
        ]
    )
}
# Punctuation a correctly decoded Russian or Western text commonly has outside ASCII.
_USUAL_SYMBOLS = frozenset("«»—–№…“”„‘’•°€ ")


@dataclass(frozen=True)
class Encoding:
    codec: str
    name: str


def bom_encoding(head: bytes) -> Encoding | None:
    for mark, codec, name in _BOMS:
        if head.startswith(mark):
            return Encoding(codec, name)
    return None


def detect_encoding(head: bytes) -> Encoding:
    """The encoding of a text whose first bytes are ``head`` (at most ``SAMPLE_BYTES``)."""
    found = bom_encoding(head)
    if found:
        return found
    if head.isascii() or _is_utf8(head, final=len(head) < SAMPLE_BYTES):
        return Encoding("utf-8", "utf-8")
    good = bad = 0
    lines = head.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.isascii():
            continue
        last = index == len(lines) - 1
        if _is_utf8(line, final=not last or len(head) < SAMPLE_BYTES):
            good += 1
        else:
            bad += 1
    if good > bad:
        return Encoding("utf-8", "utf-8")
    name = _single_byte_guess(head)
    return Encoding(name, name)


def _is_utf8(data: bytes, final: bool) -> bool:
    """Whether ``data`` is valid UTF-8; if not ``final``, it may end inside a character."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _single_byte_guess(head: bytes) -> str:
    western = head.decode("cp1252", errors="replace")
    mixed = pure = 0
    for word in _WORD.findall(western):
        if word.isascii():
            continue
        if any(char.isascii() for char in word):
            mixed += 1
        else:
            pure += 1
    if mixed > pure:
        return "cp1252"
    scores = {name: _russian_score(head.decode(name, "replace")) for name in _CYRILLIC_PAGES}
    best = max(scores, key=scores.__getitem__)
    # cp1251 is by far the commonest: another page must read clearly better to win it over
    # (two-word samples of capitals such as "ИНН;КПП" read alike in cp1251 and KOI8-R).
    if scores[best] > 1.2 * scores["cp1251"] + 1:
        return best
    return "cp1251"


def _russian_score(text: str) -> float:
    """How much ``text`` reads like Russian: Cyrillic words in lower, Title or UPPER case
    count for, by how common their letters are in Russian (a wrong code page swaps case or
    letters: KOI8-R read as cp1251 turns "ИВАНОВ" into "йбюмнб"); other words with
    non-ASCII letters and stray symbols count against."""
    score = 0.0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        cyrillic = all("\u0400" <= char <= "\u04ff" for char in word)
        if cyrillic and (word.islower() or word.isupper() or word.istitle()):
            score += sum(_RUSSIAN_FREQUENCY.get(char, 0.0) for char in word.lower())
        else:
            score -= 5 * len(word)
    for char in text:
        if not char.isascii() and not char.isalpha() and char not in _USUAL_SYMBOLS:
            score -= 10
    return score


def decoded_chunks(file: BinaryIO, codec: str) -> Iterator[str]:
    """The text of ``file`` from its start, in chunks, undecodable bytes replaced by U+FFFD.
    It keeps its own place in the file, so two readings of one file may be interleaved."""
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    offset = 0
    while True:
        file.seek(offset)
        chunk = file.read(CHUNK_BYTES)
        if not chunk:
            break
        offset += len(chunk)
        if text := decoder.decode(chunk):
            yield text
    if tail := decoder.decode(b"", final=True):
        yield tail


@dataclass
class RawRecord:
    """A record as split: the kept ``cells``, how many cells it has in all, the columns
    whose cell was cut at ``MAX_CELL_CHARS``, whether a cell past the kept ones has text
    and whether a quoted cell ran to the end of the file."""

    cells: list[str]
    count: int
    long_columns: list[int] = field(default_factory=list)
    extra_text: bool = False
    unclosed_quote: bool = False


_FIELD_START, _UNQUOTED, _QUOTED, _QUOTE_SEEN = range(4)


class CsvSplitter:
    """Splits CSV text fed in chunks into records, keeping at most ``keep`` cells of a
    record and ``MAX_CELL_CHARS`` characters of a cell. ``keep`` may change between
    records (the header's width is known after the first one)."""

    def __init__(self, delimiter: str, keep: int = MAX_COLUMNS + 1) -> None:
        self.delimiter = delimiter
        self.keep = keep
        self._stop = re.compile(f"[{re.escape(delimiter)}\r\n]")
        self._reset_record()
        self._state = _FIELD_START
        self._after_cr = False

    def _reset_record(self) -> None:
        self._cells: list[str] = []
        self._count = 0
        self._long: list[int] = []
        self._extra_text = False
        self._in_record = False
        self._reset_field()

    def _reset_field(self) -> None:
        self._pieces: list[str] = []
        self._length = 0
        self._cut = False

    def _add(self, text: str) -> None:
        if not text:
            return
        if self._count >= self.keep:
            self._extra_text = self._extra_text or not text.isspace()
            return
        if self._cut:
            return
        room = MAX_CELL_CHARS - self._length
        if len(text) > room:
            text, self._cut = text[:room], True
        self._pieces.append(text)
        self._length += len(text)

    def _end_field(self) -> None:
        if self._count < self.keep:
            value = "".join(self._pieces)
            if "\r" in value:
                value = value.replace("\r\n", "\n").replace("\r", "\n")
            self._cells.append(value)
            if self._cut:
                self._long.append(self._count)
        self._count += 1
        self._reset_field()

    def _take_record(self, unclosed_quote: bool = False) -> RawRecord:
        record = RawRecord(self._cells, self._count, self._long, self._extra_text, unclosed_quote)
        self._reset_record()
        return record

    def records(self, chunks: Iterable[str]) -> Iterator[RawRecord]:
        for chunk in chunks:
            yield from self._feed(chunk)
        if self._in_record or self._state != _FIELD_START:
            unclosed = self._state == _QUOTED
            self._end_field()
            self._state = _FIELD_START
            yield self._take_record(unclosed)

    def _plain_record(self, line: str) -> RawRecord:
        """A whole line without quotes, split at once: the common case, several times
        faster than the state machine, which it gives the same answer as."""
        if line.endswith("\r"):
            line = line[:-1]
        cells = line.split(self.delimiter)
        record = RawRecord(cells, len(cells))
        if len(cells) > self.keep:
            record.extra_text = any(not cell.isspace() and cell for cell in cells[self.keep :])
            del cells[self.keep :]
        for index, cell in enumerate(cells):
            if len(cell) > MAX_CELL_CHARS:
                cells[index] = cell[:MAX_CELL_CHARS]
                record.long_columns.append(index)
        return record

    def _feed(self, text: str) -> list[RawRecord]:
        done: list[RawRecord] = []
        position, end = 0, len(text)
        while position < end:
            if self._after_cr:
                self._after_cr = False
                if text[position] == "\n":
                    position += 1
                    continue
            state = self._state
            if state == _FIELD_START and not self._in_record:
                line_end = text.find("\n", position)
                if line_end >= 0:
                    line = text[position:line_end]
                    if '"' not in line and "\r" not in line[:-1]:  # no quotes, no old Mac ends
                        done.append(self._plain_record(line))
                        position = line_end + 1
                        continue
            if state == _FIELD_START:
                self._in_record = True
                if text[position] == '"':
                    self._state = _QUOTED
                    position += 1
                    continue
                state = self._state = _UNQUOTED
            if state == _UNQUOTED:
                found = self._stop.search(text, position)
                if found is None:
                    self._add(text[position:])
                    break
                stop = found.start()
                self._add(text[position:stop])
                position = stop + 1
                self._end_field()
                self._state = _FIELD_START
                if text[stop] != self.delimiter:
                    done.append(self._take_record())
                    self._after_cr = text[stop] == "\r"
            elif state == _QUOTED:
                stop = text.find('"', position)
                if stop < 0:
                    self._add(text[position:])
                    break
                self._add(text[position:stop])
                position = stop + 1
                self._state = _QUOTE_SEEN
            elif text[position] == '"':  # _QUOTE_SEEN: a doubled quote is one quote
                self._add('"')
                position += 1
                self._state = _QUOTED
            else:  # text after the closing quote belongs to the cell, as in csv.reader
                self._state = _UNQUOTED
        return done


def detect_delimiter(sample: str, complete: bool) -> str:
    """The separator under which the sample's records are most alike in width (more than
    one column). When none splits the header, the file has one column: the first separator
    that does not occur in the sample at all, so that a comma inside a value splits
    nothing (a comma if every one occurs)."""
    best, best_score = ",", (0, 0, 0)
    for rank, delimiter in enumerate(reversed(DELIMITERS)):
        widths = [
            record.count
            for record in CsvSplitter(delimiter).records([sample])
            if any(cell.strip() for cell in record.cells)
        ][: _SAMPLE_RECORDS + 1]
        if not complete and len(widths) > 1:
            widths = widths[:-1]  # the sample may end inside the last record
        if not widths or widths[0] < 2:
            continue
        header = widths[0]
        score = (sum(width == header for width in widths), header, rank)
        if score > best_score:
            best, best_score = delimiter, score
    if best_score == (0, 0, 0):
        for delimiter in DELIMITERS:
            if not sample.replace(delimiter, "").strip():
                return delimiter  # nothing but separators: a blank table
        return next((delimiter for delimiter in DELIMITERS if delimiter not in sample), ",")
    return best


def read_csv(file: BinaryIO, head: bytes, encoding: Encoding) -> Table:
    """The table of a CSV file whose first bytes are ``head``, in ``encoding``."""
    complete = len(head) < SAMPLE_BYTES
    sample_decoder = codecs.getincrementaldecoder(encoding.codec)(errors="replace")
    sample = sample_decoder.decode(head, final=complete).lstrip("\ufeff")
    # Excel's own hint: a first line "sep=;" names the separator and is not a row.
    hint = _SEPARATOR_HINT.match(sample)
    delimiter = hint.group(1) if hint else detect_delimiter(sample, complete)

    def records(keep: int) -> Iterator[tuple[int, RawRecord]]:
        number = 0
        skip_hint = hint is not None
        chunks = decoded_chunks(file, encoding.codec)
        for record in CsvSplitter(delimiter, keep).records(chunks):
            if skip_hint:
                skip_hint = False
                continue
            number += 1
            if number == 1 and not any(cell.strip() for cell in record.cells):
                number = 0  # blank lines above the header are not rows
                continue
            yield number, record

    header_record = next(records(MAX_COLUMNS + 1), None)
    if header_record is None:
        raise file_is_empty()
    header = header_record[1]
    if header.count > MAX_COLUMNS:
        raise too_many_columns(header.count)
    columns = [_clean_header(cell) for cell in header.cells]
    width = len(columns)

    def rows() -> Iterator[SourceRow]:
        source = records(width)
        next(source, None)
        for number, record in source:
            cells = record.cells + [""] * (width - len(record.cells))
            if not any(cell.strip() for cell in cells) and not record.extra_text:
                continue
            yield SourceRow(number, cells, _problem(cells, record, columns, encoding.name))

    notes = []
    if encoding.codec in SINGLE_BYTE:
        notes.append(
            _(
                "The file does not say its encoding; it was read as %(encoding)s. If the "
                "letters look wrong, save it as UTF-8 and upload it again."
            )
            % {"encoding": encoding.name}
        )
    return Table(
        columns=columns,
        rows=rows(),
        format="csv",
        encoding=encoding.name,
        delimiter=delimiter,
        notes=notes,
    )


def _clean_header(cell: str) -> str:
    return " ".join(cell.replace("\ufeff", "").split())


def _problem(cells: list[str], record: RawRecord, columns: list[str], encoding: str) -> str:
    """What is wrong with a row, in words; ``""`` for a good one."""
    problems = []
    if any("\ufffd" in cell for cell in cells):
        problems.append(
            _("The row has characters that are not in the file's encoding (%(encoding)s).")
            % {"encoding": encoding}
        )
    problems.extend(
        cell_too_long(columns[index] or str(index + 1)) for index in record.long_columns
    )
    if record.extra_text:
        problems.append(too_many_cells(record.count, len(columns)))
    if record.unclosed_quote:
        problems.append(_("A quoted cell is not closed: the rest of the file went into it."))
    return join_problems(problems)
