"""The possible-duplicates page, the scan button, the merge page and undo, over HTTP."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import client_for
from crm.customers.choices import DuplicateStatus, Entity
from crm.customers.models import Contact, DuplicatePair, MergeRecord
from crm.customers.services import duplicates_scan
from crm.customers.tests.factories import make_company, make_contact

LIST_URL = reverse("customers:duplicates")
SCAN_URL = reverse("customers:duplicate_scan")


def _pair(owner, *, last_name="Иванов", first_name="Иван"):
    first = make_contact(owner, last_name=last_name, first_name=first_name)
    second = make_contact(owner, last_name=last_name, first_name=first_name, middle_name="Петрович")
    return first, second


def _merge_url(first, second, entity="contact"):
    return reverse("customers:merge", args=[entity, first.pk, second.pk])


def test_anonymous_is_sent_to_sign_in(db):
    response = client_for(None).get(LIST_URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    ("role", "sees_team_pair", "sees_outsider_pair"),
    [
        ("admin", True, True),
        ("head", True, False),
        ("manager", True, False),
        ("colleague", False, False),
        ("viewer", True, False),
        ("outsider", False, True),
    ],
)
def test_list_shows_only_pairs_whose_both_records_are_visible(
    org, role, sees_team_pair, sees_outsider_pair
):
    # given a pair of the manager's contacts and a pair of the outsider's
    _pair(org.manager, last_name="Иванов", first_name="Иван")
    _pair(org.outsider, last_name="Сидоров", first_name="Пётр")
    duplicates_scan(entity=Entity.CONTACT)
    # when
    response = client_for(getattr(org, role)).get(LIST_URL)
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert ("Иванов Иван Петрович" in body) is sees_team_pair
    assert ("Сидоров Пётр Петрович" in body) is sees_outsider_pair


def test_a_pair_with_one_invisible_record_is_hidden(org):
    # given a manager's contact alike to the outsider's
    make_contact(org.manager, last_name="Иванов", first_name="Иван")
    make_contact(org.outsider, last_name="Иванов", first_name="Иван")
    duplicates_scan(entity=Entity.CONTACT)
    assert DuplicatePair.objects.count() == 1
    # when
    response = client_for(org.manager).get(LIST_URL)
    # then
    assert len(response.context["page"].items) == 0


def test_list_shows_company_pairs_with_inn(org):
    make_company(org.manager, legal_name="Ромашка", inn="7707083893")
    make_company(org.manager, legal_name="Romashka", legal_form="LLC", inn="7707083893")
    duplicates_scan(entity=Entity.COMPANY)
    response = client_for(org.manager).get(LIST_URL, {"entity": "company"})
    assert response.status_code == 200
    assert "7707083893" in response.content.decode()
    assert len(response.context["page"].items) == 1


def test_list_query_count_does_not_grow_with_pairs(org):
    # given one pair
    _pair(org.manager, last_name="Иванов", first_name="Иван")
    duplicates_scan(entity=Entity.CONTACT)
    client = client_for(org.head)
    client.get(LIST_URL)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(LIST_URL).context["page"].items) == 1
    # when four more pairs exist, with phones and places of work
    company = make_company(org.manager, legal_name="Альфа")
    for index, name in enumerate(["Петров", "Сидоров", "Кузнецов", "Орлов"]):
        make_contact(
            org.manager,
            last_name=name,
            first_name="Олег",
            phones=[f"+7916000000{index}"],
            employments=[{"company_id": company.pk}],
        )
        make_contact(org.colleague, last_name=name, first_name="Олег", emails=[f"{index}@x.ru"])
    duplicates_scan(entity=Entity.CONTACT)
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(LIST_URL).context["page"].items) == 5
    # then
    assert len(five) == len(one)


@pytest.mark.parametrize(
    ("role", "status"), [("manager", 403), ("viewer", 403), ("colleague", 403)]
)
def test_scan_is_refused_for_others_than_admin_and_head(org, role, status):
    response = client_for(getattr(org, role)).post(SCAN_URL, {"entity": "contact"})
    assert response.status_code == status


@pytest.mark.parametrize("role", ["admin", "head"])
def test_scan_runs_for_admin_and_head_and_the_page_reloads(
    org, role, django_capture_on_commit_callbacks
):
    # given
    _pair(org.manager)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(getattr(org, role)).post(
            SCAN_URL, {"entity": "contact"}, headers={"HX-Request": "true"}
        )
    # then
    assert response.status_code == 200
    assert 'id="scan-status"' in response.content.decode()
    assert DuplicatePair.objects.count() == 1
    poll = client_for(getattr(org, role)).get(
        LIST_URL, {"entity": "contact", "poll": "1"}, headers={"HX-Request": "true"}
    )
    assert poll["HX-Refresh"] == "true"


def test_a_running_scan_is_polled(org):
    # given a queued scan whose job has not run (on_commit callbacks are not executed)
    client = client_for(org.admin)
    client.post(SCAN_URL, {"entity": "contact"})
    # when
    response = client.get(LIST_URL)
    # then
    body = response.content.decode()
    assert 'hx-trigger="every 2s"' in body
    poll = client.get(LIST_URL, {"poll": "1"}, headers={"HX-Request": "true"})
    assert "HX-Refresh" not in poll


def test_dismiss_marks_the_pair_and_hides_it(org):
    # given
    _pair(org.manager)
    duplicates_scan(entity=Entity.CONTACT)
    pair = DuplicatePair.objects.get()
    url = reverse("customers:duplicate_dismiss", args=[pair.pk])
    # when
    response = client_for(org.manager).post(url, headers={"HX-Request": "true"})
    # then
    assert response.status_code == 200
    assert response.content == b""
    pair.refresh_from_db()
    assert (pair.status, pair.resolved_by) == (DuplicateStatus.DISMISSED, org.manager)
    assert len(client_for(org.manager).get(LIST_URL).context["page"].items) == 0


@pytest.mark.parametrize(("role", "status"), [("outsider", 404), ("viewer", 403)])
def test_dismiss_is_refused(org, role, status):
    _pair(org.manager)
    duplicates_scan(entity=Entity.CONTACT)
    pair = DuplicatePair.objects.get()
    url = reverse("customers:duplicate_dismiss", args=[pair.pk])
    response = client_for(getattr(org, role)).post(url)
    assert response.status_code == status
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.OPEN


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200),
        ("head", 200),
        ("manager", 200),
        ("viewer", 403),
        ("colleague", 404),
        ("outsider", 404),
    ],
)
def test_merge_page_permissions(org, role, status):
    first, second = _pair(org.manager)
    response = client_for(getattr(org, role)).get(_merge_url(first, second))
    assert response.status_code == status


def test_merge_page_404_for_bad_entity_and_same_record(org):
    first, _second = _pair(org.manager)
    client = client_for(org.manager)
    assert client.get(_merge_url(first, first)).status_code == 404
    assert client.get(_merge_url(first, _second, entity="deal")).status_code == 404


def test_merge_page_preselects_the_older_record_and_non_empty_values(org):
    # given
    first, second = _pair(org.manager)
    # when
    response = client_for(org.manager).get(_merge_url(second, first))
    # then
    preview = response.context["preview"]
    assert preview.default_survivor_id == first.pk
    middle = next(row for row in preview.fields if row.name == "middle_name")
    assert middle.default_id == second.pk
    body = response.content.decode()
    assert f'name="survivor" id="survivor-{first.pk}" value="{first.pk}" checked' in body


def test_merge_post_then_undo_end_to_end(org):
    # given
    first, second = _pair(org.manager)
    make_contact(org.manager, last_name="Other", first_name="Person")
    client = client_for(org.manager)
    # when merged keeping the second record with the first record's middle name (empty)
    response = client.post(
        _merge_url(first, second),
        {"survivor": second.pk, "choice-middle_name": first.pk},
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:contact_detail", args=[second.pk])
    second.refresh_from_db()
    first.refresh_from_db()
    assert first.merged_into == second
    assert second.middle_name == ""
    merge = MergeRecord.objects.get()
    message = next(iter(response.wsgi_request._messages))
    assert reverse("customers:merge_undo", args=[merge.pk]) in str(message)
    # and the undo page offers the button
    page = client.get(reverse("customers:merge_undo", args=[merge.pk]))
    assert page.status_code == 200
    assert "Undo the merge" in page.content.decode() or "Отменить" in page.content.decode()
    # when undone
    undo = client.post(reverse("customers:merge_undo", args=[merge.pk]))
    # then
    assert undo.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.merged_into is None
    assert second.middle_name == "Петрович"
    assert Contact.objects.live().count() == 3
    # and a second undo is refused
    again = client.post(reverse("customers:merge_undo", args=[merge.pk]))
    assert again.status_code == 409


def test_merge_post_without_survivor_is_422_and_changes_nothing(org):
    first, second = _pair(org.manager)
    response = client_for(org.manager).post(_merge_url(first, second), {"survivor": "x"})
    assert response.status_code == 422
    assert not MergeRecord.objects.exists()


def test_merge_post_by_viewer_is_403(org):
    first, second = _pair(org.manager)
    response = client_for(org.viewer).post(_merge_url(first, second), {"survivor": first.pk})
    assert response.status_code == 403
    assert not MergeRecord.objects.exists()


def test_undo_page_permissions(org):
    # given a merge by the manager
    first, second = _pair(org.manager)
    client_for(org.manager).post(_merge_url(first, second), {"survivor": first.pk})
    url = reverse("customers:merge_undo", args=[MergeRecord.objects.get().pk])
    # then
    assert client_for(org.outsider).get(url).status_code == 404
    assert client_for(org.outsider).post(url).status_code == 404
    assert client_for(org.viewer).post(url).status_code == 403
    assert client_for(None).post(url).status_code == 302
    assert client_for(org.head).post(url).status_code == 302


def test_undo_button_partial_renders_a_form(org):
    from django.template.loader import render_to_string

    html = render_to_string("partials/merge_undo_button.html", {"entry": {"data": {"merge_id": 7}}})
    assert reverse("customers:merge_undo", args=[7]) in html
    hidden = render_to_string(
        "partials/merge_undo_button.html",
        {"entry": {"data": {"merge_id": 7, "undone": True}}},
    )
    assert "form" not in hidden


# --- tiers and the merge of likely pairs -----------------------------------------------------

MERGE_PAIRS_URL = reverse("customers:duplicate_merge_pairs")


def _likely_and_possible(owner):
    """A likely pair (one person, a diminutive, the same birthday) and a possible one (a
    wife sharing the family phone)."""
    petr = make_contact(
        owner,
        last_name="Петров",
        first_name="Александр",
        birthday="1980-05-01",
        phones=["+79161234567"],
    )
    sasha = make_contact(owner, last_name="Petrov", first_name="Sasha", birthday="1980-05-01")
    wife = make_contact(
        owner,
        last_name="Петрова",
        first_name="Анна",
        birthday="1983-07-09",
        phones=["+79161234567"],
    )
    duplicates_scan(entity=Entity.CONTACT)
    likely = DuplicatePair.objects.get(tier="likely")
    possible = DuplicatePair.objects.get(tier="possible")
    return (petr, sasha, wife), likely, possible


def test_the_tiers_are_shown_apart_with_reasons_in_words(org):
    (_petr, _sasha, wife), likely, possible = _likely_and_possible(org.manager)
    client = client_for(org.manager)
    # when
    likely_page = client.get(LIST_URL)
    possible_page = client.get(LIST_URL, {"tier": "possible"})
    # then
    assert [pair.pk for pair in likely_page.context["page"].items] == [likely.pk]
    assert [pair.pk for pair in possible_page.context["page"].items] == [possible.pk]
    assert "имя Александр ≈ Sasha" in likely_page.content.decode()  # in the default language
    assert MERGE_PAIRS_URL in likely_page.content.decode()
    body = possible_page.content.decode()
    assert str(wife) in body
    assert "разные имена" in body


def test_an_unknown_tier_is_400_naming_the_field(org):
    response = client_for(org.manager).get(LIST_URL, {"tier": "maybe"})
    assert response.status_code == 400
    assert "tier" in response.content.decode()


def test_a_likely_pair_merges_in_one_click_with_a_report(org):
    (petr, sasha, _wife), likely, _possible = _likely_and_possible(org.manager)
    # when
    response = client_for(org.manager).post(
        MERGE_PAIRS_URL, {"entity": "contact", "pair": [likely.pk]}
    )
    # then the older record stays and the report links the undo
    assert response.status_code == 200
    report = response.context["report"]
    assert [done.pair_id for done in report.merged] == [likely.pk]
    assert report.refused == []
    sasha.refresh_from_db()
    assert sasha.merged_into_id == petr.pk
    merge = MergeRecord.objects.get()
    assert reverse("customers:merge_undo", args=[merge.pk]) in response.content.decode()


def test_bulk_merge_merges_each_pair_and_reports_the_refused(org):
    # given a likely pair of the manager's, a likely pair of the outsider's (which the
    # manager may not see) and a possible pair
    (_petr, _sasha, _wife), likely, possible = _likely_and_possible(org.manager)
    hidden_first = make_contact(org.outsider, last_name="Сидоров", first_name="Пётр")
    hidden_second = make_contact(org.outsider, last_name="Sidorov", first_name="Petr")
    duplicates_scan(entity=Entity.CONTACT)
    hidden = DuplicatePair.objects.get(contact_a=hidden_first, contact_b=hidden_second)
    assert hidden.tier == "likely"
    # when
    response = client_for(org.manager).post(
        MERGE_PAIRS_URL, {"entity": "contact", "pair": [likely.pk, hidden.pk, possible.pk]}
    )
    # then the visible likely pair merged, the others were refused and left as they were
    report = response.context["report"]
    assert [done.pair_id for done in report.merged] == [likely.pk]
    assert [refusal.pair_id for refusal in report.refused] == [hidden.pk, possible.pk]
    assert "Сидоров" not in response.content.decode()
    assert MergeRecord.objects.count() == 1
    assert (
        not Contact.objects.filter(pk__in=[hidden_first.pk, hidden_second.pk])
        .exclude(merged_into=None)
        .exists()
    )
    assert DuplicatePair.objects.get(pk=hidden.pk).status == DuplicateStatus.OPEN


def test_bulk_merge_of_a_chain_merges_the_re_pointed_pair(org):
    # given three records of one person: three likely pairs
    records = [
        make_contact(org.manager, last_name=last, first_name=first, birthday="1980-05-01")
        for last, first in (("Петров", "Александр"), ("Petrov", "Sasha"), ("Петров", "Саша"))
    ]
    duplicates_scan(entity=Entity.CONTACT)
    pairs = list(DuplicatePair.objects.filter(tier="likely").order_by("pk"))
    assert len(pairs) == 3
    # when all are merged at once
    response = client_for(org.manager).post(
        MERGE_PAIRS_URL, {"entity": "contact", "pair": [pair.pk for pair in pairs]}
    )
    # then two merges left one record; the third pair was already merged with them
    report = response.context["report"]
    assert len(report.merged) == 2
    assert len(report.refused) == 1
    survivors = Contact.objects.filter(pk__in=[r.pk for r in records], merged_into=None)
    assert list(survivors) == [records[0]]


@pytest.mark.parametrize("pairs", [[], ["x"], [str(n) for n in range(1, 102)]])
def test_bulk_merge_without_a_selection_or_with_too_many_is_422_naming_the_field(org, pairs):
    response = client_for(org.manager).post(MERGE_PAIRS_URL, {"entity": "contact", "pair": pairs})
    assert response.status_code == 422
    assert set(response.context["error"].field_errors) == {"pair"}


def test_bulk_merge_by_a_viewer_is_403_and_merges_nothing(org):
    _records, likely, _possible = _likely_and_possible(org.manager)
    response = client_for(org.viewer).post(
        MERGE_PAIRS_URL, {"entity": "contact", "pair": [likely.pk]}
    )
    assert response.status_code == 403
    assert not MergeRecord.objects.exists()
