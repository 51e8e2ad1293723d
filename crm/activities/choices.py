"""Kinds of timeline entries."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryKind(models.TextChoices):
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    MEETING = "meeting", _("Meeting")
    FILE = "file", _("File")
    FIELD_CHANGE = "field_change", _("Field change")
    CREATED = "created", _("Created")
    MERGE = "merge", _("Merge")
    SYSTEM = "system", _("System")


class CallDirection(models.TextChoices):
    INCOMING = "incoming", _("Incoming")
    OUTGOING = "outgoing", _("Outgoing")
    MISSED = "missed", _("Missed")


MANUAL_KINDS = (EntryKind.NOTE, EntryKind.CALL, EntryKind.EMAIL, EntryKind.MEETING)
