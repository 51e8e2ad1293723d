"""Managing e-mail templates and previewing an e-mail against a record.

Shared templates (no owner) are the administrator's (``SHARED_TEMPLATES``); a personal one
belongs to the user who made it. A template is checked before it is saved: its subject is
one line, and both subject and body compile with the allowed tags and filters
(``crm.correspondence.rendering``); a refusal names the field (and the line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.permissions import ScopedUser, can_write
from crm.correspondence.choices import TemplateLanguage
from crm.correspondence.models import EmailTemplate
from crm.correspondence.permissions import SHARED_TEMPLATES
from crm.correspondence.rendering import Rendered, check_syntax, render_text, with_blanks
from crm.correspondence.services.placeholders import placeholder_values

NAME_MAX = 150
SUBJECT_MAX = 300
BODY_MAX = 20000
EDITABLE = ("name", "language", "subject", "body", "archived")


def has_line_break(text: str) -> bool:
    """Whether ``text`` would break a mail header (CR, LF or another line separator)."""
    return any(ch in text for ch in "\r\n\x0b\x0c\x85\u2028\u2029")


def _check_template(data: dict[str, Any]) -> dict[str, Any]:
    """Cleaned fields of a template; ``ValidationFailed`` naming every bad one."""
    errors: dict[str, list[str]] = {}
    name = str(data.get("name") or "").strip()
    subject = str(data.get("subject") or "")
    body = str(data.get("body") or "")
    language = str(data.get("language") or "")
    if not name:
        errors["name"] = [_("Name the template.")]
    elif len(name) > NAME_MAX or has_line_break(name):
        errors["name"] = [_("One line of at most %(n)d characters.") % {"n": NAME_MAX}]
    if language not in TemplateLanguage.values:
        errors["language"] = [_("Choose Russian or English.")]
    if not subject.strip():
        errors["subject"] = [_("Write the subject.")]
    elif has_line_break(subject):
        errors["subject"] = [_("The subject must be one line.")]
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = [_("At most %(n)d characters.") % {"n": SUBJECT_MAX}]
    if not body.strip():
        errors["body"] = [_("Write the text.")]
    elif len(body) > BODY_MAX:
        errors["body"] = [_("At most %(n)d characters.") % {"n": BODY_MAX}]
    for field_name, text in (("subject", subject), ("body", body)):
        if field_name not in errors:
            try:
                check_syntax(text, field_name=field_name)
            except ValidationFailed as error:
                errors.update(error.field_errors)
    if errors:
        raise ValidationFailed(_("Check the template."), field_errors=errors)
    return {
        "name": name,
        "language": language,
        "subject": subject.strip(),
        "body": body,
        "archived": bool(data.get("archived", False)),
    }


def _check_may_manage(actor: ScopedUser, template: EmailTemplate | None, shared: bool) -> None:
    if not actor.is_active:
        raise PermissionDenied(_("Your account is not active."))
    if shared:
        SHARED_TEMPLATES.check(actor)
    elif template is not None and template.owner_id != actor.pk:
        raise NotFound(_("Not found."))
    elif not can_write(actor):
        raise PermissionDenied(_("Your role may not write e-mails."))


@transaction.atomic
def email_template_create(
    *, actor: ScopedUser, data: dict[str, Any], shared: bool = False
) -> EmailTemplate:
    """Create a personal template of ``actor`` (or, with ``shared``, a shared one: an
    administrator's). Raises ``ValidationFailed`` naming the fields, ``PermissionDenied``."""
    _check_may_manage(actor, None, shared)
    fields = _check_template(data)
    return EmailTemplate.objects.create(**fields, owner_id=None if shared else actor.pk)


@transaction.atomic
def email_template_update(
    *, actor: ScopedUser, template: EmailTemplate, data: dict[str, Any]
) -> EmailTemplate:
    """Change a template ``actor`` manages (fields absent from ``data`` stay). A personal
    template of someone else is ``NotFound``; a shared one needs an administrator."""
    _check_may_manage(actor, template, template.is_shared)
    current = {name: getattr(template, name) for name in EDITABLE}
    fields = _check_template({**current, **{k: v for k, v in data.items() if k in EDITABLE}})
    for name, value in fields.items():
        setattr(template, name, value)
    template.updated_at = timezone.now()
    template.save()
    return template


@transaction.atomic
def email_template_delete(*, actor: ScopedUser, template: EmailTemplate) -> None:
    """Delete a template ``actor`` manages; the e-mails sent from it keep their text."""
    _check_may_manage(actor, template, template.is_shared)
    template.delete()


@dataclass
class Preview:
    """An e-mail rendered against a record: its subject and text (the unfilled placeholders
    left empty) and the placeholders that could not be filled, subject's first."""

    subject: Rendered
    body: Rendered

    @property
    def missing(self) -> list[str]:
        return [
            *self.subject.missing,
            *(n for n in self.body.missing if n not in self.subject.missing),
        ]


def email_render(
    *, actor: ScopedUser, record: Any, subject: str, body: str, language: str = ""
) -> Preview:
    """Render ``subject`` and ``body`` (template text) against ``record`` as written by
    ``actor``, in ``language`` (the template's; else the active one). Raises
    ``ValidationFailed`` naming ``subject`` or ``body`` (and the line) for a template that
    cannot be read. Precondition: ``record`` comes from ``selectors.record_for_mail``."""
    errors: dict[str, list[str]] = {}
    if has_line_break(subject):
        errors["subject"] = [_("The subject must be one line.")]
    if len(subject) > SUBJECT_MAX:
        errors["subject"] = [_("At most %(n)d characters.") % {"n": SUBJECT_MAX}]
    if len(body) > BODY_MAX:
        errors["body"] = [_("At most %(n)d characters.") % {"n": BODY_MAX}]
    if errors:
        raise ValidationFailed(_("Check the e-mail."), field_errors=errors)
    with translation.override(language or translation.get_language()):
        context, blanks = with_blanks(placeholder_values(record=record, manager=actor))
        rendered: dict[str, Rendered] = {}
        for field_name, text in (("subject", subject), ("body", body)):
            try:
                rendered[field_name] = render_text(text, context, blanks, field_name=field_name)
            except ValidationFailed as error:
                errors.update(error.field_errors)
    if errors:
        raise ValidationFailed(_("The template could not be read."), field_errors=errors)
    subject_line = rendered["subject"]
    subject_line.text = " ".join(subject_line.text.split())[:SUBJECT_MAX]
    return Preview(subject_line, rendered["body"])
