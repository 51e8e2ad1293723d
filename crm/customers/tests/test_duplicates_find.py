"""The duplicate check on save: exact matches by contact details or ИНН, near matches by
name ranked by shared blocking keys, and what an actor who may not see a record learns."""

from __future__ import annotations

import datetime as dt
from io import StringIO

from django.core.management import call_command
from django.utils import translation

from crm.core.matching import company_block_keys, person_block_keys
from crm.customers.choices import Entity
from crm.customers.models import Contact, MatchKey
from crm.customers.services import company_duplicates_find, contact_duplicates_find
from crm.customers.services.duplicates import MAX_CANDIDATES, MAX_KEY_HOLDERS
from crm.customers.services.records import match_keys_rebuild
from crm.customers.tests.factories import make_company, make_contact

VALID_INN = "7707083893"


def test_same_phone_and_name_is_an_exact_duplicate(org):
    # given
    existing = make_contact(org.manager, last_name="Сидоров", phones=["+7 912 000-00-01"])
    # when
    [candidate] = contact_duplicates_find(
        actor=org.manager,
        last_name="Сидоров",
        first_name="Ваня",
        points=[("phone", "+79120000001")],
    )
    # then
    assert (candidate.record_id, candidate.is_exact, candidate.score) == (existing.pk, True, 100)
    assert (candidate.entity, candidate.tier) == (Entity.CONTACT, "likely")
    assert any("912" in reason for reason in candidate.reasons)


def test_same_email_with_a_missing_first_name_is_an_exact_duplicate(org):
    existing = make_contact(org.manager, last_name="Сидоров", emails=["petr@example.com"])
    [candidate] = contact_duplicates_find(
        actor=org.manager, last_name="Sidorov", points=[("email", "petr@example.com")]
    )
    assert (candidate.record_id, candidate.is_exact) == (existing.pk, True)
    assert any("petr@example.com" in reason for reason in candidate.reasons)


def test_a_family_mailbox_is_evidence_not_an_exact_duplicate(org):
    # given the wife's record with the family mailbox and her birthday
    existing = make_contact(
        org.manager,
        last_name="Сидорова",
        first_name="Анна",
        birthday="1980-05-01",
        emails=["sidorovy@example.com"],
        addresses=["Москва, ул. Ленина, д. 5, кв. 12"],
    )
    # when the husband is checked with the same mailbox and address
    with translation.override("en"):
        [candidate] = contact_duplicates_find(
            actor=org.manager,
            last_name="Сидоров",
            first_name="Пётр",
            birthday=dt.date(1978, 2, 3),
            points=[("email", "sidorovy@example.com")],
            addresses=["г. Москва, Ленина 5-12"],
        )
    # then it is shown with its reasons but does not block the save
    assert (candidate.record_id, candidate.is_exact, candidate.tier) == (
        existing.pk,
        False,
        "possible",
    )
    assert "same e-mail sidorovy@example.com" in candidate.reasons
    assert {"different first names", "different birthdays", "same address"} <= set(
        candidate.reasons
    )


def test_same_inn_is_an_exact_company_duplicate(org):
    existing = make_company(org.manager, legal_name="Вектор", inn=VALID_INN)
    [candidate] = company_duplicates_find(actor=org.manager, legal_name="Альфа", inn=VALID_INN)
    assert (candidate.record_id, candidate.is_exact, candidate.entity) == (
        existing.pk,
        True,
        Entity.COMPANY,
    )
    assert candidate.name == "ООО «Вектор»"
    assert any(VALID_INN in reason for reason in candidate.reasons)


def test_names_written_differently_are_near_matches_with_reasons(org):
    # given
    ivanov = make_contact(
        org.manager, last_name="Иванов", first_name="Иван", middle_name="Петрович"
    )
    make_contact(org.manager, last_name="Сидорова", first_name="Мария")
    # when: another alphabet, word order and no patronymic
    found = contact_duplicates_find(actor=org.manager, last_name="Ivan", first_name="Ivanov")
    # then
    [candidate] = found
    assert candidate.record_id == ivanov.pk and not candidate.is_exact
    assert candidate.score >= 75 and candidate.reasons
    assert candidate.name == "Иванов Иван Петрович"
    assert candidate.owner_name == str(org.manager)


def test_company_name_with_another_legal_form_is_a_near_match(org):
    existing = make_company(org.manager, legal_name="Ромашка")
    [candidate] = company_duplicates_find(actor=org.manager, legal_name="Romashka LLC")
    assert (candidate.record_id, candidate.is_exact) == (existing.pk, False)
    assert candidate.reasons


def test_the_record_being_edited_is_not_its_own_duplicate(org):
    contact = make_contact(org.manager, last_name="Иванов", phones=["+79120000001"])
    found = contact_duplicates_find(
        actor=org.manager,
        last_name="Иванов",
        first_name="Иван",
        points=[("phone", "+79120000001")],
        exclude_id=contact.pk,
    )
    assert found == []


