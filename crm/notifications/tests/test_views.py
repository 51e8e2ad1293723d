"""The notification centre in the browser: the bell's badge and drop-down, the list page,
opening and marking read. A user only ever sees their own notifications."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from conftest import client_for
from crm.notifications.models import Notification
from crm.notifications.tests.factories import make_many, make_notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    """These tests read English messages: pin the language (the default is Russian)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


LIST = reverse("notifications:notification_list")
BADGE = reverse("notifications:notification_badge")
MENU = reverse("notifications:notification_menu")
READ_ALL = reverse("notifications:notification_read_all")


def _open(notification):
    return reverse("notifications:notification_open", args=[notification.pk])


def _read(notification):
    return reverse("notifications:notification_read", args=[notification.pk])


# --- the bell ---------------------------------------------------------------------------------


def test_pages_show_the_bell_to_signed_in_users_only(org):
    page = client_for(org.manager).get(LIST).content.decode()
    login = client_for(None).get(reverse("accounts:login")).content.decode()

    assert 'id="notification-badge"' in page
    assert f'hx-get="{BADGE}"' in page
    assert "every 30s" in page
    assert "{#" not in page and "{% comment" not in page  # no template comment leaks out
    assert 'id="notification-badge"' not in login


def test_the_badge_counts_the_unread(org):
    make_many(org.manager, 3)
    make_notification(org.manager, read_at="2026-01-01T00:00:00Z")
    make_notification(org.colleague)

    response = client_for(org.manager).get(BADGE)

    assert response.status_code == 200
    assert ">3<" in response.content.decode()
    assert "no-cache" in response["Cache-Control"]


def test_the_badge_is_empty_without_unread_and_caps_at_99(org):
    assert "badge" not in client_for(org.manager).get(BADGE).content.decode()

    make_many(org.manager, 120)

    assert "99+" in client_for(org.manager).get(BADGE).content.decode()


def test_the_badge_poll_does_not_touch_the_session_or_set_cookies(org):
    client = client_for(org.manager)

    # The bell marks its poll as background, so the idle timer is not reset by it.
    response = client.get(BADGE, headers={"X-CRM-Background": "1"})

    assert response.status_code == 200
    assert not response.cookies  # the session is neither saved nor extended


def test_an_anonymous_poll_stops_the_polling(db):
    response = client_for(None).get(BADGE)

    assert response.status_code == 286
    assert response.content == b""


def test_the_drop_down_lists_the_latest_with_links(org):
    make_many(org.manager, 10)
    latest = make_notification(org.manager, title="Newest <script>alert(1)</script>")
    make_notification(org.colleague, title="Not yours")

    html = client_for(org.manager).get(MENU).content.decode()

    assert html.count('class="dropdown-item text-wrap') == 8
    assert _open(latest) in html
    assert "Newest &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "Not yours" not in html


# --- the page ---------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(db):
    response = client_for(None).get(LIST)

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_the_page_lists_own_notifications_escaped(org):
    make_notification(
        org.manager,
        title="<b>Deal</b> won",
        body="First line\n<img src=x onerror=alert(1)>",
        kind=Notification.Kind.STAGE,
    )
    make_notification(org.colleague, title="Colleague's")

    html = client_for(org.manager).get(LIST).content.decode()

    assert "&lt;b&gt;Deal&lt;/b&gt; won" in html
    assert "First line<br>&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Deal stage" in html
    assert "Colleague's" not in html


def test_the_unread_filter(org):
    make_notification(org.manager, title="Already seen", read_at="2026-01-01T00:00:00Z")
    make_notification(org.manager, title="Still new")

    html = client_for(org.manager).get(LIST, {"unread": "1"}).content.decode()

    assert "Still new" in html
    assert "Already seen" not in html


def test_pages_follow_each_other_without_gaps(org):
    make_many(org.manager, 35)
    client = client_for(org.manager)

    first = client.get(LIST)
    next_url = first.context["next_url"]
    second = client.get(LIST + next_url)

    titles = [item.title for item in first.context["page"].items] + [
        item.title for item in second.context["page"].items
    ]
    assert len(first.context["page"].items) == 30
    assert sorted(titles) == sorted(f"Notification {index}" for index in range(35))
    assert second.context["next_url"] == ""
    assert second.context["first_url"] == "?"


def test_a_forged_cursor_answers_400(org):
    response = client_for(org.manager).get(LIST, {"cursor": "garbage"})

    assert response.status_code == 400


def test_the_page_costs_the_same_queries_for_one_and_for_many(org, django_assert_num_queries):
    make_notification(org.manager)
    client = client_for(org.manager)
    client.get(LIST)
    with CaptureQueriesContext(connection) as one:
        assert client.get(LIST).status_code == 200

    make_many(org.manager, 25)

    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(LIST)
    assert len(response.context["page"].items) == 26


# --- opening and marking read ------------------------------------------------------------------


def test_opening_marks_read_and_goes_to_the_subject(org):
    notification = make_notification(org.manager, url="/customers/contacts/7/")

    response = client_for(org.manager).get(_open(notification))

    assert response.status_code == 302
    assert response["Location"] == "/customers/contacts/7/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_one_without_a_link_or_with_a_foreign_one_goes_to_the_list(org):
    plain = make_notification(org.manager)
    foreign = make_notification(org.manager, url="//evil.example/")  # written around notify

    client = client_for(org.manager)

    assert client.get(_open(plain))["Location"] == LIST
    assert client.get(_open(foreign))["Location"] == LIST


def test_another_users_notification_answers_404_and_stays_unread(org):
    theirs = make_notification(org.colleague, url="/customers/contacts/7/")
    client = client_for(org.manager)

    assert client.get(_open(theirs)).status_code == 404
    assert client.post(_read(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_one_read(org):
    notification = make_notification(org.manager)

    response = client_for(org.manager).post(_read(notification), {"next": LIST + "?unread=1"})

    assert response.status_code == 302
    assert response["Location"] == LIST + "?unread=1"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_marking_one_read_from_htmx_refreshes_the_badge(org):
    notification = make_notification(org.manager)

    response = client_for(org.manager).post(_read(notification), headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response["HX-Trigger"] == "notifications-changed"


def test_mark_all_read_touches_only_own(org):
    make_many(org.manager, 3)
    theirs = make_notification(org.colleague)

    response = client_for(org.manager).post(READ_ALL, {"next": "https://evil.example/"})

    assert response.status_code == 302
    assert response["Location"] == LIST
    assert not Notification.objects.filter(recipient=org.manager, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_from_the_drop_down_answers_with_the_drop_down(org):
    make_many(org.manager, 2)

    response = client_for(org.manager).post(READ_ALL, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Trigger"] == "notifications-changed"
    assert "All notifications" in response.content.decode()
    assert 'fw-semibold" href' not in response.content.decode()


@pytest.mark.parametrize("name", ["notification_read_all", "notification_read"])
def test_marking_read_needs_post(org, name):
    notification = make_notification(org.manager)
    args = [notification.pk] if name == "notification_read" else []

    response = client_for(org.manager).get(reverse(f"notifications:{name}", args=args))

    assert response.status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None
