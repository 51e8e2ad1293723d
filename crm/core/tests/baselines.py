"""Exact query-count baselines of pages and API lists (a test-only helper).

A baseline test reads a page with one row, then with fifty, and pins the same exact number of
queries both times: a change that adds a query to the page, or a query per row, fails it. The
number is written in the test so that a reviewer sees what a change costs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def read_pinned(fetch: Callable[[], Any], queries: int, assert_num_queries: Any) -> Any:
    """Call ``fetch`` (one GET) once to warm the process-wide caches (content types), then
    again with exactly ``queries`` queries; the answer must be 200. Returns that answer."""
    fetch()
    with assert_num_queries(queries):
        response = fetch()
    assert response.status_code == 200, response.content[:500]
    return response


def one_then_fifty(
    build: Callable[[int], object], queries: int, fetch: Callable[[], Any], assert_num_queries: Any
) -> Any:
    """``build(0)`` and read with exactly ``queries`` queries; ``build(1)`` … ``build(49)`` and
    read again with the same number. Returns the second answer (to check it shows the rows)."""
    build(0)
    read_pinned(fetch, queries, assert_num_queries)
    for index in range(1, 50):
        build(index)
    return read_pinned(fetch, queries, assert_num_queries)


def keyset_list_of_fifty(
    client: Any, url: str, build: Callable[[int], object], queries: int, assert_num_queries: Any
) -> Any:
    """``one_then_fifty`` for a paged list page (``context["page"]``): its first page must
    then show all fifty rows. Returns the answer."""
    response = one_then_fifty(build, queries, lambda: client.get(url), assert_num_queries)
    assert len(response.context["page"].items) == 50
    return response
