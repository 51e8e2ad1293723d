"""``cached_random_reads``: the planner's page cost changes for the block only, inside an
outer transaction too, and an error leaves nothing behind."""

from __future__ import annotations

import pytest
from django.db import connection

from crm.core.sql import CACHED_RANDOM_PAGE_COST, cached_random_reads

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting"),
]


def page_cost() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('random_page_cost')")
        return str(cursor.fetchone()[0])


def test_the_cost_holds_inside_the_block_and_is_restored_after_it():
    before = page_cost()
    assert before != CACHED_RANDOM_PAGE_COST
    with cached_random_reads():
        assert page_cost() == CACHED_RANDOM_PAGE_COST
    assert page_cost() == before


def test_an_error_inside_the_block_leaves_the_cost_as_it_was():
    before = page_cost()
    with pytest.raises(ZeroDivisionError), cached_random_reads():
        assert page_cost() == CACHED_RANDOM_PAGE_COST
        _ = 1 / 0
    assert page_cost() == before
