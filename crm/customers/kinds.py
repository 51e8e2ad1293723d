"""The kinds of customer: what differs between a contact and a company, one object each.

The services, selectors, pages and API of the customer base are written once over a
``CustomerKind``; a third kind of customer would be a third object here (with its model,
cleaner, duplicate finder, form, schemas and template fragments), not a third copy of the
code. The page and API layers add their own parts of the configuration (the form and the
template fragments in ``views/customer_pages.py``, the schemas in ``api.py``), keyed by
the same kind, so this module stays free of adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from crm.core.matching import company_block_keys, person_block_keys
from crm.customers.choices import Entity, LegalForm
from crm.customers.models import Company, Contact
from crm.customers.services.cleaning import CleanCustomer, clean_company, clean_contact
from crm.customers.services.duplicates import (
    DuplicateCandidate,
    company_duplicates_find,
    contact_duplicates_find,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

RecordT = TypeVar("RecordT", Contact, Company)


@dataclass(frozen=True, eq=False)
class CustomerKind(Generic[RecordT]):
    """One kind of customer record: its model and the fields and rules that differ.

    ``entity`` names the kind everywhere a string does: URL names
    (``customers:<entity>_detail``), templates, custom field definitions, the foreign key
    of contact points, addresses and match keys.
    """

    entity: str
    model: type[RecordT]
    plural: StrOrPromise
    """The kind's name in titles: "Contacts"."""
    type_field: str
    """The column holding the client type (``client_type``, or a company's ``kind``)."""
    duplicate_fields: tuple[str, ...]
    """What the duplicate finder compares besides contact points (keyword arguments)."""
    name_fields: tuple[str, ...]
    """The fields whose blocking keys (``block_keys``) find near duplicates: the name and,
    for a contact, the birthday."""
    search_fields: tuple[str, ...]
    """The fields folded into ``search_text`` (with the e-mails)."""
    name_parts: Callable[[Any], tuple[str, ...]]
    """The parts of a record's name whose words go into ``name_words``."""
    fields: tuple[str, ...]
    """The record's own scalar fields in display order: their changes go on the timeline,
    the merge form offers a choice for each (with the responsible)."""
    orders: dict[str, list[str]]
    number_fields: dict[str, tuple[int, ...]]
    """Fields a search for digits of these lengths also matches exactly (a company's ИНН)."""
    clean: Callable[..., CleanCustomer]
    block_keys: Callable[..., set[str]]
    duplicates_find: Callable[..., list[DuplicateCandidate]]
    created_title: str
    """The timeline title of a new record (a message id, translated when shown)."""
    not_found: StrOrPromise

    def clean_for_update(
        self, record: RecordT, data: dict[str, Any], *, partial: bool
    ) -> CleanCustomer:
        """Clean input that changes ``record``: its custom values, client type and name
        parts are the defaults of what the input leaves out."""
        return self.clean(
            data,
            previous_custom=record.custom,
            previous={name: getattr(record, name) for name in self.name_fields},
            partial=partial,
            type_default=getattr(record, self.type_field),
        )

    def duplicate_values(
        self, values: dict[str, Any], record: Contact | Company | None
    ) -> dict[str, Any]:
        """The duplicate finder's arguments: from ``values``, else from ``record``."""
        return {
            name: values[name] if record is None else values.get(name, getattr(record, name))
            for name in self.duplicate_fields
        }


CONTACT: CustomerKind[Contact] = CustomerKind(
    entity=Entity.CONTACT,
    model=Contact,
    plural=_("Contacts"),
    type_field="client_type",
    duplicate_fields=("last_name", "first_name", "middle_name", "birthday"),
    name_fields=("last_name", "first_name", "middle_name", "birthday"),
    search_fields=("last_name", "first_name", "middle_name"),
    name_parts=lambda contact: (contact.last_name, contact.first_name, contact.middle_name),
    fields=(
        "client_type",
        "last_name",
        "first_name",
        "middle_name",
        "birthday",
        "source",
        "preferences",
        "notes",
    ),
    orders={"new": ["-created_at", "-id"], "name": ["last_name", "first_name", "id"]},
    number_fields={},
    clean=clean_contact,
    block_keys=person_block_keys,
    duplicates_find=contact_duplicates_find,
    created_title=gettext_noop("Contact created"),
    not_found=_("Contact not found."),
)

COMPANY: CustomerKind[Company] = CustomerKind(
    entity=Entity.COMPANY,
    model=Company,
    plural=_("Companies"),
    type_field="kind",
    duplicate_fields=("legal_name", "short_name", "inn", "kpp"),
    name_fields=("legal_name", "short_name"),
    search_fields=("legal_name", "short_name", "inn"),
    name_parts=lambda company: company_name_parts(
        company.legal_name, company.short_name, company.legal_form
    ),
    fields=(
        "kind",
        "legal_name",
        "short_name",
        "legal_form",
        "inn",
        "kpp",
        "ogrn",
        "website",
        "industry",
        "source",
        "notes",
    ),
    orders={"new": ["-created_at", "-id"], "name": ["legal_name", "id"]},
    number_fields={"inn": (10, 12)},
    clean=clean_company,
    block_keys=company_block_keys,
    duplicates_find=company_duplicates_find,
    created_title=gettext_noop("Company created"),
    not_found=_("Company not found."),
)


def company_name_parts(legal_name: str, short_name: str, legal_form: str) -> tuple[str, ...]:
    """A company's name parts for ``name_words``: its legal form as the card shows it
    («ООО Ромашка» finds ООО «Ромашка»), its legal name and its short name."""
    shown_form = "" if legal_form == LegalForm.OTHER else legal_form
    return (shown_form, legal_name, short_name)


KINDS: dict[str, CustomerKind[Contact] | CustomerKind[Company]] = {
    CONTACT.entity: CONTACT,
    COMPANY.entity: COMPANY,
}


def kind_of(record: Contact | Company) -> CustomerKind[Contact] | CustomerKind[Company]:
    """The kind of ``record``."""
    return KINDS[record.entity]
