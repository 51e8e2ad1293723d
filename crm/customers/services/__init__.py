"""Writes to the customer base. Import the functions from here."""

from crm.customers.services.duplicates import (
    DuplicateCandidate,
    DuplicateFound,
    company_duplicates_find,
    contact_duplicates_find,
)
from crm.customers.services.merge import (
    company_merge,
    contact_merge,
    customer_merge,
    merge_undo,
)
from crm.customers.services.records import (
    company_create,
    company_update,
    contact_create,
    contact_update,
    customer_check_visible,
    customer_check_writable,
    customer_create,
    customer_share,
    customer_update,
)
from crm.customers.services.scan import (
    duplicate_pair_dismiss,
    duplicates_scan,
    duplicates_scan_changes,
    duplicates_scan_start,
)
from crm.customers.services.timeline import customer_timeline_add

__all__ = [
    "DuplicateCandidate",
    "DuplicateFound",
    "company_create",
    "company_duplicates_find",
    "company_merge",
    "company_update",
    "contact_create",
    "contact_duplicates_find",
    "contact_merge",
    "contact_update",
    "customer_check_visible",
    "customer_check_writable",
    "customer_create",
    "customer_merge",
    "customer_share",
    "customer_timeline_add",
    "customer_update",
    "duplicate_pair_dismiss",
    "duplicates_scan",
    "duplicates_scan_changes",
    "duplicates_scan_start",
    "merge_undo",
]
