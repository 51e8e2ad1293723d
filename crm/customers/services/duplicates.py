"""Finding existing records that a new or edited contact or company would duplicate.

Exact matches (the same normalised phone, e-mail or ИНН within the same kind of record)
block a save unless the user explicitly chooses to save anyway. Near matches (names that
are alike, see ``core.matching``) are warnings with a score and reasons. The search covers
the whole base, but a record the actor may not see is reported without its details.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext as _

from crm.core.errors import Conflict
from crm.core.matching import (
    NEAR_MATCH_THRESHOLD,
    company_block_keys,
    person_block_keys,
    score_company,
    score_person,
)
from crm.core.normalize import format_phone
from crm.core.permissions import ScopedUser
from crm.customers.choices import ContactPointKind, Entity
from crm.customers.models import Company, Contact, ContactPoint, MatchKey

MAX_CANDIDATES = 300
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


def _visible_ids(
    model: type[Contact] | type[Company], actor: ScopedUser, ids: Iterable[int]
) -> set[int]:
    return set(
        model.objects.visible_to(actor).filter(pk__in=list(ids)).values_list("pk", flat=True)
    )


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
        .values_list(f"{owner_field}_id", "kind", "value")[:MAX_CANDIDATES]
    )
    found: dict[int, list[str]] = {}
    for record_id, kind, value in rows:
        if record_id != exclude_id:
            found.setdefault(record_id, []).append(_point_reason(kind, value))
    return found


def contact_duplicates_find(
    *,
    actor: ScopedUser,
    last_name: str = "",
    first_name: str = "",
    middle_name: str = "",
    points: Iterable[tuple[str, str]] = (),
    exclude_id: int | None = None,
) -> list[DuplicateCandidate]:
    """Contacts that a contact with these names and contact points would duplicate."""
    exact = _exact_by_points("contact", points, exclude_id)
    keys = (
        person_block_keys(last_name, first_name, middle_name) if first_name or last_name else set()
    )
    near_ids: set[int] = set()
    if keys:
        near_ids = set(
            MatchKey.objects.filter(key__in=keys, contact__isnull=False)
            .exclude(contact_id=exclude_id)
            .values_list("contact_id", flat=True)[:MAX_CANDIDATES]
        )
    ids = set(exact) | near_ids
    if not ids:
        return []
    rows = (
        Contact.objects.live()
        .filter(pk__in=ids)
        .select_related("owner")
        .only(
            "id",
            "last_name",
            "first_name",
            "middle_name",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
        )
    )
    visible = _visible_ids(Contact, actor, ids)
    new_name = (last_name, first_name, middle_name)
    result = []
    for contact in rows:
        match = score_person(new_name, (contact.last_name, contact.first_name, contact.middle_name))
        reasons = exact.get(contact.pk, [])
        if not reasons and match.score < NEAR_MATCH_THRESHOLD:
            continue
        result.append(
            DuplicateCandidate(
                entity=Entity.CONTACT,
                record_id=contact.pk,
                name=contact.full_name,
                owner_name=str(contact.owner),
                is_visible=contact.pk in visible,
                is_exact=bool(reasons),
                score=100 if reasons else match.score,
                reasons=[*reasons, *match.reasons],
            )
        )
    return sorted(result, key=lambda c: (not c.is_exact, -c.score, c.record_id))[:MAX_RESULTS]


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
    duplicate; it shows as a near match.
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
    near_ids: set[int] = set()
    if keys:
        near_ids = set(
            MatchKey.objects.filter(key__in=keys, company__isnull=False)
            .exclude(company_id=exclude_id)
            .values_list("company_id", flat=True)[:MAX_CANDIDATES]
        )
    ids = set(exact) | near_ids | set(branches)
    if not ids:
        return []
    rows = (
        Company.objects.live()
        .filter(pk__in=ids)
        .select_related("owner")
        .only(
            "id",
            "legal_name",
            "short_name",
            "legal_form",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
        )
    )
    visible = _visible_ids(Company, actor, ids)
    result = []
    for company in rows:
        best = max(
            (
                score_company(new, old)
                for new in (legal_name, short_name)
                if new
                for old in (company.legal_name, company.short_name)
                if old
            ),
            key=lambda m: m.score,
            default=None,
        )
        score = best.score if best else 0
        reasons = exact.get(company.pk, [])
        extra = branches.get(company.pk, [])
        if not reasons and not extra and score < NEAR_MATCH_THRESHOLD:
            continue
        result.append(
            DuplicateCandidate(
                entity=Entity.COMPANY,
                record_id=company.pk,
                name=company.display_name,
                owner_name=str(company.owner),
                is_visible=company.pk in visible,
                is_exact=bool(reasons),
                score=100 if reasons else max(score, 85 if extra else 0),
                reasons=[*reasons, *extra, *(best.reasons if best else [])],
            )
        )
    return sorted(result, key=lambda c: (not c.is_exact, -c.score, c.record_id))[:MAX_RESULTS]
