"""The size limit of an import's upload, checked while the upload streams to disk.

``ImportUploadHandler`` sits first in ``FILE_UPLOAD_HANDLERS``; on the import's upload
addresses (URL names in ``UPLOAD_URL_NAMES``) it counts the bytes received and stops the
upload past ``CRM_IMPORT_MAX_BYTES`` (or at once when the declared length is already over),
marking the request so the view answers 413 with a message, instead of writing a 2 GB
file to a temporary file first. Elsewhere it does nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict

UPLOAD_URL_NAMES = {"import_upload"}
TOO_LARGE = "import_upload_too_large"


def _applies(request: HttpRequest | None) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name in UPLOAD_URL_NAMES


class ImportUploadHandler(FileUploadHandler):
    """Stops an import upload larger than ``CRM_IMPORT_MAX_BYTES`` (see the module)."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.received = 0

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],  # noqa: N803 - Django's signature
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict[str, Any]] | None:
        """A body declared larger than the limit (plus room for the form's other fields)
        is not read at all: the request has no data and is marked too large."""
        if _applies(self.request) and content_length > settings.CRM_IMPORT_MAX_BYTES + 65536:
            setattr(self.request, TOO_LARGE, True)
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if _applies(self.request):
            self.received += len(raw_data)
            if self.received > settings.CRM_IMPORT_MAX_BYTES:
                self._refuse()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

    def _refuse(self) -> None:
        setattr(self.request, TOO_LARGE, True)
        raise StopUpload(connection_reset=False)


def upload_too_large(request: HttpRequest) -> bool:
    """Whether ``ImportUploadHandler`` stopped this request's upload."""
    return bool(getattr(request, TOO_LARGE, False))
