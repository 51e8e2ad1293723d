"""Writes of mailings, by module: ``segments`` (segments, consent, the one-click
unsubscribe), ``mailings`` (a mailing's life: create, start, pause, resume, cancel),
``delivery`` (the send job's batches and the sweep) and ``inbound`` (replies and bounces of
a mailing's messages)."""

from crm.mailings.services.mailings import (
    mailing_cancel,
    mailing_create,
    mailing_pause,
    mailing_resume,
    mailing_start,
)
from crm.mailings.services.segments import (
    contact_consent_set,
    contact_point_unsubscribe,
    segment_create,
    segment_delete,
    segment_update,
)

__all__ = [
    "contact_consent_set",
    "contact_point_unsubscribe",
    "mailing_cancel",
    "mailing_create",
    "mailing_pause",
    "mailing_resume",
    "mailing_start",
    "segment_create",
    "segment_delete",
    "segment_update",
]
