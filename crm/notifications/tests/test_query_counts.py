"""Exact query-count baselines of the notification pages: the list and the bell's menu, the
same pinned number of queries for one notification and for fifty (read and unread, kinds)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from crm.core.tests.baselines import one_then_fifty
from crm.notifications.models import Notification
from crm.notifications.tests.factories import make_notification

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _notification(org, index: int) -> Notification:
    return make_notification(
        org.manager,
        kind=(Notification.Kind.SYSTEM, Notification.Kind.REMINDER)[index % 2],
        title=f"Событие {index}",
        url=f"/tasks/{index}/" if index % 3 else "",
        read_at=timezone.now() if index % 4 == 0 else None,
    )


@pytest.mark.parametrize(
    ("name", "headers"),
    [("notifications:notification_list", {}), ("notifications:notification_menu", HTMX)],
)
def test_notification_pages(org, name, headers, django_assert_num_queries):
    client, url = client_for(org.manager), reverse(name)
    response = one_then_fifty(
        lambda index: _notification(org, index),
        3,
        lambda: client.get(url, **headers),
        django_assert_num_queries,
    )
    assert "Событие 49" in response.content.decode()
