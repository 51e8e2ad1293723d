"""Segments of clients: saved, named filters over contacts that mailings will be sent to.

Consent to mailings and the unsubscribe moment of each address are fields of the customer
base (``customers.Contact.consent_at``/``consent_source``,
``customers.ContactPoint.unsubscribed_at``); this app reads and writes them through its
services.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.core.models import TimeStampedModel


class Segment(TimeStampedModel):
    """A saved filter over contacts (and the contacts of the companies it matches).

    ``spec`` is the validated JSON of ``crm.mailings.spec`` (its keys are the filters); a
    segment is personal (its author sees and changes it) or shared (everyone sees it; the
    administrators and heads of sales change it). Whoever looks at a segment sees only the
    recipients in their own scope: the spec is applied to the contacts they may see.
    """

    name = models.CharField(_("name"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="segments",
        verbose_name=_("author"),
    )
    is_shared = models.BooleanField(_("shared"), default=False)
    spec = models.JSONField(_("filters"), default=dict, blank=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name"], name="segment_owner_name")]

    def __str__(self) -> str:
        return self.name
