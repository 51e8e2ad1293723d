"""Filling DOCX templates (docxtpl: Jinja placeholders inside a Word file).

Templates come from the administrator, so they run in Jinja's sandbox (no attribute
access to Python internals, bounded ``range``), with values XML-escaped and unknown names
treated as errors: a typo such as ``{{ clinet.name }}`` is refused when the template is
uploaded instead of printing nothing on every invoice. Any failure while rendering becomes
``TemplateBroken`` with the line of the template and the text around it.

docxtpl (with python-docx, lxml and Jinja) is imported where a template is filled, not
with this module: most processes never fill one and should not pay for it at start-up.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docxtpl import DocxTemplate
    from jinja2.sandbox import SandboxedEnvironment

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "document_templates"
MAIN_PART = "word/document.xml"
# A DOCX is a zip; these bound what reading one may unpack.
MAX_UNPACKED_BYTES = 100 * 2**20
MAX_ENTRIES = 2000
NEAR_CHARS = 120

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class NotDocx(Exception):
    """The bytes are not a Word (DOCX) document."""


class TemplateBroken(Exception):
    """A template that does not render; ``line`` and ``near`` locate the fault."""

    def __init__(self, message: str, *, line: int | None = None, near: str = "") -> None:
        self.message, self.line, self.near = message, line, near
        super().__init__(message)


def builtin_template_path(kind: str) -> Path:
    """The shipped template of a kind (built by ``document_templates/build.py``)."""
    return BUILTIN_DIR / f"{kind}.docx"


def check_docx(data: bytes) -> None:
    """Raise ``NotDocx`` unless ``data`` is a zip holding ``word/document.xml`` that is
    small enough when unpacked."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise NotDocx("not a zip archive")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise NotDocx(str(error)) from error
    if len(entries) > MAX_ENTRIES or sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
        raise NotDocx("too large when unpacked")
    if MAIN_PART not in {entry.filename for entry in entries}:
        raise NotDocx("no word/document.xml")


def _environment() -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


def _template_line(traceback: TracebackType | None) -> int | None:
    """The template line of a runtime error, from the frames Jinja rewrites as "<template>"."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _body_lines(template: DocxTemplate) -> list[str]:
    """The body's text split the way docxtpl numbers lines (one paragraph per line)."""
    xml = template.patch_xml(template.get_xml())
    xml = re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)
    return [re.sub(r"<[^>]+>", "", line) for line in xml.splitlines()]


def _near(template: DocxTemplate, error: Exception, line: int | None) -> str:
    if line is None:
        return ""
    context = getattr(error, "docx_context", None)
    if context is not None:
        lines = list(context)
        index = min(line - 1, 3)
    else:
        try:
            lines, index = _body_lines(template), line - 1
        except Exception:  # the body itself is unreadable; the message is enough
            return ""
    text = lines[index].strip() if 0 <= index < len(lines) else ""
    return text[:NEAR_CHARS]


def render_docx(source: bytes | Path, context: dict[str, Any]) -> bytes:
    """Fill the template with ``context`` and return the DOCX bytes.

    Raises ``NotDocx`` for bytes that are not a Word file and ``TemplateBroken`` for a
    template that does not render.
    """
    from docxtpl import DocxTemplate
    from jinja2 import TemplateError, TemplateSyntaxError

    data = source.read_bytes() if isinstance(source, Path) else source
    check_docx(data)
    template = DocxTemplate(io.BytesIO(data))
    try:
        template.render(context, jinja_env=_environment(), autoescape=True)
        output = io.BytesIO()
        template.save(output)
    except TemplateSyntaxError as error:
        raise TemplateBroken(
            error.message or str(error),
            line=error.lineno,
            near=_near(template, error, error.lineno),
        ) from error
    except TemplateError as error:
        line = _template_line(error.__traceback__)
        raise TemplateBroken(
            error.message or str(error), line=line, near=_near(template, error, line)
        ) from error
    except Exception as error:  # a damaged file: lxml, zip or python-docx refused it
        raise TemplateBroken(f"{type(error).__name__}: {error}") from error
    return output.getvalue()
