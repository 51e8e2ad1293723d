"""What the API declares in the registry (``crm.core.records``): pruning old idempotency keys."""

from __future__ import annotations

from crm.api.idempotency import idempotency_prune
from crm.core.records import Sweep

CONTRIBUTIONS = [Sweep("api.idempotency_prune", 3600, idempotency_prune)]
