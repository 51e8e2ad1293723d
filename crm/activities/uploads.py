"""Checking uploaded files by their content before they are stored.

A file is accepted when its bytes are of an allowed type and its name's extension agrees
with the bytes; plain text is accepted when it decodes as UTF-8 or Windows-1251.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from crm.core.errors import DomainError, ValidationFailed

# Detected MIME type → the extensions a file of that type may carry.
ALLOWED_TYPES: dict[str, set[str]] = {
    "application/pdf": {"pdf"},
    "image/png": {"png"},
    "image/jpeg": {"jpg", "jpeg"},
    "image/gif": {"gif"},
    "image/webp": {"webp"},
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {"docx"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"xlsx"},
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": {"pptx"},
    "application/zip": {"zip", "docx", "xlsx", "pptx", "odt", "ods"},
    "application/msword": {"doc", "xls", "ppt"},
    "application/x-ole-storage": {"doc", "xls", "ppt", "msg"},
    "application/vnd.oasis.opendocument.text": {"odt"},
    "application/vnd.oasis.opendocument.spreadsheet": {"ods"},
    "message/rfc822": {"eml"},
    "audio/mpeg": {"mp3"},
    "audio/x-wav": {"wav"},
    "audio/ogg": {"ogg", "oga"},
}
TEXT_EXTENSIONS = {"txt", "csv", "eml", "vcf", "ics"}


class FileTooLarge(DomainError):
    status_code = 413


class FileRejected(ValidationFailed):
    """A file of a type that is not accepted, or whose name lies about its content."""

    status_code = 400


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    size: int
    sha256: str


def _safe_name(name: str) -> str:
    base = PurePath((name or "").replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"/\\|?*').strip(". ")
    return cleaned[:200] or "file"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "cp1251"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    return False


def check_upload(upload: UploadedFile[Any]) -> CheckedFile:
    """Validate an upload's size, type and name; raise a domain error naming ``file``."""
    size = upload.size or 0
    if size > settings.UPLOAD_MAX_BYTES:
        raise FileTooLarge(
            field_errors={
                "file": [
                    _("The file is larger than %(limit)d MB.")
                    % {"limit": settings.UPLOAD_MAX_BYTES // 2**20}
                ]
            }
        )
    if size == 0:
        raise ValidationFailed(field_errors={"file": [_("The file is empty.")]})
    name = _safe_name(upload.name or "")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    upload.seek(0)
    head = upload.read(8192)
    digest = hashlib.sha256(head)
    for chunk in iter(lambda: upload.read(65536), b""):
        digest.update(chunk)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None:
        if extension in TEXT_EXTENSIONS and _looks_like_text(head):
            mime = "text/plain" if extension != "csv" else "text/csv"
            return CheckedFile(name, mime, size, digest.hexdigest())
        raise FileRejected(field_errors={"file": [_("This type of file is not accepted.")]})
    allowed = ALLOWED_TYPES.get(kind.mime)
    if allowed is None:
        raise FileRejected(
            field_errors={
                "file": [_("Files of type %(type)s are not accepted.") % {"type": kind.mime}]
            }
        )
    if extension not in allowed:
        raise FileRejected(
            field_errors={
                "file": [
                    _("The file's name says .%(ext)s but its content is %(type)s.")
                    % {"ext": extension or "—", "type": kind.mime}
                ]
            }
        )
    return CheckedFile(name, kind.mime, size, digest.hexdigest())
