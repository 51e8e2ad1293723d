"""The segment pages: the list, the editor with its live count, saving, deleting, and who
may do what."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import client_for
from crm.mailings.models import Segment
from crm.mailings.services import segment_create
from crm.mailings.tests.conftest import contact_with


@pytest.fixture
def shared(org):
    return segment_create(
        actor=org.admin, name="Все с почтой", spec={"has_email": True}, is_shared=True
    )


@pytest.fixture
def personal(org):
    return segment_create(actor=org.manager, name="Мои VIP", spec={"tags": ["VIP"]})


def figures(content: bytes) -> tuple[int, int]:
    text = content.decode()
    recipients = re.search(r'id="segment-recipients">([\d\s\xa0,]+)<', text).group(1)
    total = re.search(r'id="segment-total">([\d\s\xa0,]+)<', text).group(1)
    return int(re.sub(r"\D", "", recipients)), int(re.sub(r"\D", "", total))


def test_the_list_shows_shared_and_own_segments(org, shared, personal):
    mine = client_for(org.manager).get("/mailings/segments/")
    assert mine.status_code == 200
    assert "Все с почтой" in mine.content.decode() and "Мои VIP" in mine.content.decode()
    theirs = client_for(org.colleague).get("/mailings/segments/").content.decode()
    assert "Все с почтой" in theirs and "Мои VIP" not in theirs


def test_someone_elses_personal_segment_answers_404(org, personal):
    assert client_for(org.colleague).get(f"/mailings/segments/{personal.pk}/").status_code == 404
    assert client_for(org.admin).get(f"/mailings/segments/{personal.pk}/").status_code == 404
    assert (
        client_for(org.colleague).post(f"/mailings/segments/{personal.pk}/delete/").status_code
        == 404
    )
    assert Segment.objects.filter(pk=personal.pk).exists()


def test_live_count_follows_the_filters(org):
    contact_with(org.manager, last_name="Вип", tags=["VIP"])
    contact_with(org.manager, None, last_name="Без почты", tags=["VIP"])
    contact_with(org.manager, last_name="Простой")
    client = client_for(org.manager)
    assert figures(client.get("/mailings/segments/count/").content) == (2, 3)
    assert figures(client.get("/mailings/segments/count/", {"tags": "VIP"}).content) == (1, 2)
    assert figures(
        client.get("/mailings/segments/count/", {"tags": "VIP", "has_email": "no"}).content
    ) == (0, 1)


def test_live_count_of_bad_input_is_422_naming_it(org):
    response = client_for(org.manager).get("/mailings/segments/count/", {"no_touch_days": "0"})
    assert response.status_code == 422
    response = client_for(org.manager).get("/mailings/segments/count/", {"owner": "99999999"})
    assert response.status_code == 422


def test_the_count_costs_the_same_for_one_and_many_rows(org):
    client = client_for(org.manager)
    contact_with(org.manager, last_name="Один")
    client.get("/mailings/segments/count/")
    with CaptureQueriesContext(connection) as one:
        client.get("/mailings/segments/count/")
    for index in range(8):
        contact_with(
            org.manager,
            last_name=f"Ещё{index}",
            tags=["x"],
            emails=[f"e{index}@x.ru", f"f{index}@x.ru"],
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get("/mailings/segments/count/")
    assert figures(response.content) == (9, 9)
    assert len(many) == len(one)


def test_more_recipients_by_cursor(org):
    for index in range(25):
        contact_with(org.manager, last_name=f"Н{index}")
    client = client_for(org.manager)
    first = client.get("/mailings/segments/count/").content.decode()
    assert first.count('href="/customers/contacts/') == 20
    cursor = re.search(r"cursor=([^\"&]+)", first).group(1)
    more = client.get(f"/mailings/segments/count/?cursor={cursor}").content.decode()
    assert more.count('href="/customers/contacts/') == 5


def test_saving_a_segment(org):
    client = client_for(org.manager)
    response = client.post(
        "/mailings/segments/new/",
        {"name": "Сайт", "source": "website", "has_email": "yes", "tags": "VIP, Опт"},
    )
    segment = Segment.objects.get()
    assert response.status_code == 302
    assert segment.owner == org.manager and not segment.is_shared
    assert segment.spec == {"source": "website", "has_email": True, "tags": ["VIP", "Опт"]}
    page = client.get(f"/mailings/segments/{segment.pk}/").content.decode()
    assert 'value="VIP, Опт"' in page


def test_a_manager_may_not_share(org):
    response = client_for(org.manager).post(
        "/mailings/segments/new/", {"name": "Все", "is_shared": "on"}
    )
    assert response.status_code == 422
    assert not Segment.objects.exists()


def test_no_name_is_refused(org):
    response = client_for(org.manager).post("/mailings/segments/new/", {"name": ""})
    assert response.status_code == 422
    assert not Segment.objects.exists()


def test_a_manager_sees_but_may_not_change_a_shared_segment(org, shared):
    client = client_for(org.manager)
    page = client.get(f"/mailings/segments/{shared.pk}/")
    assert page.status_code == 200
    assert "Save segment" not in page.content.decode()
    assert client.post(f"/mailings/segments/{shared.pk}/", {"name": "Моё"}).status_code == 403
    assert client.post(f"/mailings/segments/{shared.pk}/delete/").status_code == 403
    shared.refresh_from_db()
    assert shared.name == "Все с почтой"


def test_a_head_changes_and_deletes_a_shared_segment(org, shared):
    client = client_for(org.head)
    response = client.post(
        f"/mailings/segments/{shared.pk}/", {"name": "Переименован", "is_shared": "on"}
    )
    assert response.status_code == 302
    shared.refresh_from_db()
    assert shared.name == "Переименован" and shared.spec == {}
    assert client.post(f"/mailings/segments/{shared.pk}/delete/").status_code == 302
    assert not Segment.objects.exists()


def test_a_read_only_user_saves_no_segment(org):
    response = client_for(org.viewer).post("/mailings/segments/new/", {"name": "x"})
    assert response.status_code == 403
    assert not Segment.objects.exists()


def test_a_new_segment_starts_from_the_list_filters(org):
    page = client_for(org.manager).get(
        "/mailings/segments/new/", {"source": "website", "tag": "VIP"}
    )
    text = page.content.decode()
    assert 'value="VIP"' in text
    assert re.search(r'<option value="website" selected>', text)


def test_anonymous_is_sent_to_sign_in(db):
    assert client_for(None).get("/mailings/segments/").status_code == 302
    assert client_for(None).get("/mailings/segments/count/").status_code == 302


def test_the_list_costs_the_same_for_one_and_many_segments(org):
    client = client_for(org.manager)
    segment_create(actor=org.manager, name="Первый", spec={})
    client.get("/mailings/segments/")
    with CaptureQueriesContext(connection) as one:
        client.get("/mailings/segments/")
    for index in range(5):
        segment_create(actor=org.head, name=f"Общий {index}", spec={}, is_shared=True)
        segment_create(actor=org.manager, name=f"Мой {index}", spec={})
    with CaptureQueriesContext(connection) as many:
        page = client.get("/mailings/segments/")
    assert page.content.decode().count('href="/mailings/segments/') >= 11
    assert len(many) == len(one)
