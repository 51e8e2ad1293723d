"""Refusals render the product's pages, not Django's bare ones."""

import pytest

from conftest import client_for

pytestmark = pytest.mark.django_db


def test_forbidden_page_is_the_products(org):
    response = client_for(org.manager).get("/accounts/users/")
    assert response.status_code == 403
    assert b"navbar" in response.content


def test_not_found_page_is_the_products(org):
    response = client_for(org.manager).get("/customers/contacts/999999/")
    assert response.status_code == 404
    assert b"navbar" in response.content
