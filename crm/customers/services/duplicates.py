"""Finding existing records that a new or edited contact or company would duplicate.

Exact matches (the same normalised phone, e-mail or ИНН within the same kind of record)
block a save unless the user explicitly chooses to save anyway. Near matches (names that
are alike, see ``core.matching``) are warnings with a score and reasons. The search covers
the whole base, but a record the actor may not see is reported without its details.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from crm.core.errors import Conflict
from crm.core.matching import (
    NEAR_MATCH_THRESHOLD,
    company_block_keys,
    person_lookup_keys,
    score_company,
    score_person,
)
from crm.core.normalize import format_phone
from crm.core.permissions import ScopedUser
from crm.customers.choices import ContactPointKind, Entity
from crm.customers.models import Company, Contact, ContactPoint, MatchKey

# Candidates scored per check: the records sharing the most name keys with the new one.
MAX_CANDIDATES = 30
# Contact-point rows read for exact matches (a switchboard number may be on many records).
MAX_EXACT_ROWS = 300
MAX_RESULTS = 10


@dataclass
class DuplicateCandidate:
    """An existing record that looks like the one being saved."""

    entity: str
    record_id: int
    name: str
    owner_name: str
    is_visible: bool
    is_exact: bool
    score: int
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "entity": self.entity,
            "id": self.record_id,
            "name": self.name if self.is_visible else "",
            "owner": self.owner_name,
            "visible": self.is_visible,
            "exact": self.is_exact,
            "score": self.score,
            "reasons": self.reasons,
        }


class DuplicateFound(Conflict):
    """Saving would create an exact duplicate; the candidates travel with the error."""

    def __init__(self, candidates: list[DuplicateCandidate]):
        self.candidates = candidates
        super().__init__(
            _("A record with the same phone, e-mail or ИНН already exists."),
            field_errors=_exact_field_errors(candidates),
            payload={"duplicates": [candidate.as_dict() for candidate in candidates]},
        )


def _exact_field_errors(candidates: list[DuplicateCandidate]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for candidate in candidates:
        if candidate.is_exact:
            for reason in candidate.reasons:
                errors.setdefault("duplicate", []).append(reason)
    return errors


def _candidate_rows(
    model: type[Contact] | type[Company],
    actor: ScopedUser,
    ids: set[int],
    ranked: QuerySet | None,
    fields: list[str],
) -> Iterator[tuple[Any, ...]]:
    """(pk, *fields, owner's name, whether ``actor`` may see it) of the live records ``ids``
    and of those ``ranked`` by shared keys (a subquery), in one query."""
    visible = model.objects.visible_to(actor).filter(pk=OuterRef("pk"))
    if ids and ranked is not None:
        # "pk IN (list) OR pk IN (subquery)" defeats the primary-key index on PostgreSQL
        # (a full scan); with exact matches present, read the ranked ids first.
        ids = ids | set(ranked)
        ranked = None
    wanted = Q(pk__in=ranked) if ranked is not None else Q(pk__in=ids)
    rows = (
        model.objects.live()
        .filter(wanted)
        .annotate(is_visible=Exists(visible))
        .values_list(
            "pk", *fields, "owner__first_name", "owner__last_name", "owner__username", "is_visible"
        )
    )
    for *values, owner_first, owner_last, owner_username, is_visible in rows:
        owner = f"{owner_first} {owner_last}".strip() or owner_username
        yield (*values, owner, is_visible)


def _point_reason(kind: str, value: str) -> str:
    if kind == ContactPointKind.PHONE:
        return _("Same phone %(value)s") % {"value": format_phone(value)}
    if kind == ContactPointKind.EMAIL:
        return _("Same e-mail %(value)s") % {"value": value}
    return _("Same messenger handle %(value)s") % {"value": value.split(":", 1)[-1]}


def _exact_by_points(
    owner_field: str, points: Iterable[tuple[str, str]], exclude_id: int | None
) -> dict[int, list[str]]:
    condition = Q(pk__in=[])
    for kind, value in points:
        condition |= Q(kind=kind, value=value)
    rows = (
        ContactPoint.objects.filter(condition)
        .filter(**{f"{owner_field}__isnull": False})
        .values_list(f"{owner_field}_id", "kind", "value")[:MAX_EXACT_ROWS]
    )
    found: dict[int, list[str]] = {}
    for record_id, kind, value in rows:
        if record_id != exclude_id:
            found.setdefault(record_id, []).append(_point_reason(kind, value))
    return found


def _ranked_by_keys(owner_field: str, keys: set[str], exclude_id: int | None) -> QuerySet | None:
    """Ids of records sharing a blocking key, most shared keys first, at most
    ``MAX_CANDIDATES``.

    A real duplicate written another way shares most of the keys of the new name; a namesake
    or a record that only starts alike shares one. Ties go to the oldest record, as in the
    final order of the candidates.
    """
    if not keys:
        return None
    id_field = f"{owner_field}_id"
    rows = MatchKey.objects.filter(key__in=sorted(keys), **{f"{id_field}__isnull": False})
    if exclude_id is not None:
        rows = rows.exclude(**{id_field: exclude_id})
    return (
        rows.order_by()
        .values(id_field)
        .annotate(shared=Count("*"))
        .order_by("-shared", id_field)
        .values_list(id_field, flat=True)[:MAX_CANDIDATES]
    )


# (id, name parts, owner's name, is visible, is exact, score, reasons) of a record that passed
Found = tuple[int, tuple[str, ...], str, bool, bool, int, list[str]]


def _candidates(
    entity: str, found: list[Found], display: Callable[[tuple[str, ...]], str]
) -> list[DuplicateCandidate]:
    """The best ``MAX_RESULTS`` of the records that passed (exact ones first), named with
    ``display``."""
    best = sorted(found, key=lambda row: (not row[4], -row[5], row[0]))[:MAX_RESULTS]
    return [
        DuplicateCandidate(
            entity=entity,
            record_id=pk,
            name=display(parts),
            owner_name=owner_name,
            is_visible=is_visible,
            is_exact=is_exact,
            score=score,
            reasons=reasons,
        )
        for pk, parts, owner_name, is_visible, is_exact, score, reasons in best
    ]


def _person_name(parts: tuple[str, ...]) -> str:
    return " ".join(part for part in parts if part)


def _company_name(parts: tuple[str, ...]) -> str:
    legal_name, short_name, legal_form = parts
    return Company(legal_name=legal_name, short_name=short_name, legal_form=legal_form).display_name


def contact_duplicates_find(
    *,
    actor: ScopedUser,
    last_name: str = "",
    first_name: str = "",
    middle_name: str = "",
    points: Iterable[tuple[str, str]] = (),
    exclude_id: int | None = None,
) -> list[DuplicateCandidate]:
    """Contacts that a contact with these names and contact points would duplicate.

    Near matches are the ``MAX_CANDIDATES`` contacts sharing the most name blocking keys,
    scored in Python on plain rows. At most four queries: contact points, keys, names with
    visibility, and the owners of those that pass.
    """
    exact = _exact_by_points("contact", points, exclude_id)
    keys = person_lookup_keys(last_name, first_name, middle_name)
    ranked = _ranked_by_keys("contact", keys, exclude_id)
    if not exact and ranked is None:
        return []
    rows = _candidate_rows(
        Contact, actor, set(exact), ranked, ["last_name", "first_name", "middle_name"]
    )
    new_name = (last_name, first_name, middle_name)
    found: list[Found] = []
    for pk, last, first, middle, owner_name, is_visible in rows:
        match = score_person(new_name, (last, first, middle))
        same_points = exact.get(pk, [])
        if not same_points and match.score < NEAR_MATCH_THRESHOLD:
            continue
        score = 100 if same_points else match.score
        reasons = [*same_points, *match.reasons]
        parts = (last, first, middle)
        found.append((pk, parts, owner_name, is_visible, bool(same_points), score, reasons))
    return _candidates(Entity.CONTACT, found, _person_name)


def company_duplicates_find(
    *,
    actor: ScopedUser,
    legal_name: str = "",
    short_name: str = "",
    inn: str = "",
    kpp: str = "",
    points: Iterable[tuple[str, str]] = (),
    exclude_id: int | None = None,
) -> list[DuplicateCandidate]:
    """Companies that a company with these names, ИНН and contact points would duplicate.

    The same ИНН with a different КПП is a branch of the same organisation, not a
    duplicate; it shows as a near match. Near matches by name are ranked like contacts'.
    """
    exact = _exact_by_points("company", points, exclude_id)
    branches: dict[int, list[str]] = {}
    if inn:
        for record_id, other_kpp in (
            Company.objects.live()
            .filter(inn=inn)
            .exclude(pk=exclude_id)
            .values_list("pk", "kpp")[:50]
        ):
            if kpp and other_kpp and kpp != other_kpp:
                branches.setdefault(record_id, []).append(
                    _("Same ИНН %(inn)s, another КПП (a branch?)") % {"inn": inn}
                )
            else:
                exact.setdefault(record_id, []).append(_("Same ИНН %(inn)s") % {"inn": inn})
    keys = company_block_keys(legal_name, short_name)
    ranked = _ranked_by_keys("company", keys, exclude_id)
    if not exact and not branches and ranked is None:
        return []
    rows = _candidate_rows(
        Company,
        actor,
        set(exact) | set(branches),
        ranked,
        ["legal_name", "short_name", "legal_form"],
    )
    found: list[Found] = []
    for pk, old_legal, old_short, legal_form, owner_name, is_visible in rows:
        best = max(
            (
                score_company(new, old)
                for new in (legal_name, short_name)
                if new
                for old in (old_legal, old_short)
                if old
            ),
            key=lambda m: m.score,
            default=None,
        )
        score = best.score if best else 0
        reasons = exact.get(pk, [])
        extra = branches.get(pk, [])
        if not reasons and not extra and score < NEAR_MATCH_THRESHOLD:
            continue
        found.append(
            (
                pk,
                (old_legal, old_short, legal_form),
                owner_name,
                is_visible,
                bool(reasons),
                100 if reasons else max(score, 85 if extra else 0),
                [*reasons, *extra, *(best.reasons if best else [])],
            )
        )
    return _candidates(Entity.COMPANY, found, _company_name)
