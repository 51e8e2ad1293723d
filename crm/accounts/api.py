"""REST API of the user directory: read-only colleagues' basic information and ``/me``."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import StringConstraints

from crm.accounts import selectors
from crm.accounts.models import User
from crm.core.api import READ_ERRORS, DatabaseId, Storable, request_user
from crm.core.pagination import MAX_LIMIT

router = Router(tags=["Users"])

Query100 = Annotated[str, StringConstraints(max_length=100), Storable]
Cursor = Annotated[str, StringConstraints(max_length=1000), Storable]


class TeamRefOut(Schema):
    id: int
    name: str


class UserOut(Schema):
    """A colleague as anyone signed in may see them."""

    id: int
    username: str
    first_name: str
    last_name: str
    full_name: str
    role: str
    position: str
    teams: list[TeamRefOut]
    is_active: bool

    @staticmethod
    def resolve_full_name(obj: User) -> str:
        return obj.get_full_name() or obj.username

    @staticmethod
    def resolve_teams(obj: Any) -> list[Any]:
        return list(obj.teams.all())


class UserPageOut(Schema):
    items: list[UserOut]
    next_cursor: str | None


class UserListParams(Schema):
    q: Query100 = ""
    cursor: Cursor | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


@router.get("", response={200: UserPageOut, **READ_ERRORS}, summary="List users")
def user_list(request: HttpRequest, params: Query[UserListParams]) -> Any:
    """Active colleagues by name (administrators also see deactivated users)."""
    return selectors.user_directory(
        actor=request_user(request), q=params.q, cursor=params.cursor, limit=params.limit
    )


@router.get("/me", response={200: UserOut, **READ_ERRORS}, summary="The calling user")
def user_me(request: HttpRequest) -> Any:
    """The user the token or session belongs to."""
    actor = request_user(request)
    return selectors.user_directory_get(actor=actor, pk=actor.pk)


@router.get("/{user_id}", response={200: UserOut, **READ_ERRORS}, summary="One user")
def user_detail(request: HttpRequest, user_id: DatabaseId) -> Any:
    return selectors.user_directory_get(actor=request_user(request), pk=user_id)
