"""Fixtures of the planner tests: records to hang tasks on."""

from __future__ import annotations

import pytest

from crm.customers.tests.factories import make_company, make_contact


@pytest.fixture
def contact(org):
    """A contact of ``org.manager`` (seen by the manager, their head and the admin)."""
    return make_contact(org.manager, first_name="Анна", last_name="Клиентова")


@pytest.fixture
def company(org):
    return make_company(org.manager, legal_name="Ромашка")