def test_an_invisible_candidate_is_reported_without_its_name(org):
    # given a contact of another team
    hidden = make_contact(org.outsider, last_name="Секретный", phones=["+79120000077"])
    # when
    [candidate] = contact_duplicates_find(
        actor=org.manager, first_name="Иван", points=[("phone", "+79120000077")]
    )
    # then
    shown = candidate.as_dict()
    assert (shown["id"], shown["visible"], shown["name"]) == (hidden.pk, False, "")
    assert shown["owner"] == str(org.outsider)
    # and the same candidate is visible to the admin
    [for_admin] = contact_duplicates_find(
        actor=org.admin, first_name="Иван", points=[("phone", "+79120000077")]
    )
    assert for_admin.is_visible and for_admin.as_dict()["name"] == "Секретный Иван"


def test_ranking_picks_the_true_duplicate_among_many_namesakes(org):
    # given 200 older people whose names start alike (ties go to older records) …
    names = [
        ("Петров", "Алексей", "Игоревич"),
        ("Петров", "Алексей", "Иванович"),
        ("Петренко", "Александр", "Олегович"),
        ("Петрова", "Алёна", "Ивановна"),
    ]
    Contact.objects.bulk_create(
        [
            Contact(last_name=last, first_name=first, middle_name=middle, owner=org.manager)
            for index in range(200)
            for last, first, middle in [names[index % len(names)]]
        ]
    )
    # … and the real person, saved last
    original = make_contact(
        org.manager, last_name="Петров", first_name="Александр", middle_name="Иванович"
    )
    match_keys_rebuild()
    assert MatchKey.objects.filter(key="d:petrov|a").count() > MAX_CANDIDATES
    # when the person is entered again in Latin and without the patronymic
    found = contact_duplicates_find(actor=org.manager, last_name="Petrov", first_name="Aleksandr")
    # then the original ranks first
    assert found[0].record_id == original.pk
    assert all(candidate.score < found[0].score for candidate in found[1:])


def test_an_old_duplicate_is_found_behind_more_holders_of_a_common_key_than_are_read(org):
    # given the real person, saved first, then more newer namesakes of the surname and the
    # first name's initial than the check reads of one common key
    original = make_contact(
        org.manager, last_name="Петров", first_name="Александр", birthday=dt.date(1980, 5, 3)
    )
    Contact.objects.bulk_create(
        [
            Contact(last_name="Петров", first_name="Алексей", owner=org.manager)
            for _index in range(MAX_KEY_HOLDERS + 20)
        ]
    )
    match_keys_rebuild()
    assert MatchKey.objects.filter(key="d:petrov|a").count() > MAX_KEY_HOLDERS
    # when the person is entered again with a typo in the surname
    found = contact_duplicates_find(actor=org.manager, last_name="Петрв", first_name="Саша")
    # then the surname-and-full-first-name keys still reach the original, and it ranks first
    assert found[0].record_id == original.pk


def test_the_check_reads_a_fixed_number_of_rows(org, django_assert_max_num_queries):
    # given several candidates of several owners, some of them invisible to the manager
    make_contact(org.manager, last_name="Петров", first_name="Александр", phones=["+79120000001"])
    make_contact(org.colleague, last_name="Петров", first_name="Алекснадр")
    make_contact(org.outsider, last_name="Petrov", first_name="Aleksandr")
    # when / then: points, ranking by keys, names and owners in one statement; the
    # candidates' contact points, addresses and employers in a second; the visibility of
    # those that passed in a third
    with django_assert_max_num_queries(3):
        found = contact_duplicates_find(
            actor=org.manager,
            last_name="Петров",
            first_name="Александр",
            points=[("phone", "+79120000001")],
        )
    assert len(found) == 3
    assert {candidate.is_visible for candidate in found} == {True, False}


def test_a_check_that_finds_nothing_reads_no_visibility(org, django_assert_num_queries):
    # given a namesake of another manager born 40 years before, with other phone and e-mail
    make_contact(
        org.outsider,
        last_name="Петров",
        first_name="Пётр",
        birthday="1950-01-01",
        phones=["+79120000001"],
        emails=["old@example.com"],
    )
    # when / then: the candidates and their details only
    with django_assert_num_queries(2):
        found = contact_duplicates_find(
            actor=org.manager,
            last_name="Петров",
            first_name="Пётр",
            birthday=dt.date(1990, 2, 2),
            points=[("phone", "+79120000002"), ("email", "young@example.com")],
        )
    assert found == []


def test_rebuild_match_keys_replaces_old_keys_and_drops_merged_records(org):
    # given keys in the old format and a record merged away
    kept = make_contact(org.manager, last_name="Петров", first_name="Александр")
    merged = make_contact(org.manager, last_name="Петров", first_name="Алексей")
    MatchKey.objects.all().delete()
    MatchKey.objects.bulk_create(
        [MatchKey(key="p:ale|pet", contact=kept), MatchKey(key="p:ale|pet", contact=merged)]
    )
    Contact.objects.filter(pk=merged.pk).update(merged_into=kept)
    company = make_company(org.manager, legal_name="Ромашка")
    # when
    out = StringIO()
    call_command("rebuild_match_keys", "--batch-size", "1", stdout=out)
    # then
    assert set(MatchKey.objects.filter(contact=kept).values_list("key", flat=True)) == (
        person_block_keys("Петров", "Александр")
    )
    assert not MatchKey.objects.filter(contact=merged).exists()
    assert set(MatchKey.objects.filter(company=company).values_list("key", flat=True)) == (
        company_block_keys("Ромашка")
    )
    assert "1 contacts and 1 companies" in out.getvalue()
