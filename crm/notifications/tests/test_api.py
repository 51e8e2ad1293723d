"""The notifications API: the caller's own notifications, cursor pages, marking read."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.api.tests.conftest import ApiClient, token_for
from crm.notifications.models import Notification
from crm.notifications.tests.factories import make_many, make_notification

pytestmark = pytest.mark.django_db


def test_anonymous_gets_401(db):
    client = ApiClient()

    assert client.get("/notifications").status_code == 401
    assert client.post("/notifications/read", {"all": True}).status_code == 401


def test_the_list_holds_only_own_notifications_newest_first(org):
    older = make_notification(org.manager, title="Older", url="/customers/contacts/1/")
    newer = make_notification(org.manager, title="Newer", kind=Notification.Kind.LEAD)
    make_notification(org.colleague, title="Colleague's")

    response = ApiClient(token_for(org.manager)).get("/notifications")

    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == [newer.pk, older.pk]
    assert body["items"][0]["kind"] == "lead"
    assert body["items"][1]["url"] == "/customers/contacts/1/"
    assert body["items"][1]["read_at"] is None
    assert body["next_cursor"] is None


def test_cursor_pages_and_the_unread_filter(org):
    make_many(org.manager, 5)
    make_notification(org.manager, title="Seen", read_at="2026-01-01T00:00:00Z")
    client = ApiClient(token_for(org.manager))

    first = client.get("/notifications", limit=4).json()
    second = client.get("/notifications", limit=4, cursor=first["next_cursor"]).json()
    unread = client.get("/notifications", unread="true").json()

    assert len(first["items"]) == 4 and len(second["items"]) == 2
    assert second["next_cursor"] is None
    assert {item["id"] for item in first["items"]}.isdisjoint(
        item["id"] for item in second["items"]
    )
    assert len(unread["items"]) == 5
    assert "Seen" not in {item["title"] for item in unread["items"]}


def test_a_forged_cursor_answers_422(org):
    response = ApiClient(token_for(org.manager)).get("/notifications", cursor="garbage")

    assert response.status_code == 422
    assert "cursor" in response.json()["errors"]


def test_mark_read_by_ids(org):
    first, second, _third = make_many(org.manager, 3)

    response = ApiClient(token_for(org.manager)).post(
        "/notifications/read", {"ids": [first.pk, second.pk]}
    )

    assert response.status_code == 200
    assert response.json() == {"marked": 2}
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_mark_read_of_another_users_notification_answers_404_and_changes_nothing(org):
    mine = make_notification(org.manager)
    theirs = make_notification(org.colleague)

    response = ApiClient(token_for(org.manager)).post(
        "/notifications/read", {"ids": [mine.pk, theirs.pk]}
    )

    assert response.status_code == 404
    assert not Notification.objects.filter(read_at__isnull=False).exists()


def test_mark_all_read(org):
    make_many(org.manager, 3)
    theirs = make_notification(org.colleague)

    response = ApiClient(token_for(org.manager)).post("/notifications/read", {"all": True})

    assert response.json() == {"marked": 3}
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "ids"), ({"ids": []}, "ids"), ({"ids": [0]}, "ids[0]"), ({"every": True}, "every")],
)
def test_mark_read_refuses_bad_bodies(org, body, field):
    response = ApiClient(token_for(org.manager)).post("/notifications/read", body)

    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_the_list_costs_the_same_queries_for_one_and_for_many(org, django_assert_num_queries):
    make_notification(org.manager)
    client = ApiClient(token_for(org.manager))
    client.get("/notifications")  # warm caches (the token's last use)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/notifications", limit=200).status_code == 200

    make_many(org.manager, 30)

    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get("/notifications", limit=200)
    assert len(response.json()["items"]) == 31
