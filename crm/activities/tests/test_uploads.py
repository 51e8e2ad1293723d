"""Checking uploads by content: size, type, and a name that agrees with the bytes."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.activities.uploads import FileRejected, FileTooLarge, check_upload
from crm.core.errors import ValidationFailed

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def _upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_a_pdf_is_accepted_with_its_detected_type_and_digest():
    checked = check_upload(_upload("Счёт.PDF", PDF))
    assert (checked.name, checked.content_type, checked.size) == (
        "Счёт.PDF",
        "application/pdf",
        len(PDF),
    )
    assert len(checked.sha256) == 64


def test_a_name_with_a_path_and_odd_characters_is_made_safe():
    checked = check_upload(_upload('..\\..\\etc/<x>:"a".pdf', PDF))
    assert checked.name == "xa.pdf"


@pytest.mark.parametrize("encoding", ["utf-8", "cp1251"])
def test_plain_text_in_utf8_or_cp1251_is_accepted(encoding):
    checked = check_upload(_upload("список.csv", "Имя;Телефон\nИван;+7912".encode(encoding)))
    assert checked.content_type == "text/csv"


def test_too_large_is_413_naming_the_file(settings):
    settings.UPLOAD_MAX_BYTES = 10
    with pytest.raises(FileTooLarge) as refused:
        check_upload(_upload("a.pdf", PDF))
    assert refused.value.status_code == 413
    assert list(refused.value.field_errors) == ["file"]


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        check_upload(_upload("a.txt", b""))
    assert list(refused.value.field_errors) == ["file"]


@pytest.mark.parametrize(
    ("name", "content", "hint"),
    [
        ("photo.pdf", PNG_HEAD, "image/png"),
        ("setup.exe", b"MZ" + b"\x00" * 100, "x-msdownload"),
        ("report.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "x-executable"),
        ("notes.txt", b"\x00\x01\x02binary", ""),
        ("page.html", b"<html><script>alert(1)</script></html>", ""),
    ],
)
def test_forbidden_or_mislabelled_files_are_400_naming_the_file(name, content, hint):
    with pytest.raises(FileRejected) as refused:
        check_upload(_upload(name, content))
    assert refused.value.status_code == 400
    assert isinstance(refused.value, ValidationFailed)
    assert list(refused.value.field_errors) == ["file"]
    assert hint in " ".join(refused.value.field_errors["file"])
