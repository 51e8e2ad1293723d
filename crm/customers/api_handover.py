"""REST API of the handover of a leaving user's work: preview, start, poll.

The same services as the page (``customers.services.reassign``): a user or team the caller
may not hand over from or to answers 422 naming the field (``from_user``, ``to_user``,
``team``), as the page does; a handover the caller may not see answers 404; a role that may
not reassign answers 403.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from crm.core.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    DatabaseId,
    ErrorOut,
    InputSchema,
    request_user,
)
from crm.core.http import client_address
from crm.customers.models import BulkReassignment
from crm.customers.services import reassign as services

router = Router(tags=["Handover"])


class HandoverPreviewParams(Schema):
    from_user: DatabaseId


class HandoverIn(InputSchema):
    """Whose work, to ONE colleague (``to_user``) or spread over a team (``team``)."""

    from_user: DatabaseId
    to_user: DatabaseId | None = None
    team: DatabaseId | None = None
    include_closed: bool = False
    deactivate: bool = False


class HandoverCountsOut(Schema):
    """Per record kind (``contact``, ``company``, ``deal``, ``lead``, ``task``) what would
    move; ``deal_closed``: closed deals, moved only with ``include_closed``; ``shares``:
    records shared with the user (the shares are removed)."""

    counts: dict[str, int]


class HandoverOut(Schema):
    """A handover (or a plain reassignment) and its progress: ``status`` is ``queued``,
    ``running``, ``done``, ``failed`` or ``stalled`` (the worker died; nothing moved);
    ``counts`` what moved per kind, once done."""

    id: int
    status: str
    done: int
    total: int
    percent: int
    from_user: int
    receivers: list[int]
    include_closed: bool
    deactivate: bool
    counts: dict[str, int]
    error: str


def _out(row: BulkReassignment, progress: services.Progress) -> dict[str, Any]:
    return {
        "id": row.pk,
        "status": progress.status,
        "done": progress.done,
        "total": progress.total,
        "percent": progress.percent,
        "from_user": row.from_user_id,
        "receivers": [user.pk for user in services.handover_receivers_of(row)],
        "include_closed": bool(row.filters.get("include_closed")),
        "deactivate": bool(row.filters.get("deactivate")),
        "counts": row.counts,
        "error": row.error,
    }


@router.get(
    "/preview",
    response={200: HandoverCountsOut, 403: ErrorOut, **READ_ERRORS},
    summary="What a handover would move",
)
def handover_preview(request: HttpRequest, params: Query[HandoverPreviewParams]) -> Any:
    """Counts per kind of the user's work a handover moves."""
    actor = request_user(request)
    handover = services.handover_request_of(actor=actor, from_user_id=params.from_user)
    return {"counts": services.handover_preview(actor=actor, from_user=handover.from_user)}


@router.post(
    "", response={202: HandoverOut, **WRITE_ERRORS}, summary="Start a handover of a user's work"
)
def handover_start(request: HttpRequest, payload: HandoverIn) -> Any:
    """Queue the handover (one transaction in a background job); poll ``GET /{id}``."""
    actor = request_user(request)
    handover = services.handover_request_of(
        actor=actor,
        from_user_id=payload.from_user,
        to_user_id=payload.to_user,
        team_id=payload.team,
        include_closed=payload.include_closed,
        deactivate=payload.deactivate,
    )
    row = services.handover_start(actor=actor, request=handover, ip_address=client_address(request))
    return Status(202, _out(row, services.reassignment_progress(reassignment=row)))


@router.get(
    "/{handover_id}",
    response={200: HandoverOut, 403: ErrorOut, **READ_ERRORS},
    summary="A handover's progress",
)
def handover_status(request: HttpRequest, handover_id: DatabaseId) -> Any:
    """The handover's progress, and once done what moved per kind."""
    row, progress = services.reassignment_status(actor=request_user(request), pk=handover_id)
    return _out(row, progress)
