"""What the API keeps between requests: the answers of POSTs sent with an Idempotency-Key."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotentRequest(models.Model):
    """The answer to one POST a user sent with an ``Idempotency-Key`` header.

    Written in the same transaction as the work the request did, so a committed write
    always has its answer stored (a retry after the connection dropped gets it back) and
    a rolled-back one leaves no row (a retry does the work). ``(user, key)`` is unique: of
    two requests with one key, the second waits on the first's row and then answers it.
    ``fingerprint`` (method, path, query and body) tells a retry from another request
    reusing the key. Rows older than ``CRM_API_IDEMPOTENCY_HOURS`` are pruned.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    status_code = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100)
    body = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotent request")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_user_key")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
