"""The background duplicate scan: which pairs it finds, and that running it again is safe."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import translation

from crm.core.errors import PermissionDenied
from crm.core.matching import NEAR_MATCH_THRESHOLD
from crm.customers.choices import DuplicateStatus, Entity
from crm.customers.models import Contact, DuplicatePair
from crm.customers.services import duplicate_pair_dismiss, duplicates_scan
from crm.customers.services.records import match_keys_rebuild
from crm.customers.services.scan import (
    MAX_GROUP_MEMBERS,
    duplicates_scan_start,
    duplicates_scan_status,
    scan_cache_key,
)
from crm.customers.tests.factories import make_company, make_contact

VALID_INN = "7707083893"


def _contact_pairs() -> set[frozenset[int]]:
    return {
        frozenset((pair.contact_a_id, pair.contact_b_id))
        for pair in DuplicatePair.objects.filter(entity=Entity.CONTACT)
    }


def _company_pairs() -> set[frozenset[int]]:
    return {
        frozenset((pair.company_a_id, pair.company_b_id))
        for pair in DuplicatePair.objects.filter(entity=Entity.COMPANY)
    }


def test_scan_finds_same_phone_in_different_formats(org):
    # given two different names sharing one phone written two ways
    first = make_contact(
        org.manager, last_name="Петров", first_name="Олег", phones=["+7 916 123-45-67"]
    )
    second = make_contact(
        org.manager, last_name="Смирнова", first_name="Анна", phones=["8 (916) 123 45 67"]
    )
    # when
    result = duplicates_scan(entity=Entity.CONTACT)
    # then: a shared phone with different names is a possible pair, not an exact one
    pair = DuplicatePair.objects.get(entity=Entity.CONTACT)
    assert (pair.contact_a_id, pair.contact_b_id) == (first.pk, second.pk)
    assert (pair.tier, pair.score < 100) == ("possible", True)
    with translation.override("en"):
        reasons = pair.reason_texts()
    assert "same phone +7 916 123-45-67" in reasons
    assert "different first names" in reasons
    with translation.override("ru"):
        assert "разные имена" in pair.reason_texts()  # stored once, shown in each language
    assert result.created == 1


def test_scan_tells_a_likely_pair_from_a_family_sharing_a_phone(org):
    # given one person twice (a diminutive, the same birthday and phone) and his wife
    petr = make_contact(
        org.manager,
        last_name="Петров",
        first_name="Александр",
        birthday="1980-05-01",
        phones=["+7 916 123-45-67"],
    )
    sasha = make_contact(
        org.manager,
        last_name="Petrov",
        first_name="Sasha",
        birthday="1980-05-01",
        phones=["89161234567"],
    )
    wife = make_contact(
        org.manager,
        last_name="Петрова",
        first_name="Анна",
        birthday="1983-07-09",
        phones=["+79161234567"],
    )
    # when
    duplicates_scan(entity=Entity.CONTACT)
    # then
    tiers = {
        frozenset((pair.contact_a_id, pair.contact_b_id)): pair.tier
        for pair in DuplicatePair.objects.all()
    }
    assert tiers == {
        frozenset((petr.pk, sasha.pk)): "likely",
        frozenset((petr.pk, wife.pk)): "possible",
        frozenset((sasha.pk, wife.pk)): "possible",
    }


def test_scan_finds_a_name_in_another_alphabet_and_not_different_people(org):
    # given
    ivanov = make_contact(org.manager, last_name="Иванов", first_name="Иван")
    latin = make_contact(org.colleague, last_name="Ivanov", first_name="Ivan")
    make_contact(org.manager, last_name="Сидорова", first_name="Мария")
    make_contact(org.manager, last_name="Кузнецов", first_name="Пётр")
    # when
    duplicates_scan(entity=Entity.CONTACT)
    # then
    assert _contact_pairs() == {frozenset((ivanov.pk, latin.pk))}
    pair = DuplicatePair.objects.get()
    assert NEAR_MATCH_THRESHOLD <= pair.score < 100
    assert pair.reasons


def test_scan_finds_companies_by_name_and_by_inn(org):
    # given
    romashka = make_company(org.manager, legal_name="Ромашка", legal_form="ООО")
    latin = make_company(org.manager, legal_name="Romashka", legal_form="LLC")
    alpha = make_company(org.manager, legal_name="Альфа", inn=VALID_INN)
    beta = make_company(org.manager, legal_name="Бета-Строй", inn=VALID_INN)
    make_company(org.manager, legal_name="Гамма Логистик")
    # when
    duplicates_scan(entity=Entity.COMPANY)
    # then
    assert _company_pairs() == {frozenset((romashka.pk, latin.pk)), frozenset((alpha.pk, beta.pk))}
    by_inn = DuplicatePair.objects.get(company_a=alpha)
    assert by_inn.score == 100
    assert any(VALID_INN in reason for reason in by_inn.reasons)


def test_rescan_is_idempotent_and_keeps_dismissed_pairs_dismissed(org):
    # given a scanned base with one pair dismissed
    make_contact(org.manager, last_name="Иванов", first_name="Иван")
    make_contact(org.manager, last_name="Ivanov", first_name="Ivan")
    make_contact(org.manager, last_name="Петров", first_name="Олег", phones=["+79161234567"])
    make_contact(org.manager, last_name="Орлова", first_name="Анна", phones=["+79161234567"])
    duplicates_scan(entity=Entity.CONTACT)
    before = {
        (p.pk, p.contact_a_id, p.contact_b_id, p.score, tuple(p.reason_texts()))
        for p in DuplicatePair.objects.all()
    }
    dismissed = DuplicatePair.objects.order_by("id").first()
    duplicate_pair_dismiss(actor=org.manager, pair_id=dismissed.pk)
    # when
    result = duplicates_scan(entity=Entity.CONTACT)
    # then
    after = {
        (p.pk, p.contact_a_id, p.contact_b_id, p.score, tuple(p.reason_texts()))
        for p in DuplicatePair.objects.all()
    }
    assert after == before
    assert (result.created, result.updated, result.removed) == (0, 0, 0)
    dismissed.refresh_from_db()
    assert dismissed.status == DuplicateStatus.DISMISSED
    assert dismissed.resolved_by == org.manager


def test_rescan_drops_pairs_that_no_longer_look_alike(org):
    # given a pair found by phone, then one phone changes
    from crm.customers.services import contact_update

    first = make_contact(
        org.manager, last_name="Петров", first_name="Олег", phones=["+79161234567"]
    )
    make_contact(org.manager, last_name="Орлова", first_name="Анна", phones=["+79161234567"])
    duplicates_scan(entity=Entity.CONTACT)
    contact_update(
        actor=org.manager, contact=first, data={"phones": ["+79997654321"]}, partial=True
    )
    # when
    result = duplicates_scan(entity=Entity.CONTACT)
    # then
    assert result.removed == 1
    assert not DuplicatePair.objects.exists()


def test_an_incremental_rescan_drops_a_pair_changed_on_either_side_and_keeps_the_others(org):
    # given two pairs found by phone; then the newer contact of one (its pair's second
    # side) and the older contact of the other (its first side) change their phones
    from crm.customers.services import contact_update

    def pair(phone, *names):
        return [
            make_contact(org.manager, last_name=last, first_name=first, phones=[phone])
            for last, first in names
        ]

    changed_b = pair("+79161234567", ("Петров", "Олег"), ("Смирнова", "Мария"))
    changed_a = pair("+79167654321", ("Кузнецов", "Игорь"), ("Лебедева", "Ольга"))
    kept = pair("+79160000001", ("Зуев", "Пётр"), ("Фомина", "Вера"))
    duplicates_scan(entity=Entity.CONTACT)
    assert DuplicatePair.objects.count() == 3
    for contact, phone in ((changed_b[1], "+79990000001"), (changed_a[0], "+79990000002")):
        contact_update(actor=org.manager, contact=contact, data={"phones": [phone]}, partial=True)
    # when
    result = duplicates_scan(entity=Entity.CONTACT)
    # then
    assert (result.looked_at, result.removed) == (2, 2)
    assert _contact_pairs() == {frozenset(contact.pk for contact in kept)}


def test_a_contact_detail_shared_by_too_many_records_is_skipped(org):
    # given more records sharing one phone than the limit (a switchboard)
    for index in range(MAX_GROUP_MEMBERS + 1):
        make_contact(
            org.manager,
            last_name="Человек",
            first_name=chr(ord("А") + index % 30) * 3,
            phones=["+74951234567"],
        )
    # when
    result = duplicates_scan(entity=Entity.CONTACT)
    # then the phone paired nobody (it would give 1,275 pairs): only the name keys did
    everyone = (MAX_GROUP_MEMBERS + 1) * MAX_GROUP_MEMBERS // 2
    assert 0 < result.candidates < everyone // 5


def test_scan_reports_progress_in_the_cache(org):
    # given
    make_contact(org.manager, last_name="Иванов", first_name="Иван")
    make_contact(org.manager, last_name="Ivanov", first_name="Ivan")
    # when
    duplicates_scan(entity=Entity.CONTACT)
    # then
    state = duplicates_scan_status(entity=Entity.CONTACT)
    assert state["status"] == "done"
    assert state["found"] == 1
    assert not state["is_active"]


def test_scan_start_runs_the_job_on_commit(org, django_capture_on_commit_callbacks):
    # given
    make_contact(org.manager, last_name="Иванов", first_name="Иван")
    make_contact(org.manager, last_name="Ivanov", first_name="Ivan")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        state = duplicates_scan_start(actor=org.head, entity=Entity.CONTACT)
    # then
    assert state["status"] == "queued"
    assert duplicates_scan_status(entity=Entity.CONTACT)["status"] == "done"
    assert DuplicatePair.objects.count() == 1


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_scan_start_is_refused_for_managers_and_viewers(org, role):
    # when / then
    with pytest.raises(PermissionDenied):
        duplicates_scan_start(actor=getattr(org, role), entity=Entity.CONTACT)
    assert cache.get(scan_cache_key(Entity.CONTACT)) is None


@pytest.mark.parametrize(("namesakes", "pairs"), [(MAX_GROUP_MEMBERS, 1225), (51, 0)])
def test_a_common_name_gives_no_pairs_beyond_the_group_bound(org, namesakes, pairs):
    # given many records of one common name, born on different days, nothing else shared
    Contact.objects.bulk_create(
        [
            Contact(
                last_name="Иванов",
                first_name="Иван",
                birthday=dt.date(1950, 1, 1) + dt.timedelta(days=index * 40),
                owner=org.manager,
            )
            for index in range(namesakes)
        ]
    )
    match_keys_rebuild()
    # when
    result = duplicates_scan(entity=Entity.CONTACT)
    # then every key of the name holds them all: up to the bound they are all candidates,
    # past it none (a common name must not blow the pair count up)
    assert result.candidates == pairs


def test_a_one_word_name_meets_the_records_holding_its_word(org):
    # given a contact with the surname only and two with a first name too
    # (saved directly: the cleaner still asks for a first name)
    single = Contact.objects.create(last_name="Ершов", first_name="", owner=org.manager)
    match_keys_rebuild()
    full = make_contact(org.manager, last_name="Ершов", first_name="Николай", birthday="1970-01-02")
    other = make_contact(org.manager, last_name="Жуков", first_name="Николай")
    # when
    duplicates_scan(entity=Entity.CONTACT)
    # then the one-word name was compared with the namesake's full record
    pairs = {frozenset((p.contact_a_id, p.contact_b_id)) for p in DuplicatePair.objects.all()}
    assert frozenset((single.pk, full.pk)) in pairs
    assert not any(other.pk in pair for pair in pairs)


def test_phones_ending_alike_make_a_candidate_the_names_could_not(org):
    # given one number typed with another country code, under a name sharing no key
    first = make_contact(
        org.manager, last_name="Кузнецова", first_name="Мария", phones=["+7 916 123-45-67"]
    )
    second = make_contact(
        org.manager, last_name="Бухгалтерия", first_name="Офис", phones=["+375 29 123-45-67"]
    )
    third = make_contact(org.manager, last_name="Орлов", first_name="Ян", phones=["+79160000000"])
    # when
    result = duplicates_scan(entity=Entity.CONTACT)
    # then the ending of the phone made them a candidate (scored, here not alike enough)
    assert result.candidates == 1
    assert not DuplicatePair.objects.filter(contact_a__in=[first, second, third]).exists()


def test_a_scan_after_a_scan_looks_only_at_the_contacts_created_or_changed_since(org):
    # given a scanned base with one pair, then a new contact like an old one
    from crm.customers.services import contact_update

    petrov = make_contact(
        org.manager, last_name="Петров", first_name="Олег", phones=["+79161234567"]
    )
    make_contact(org.manager, last_name="Petrov", first_name="Oleg", phones=["+79161234567"])
    orlova = make_contact(org.manager, last_name="Орлова", first_name="Анна", birthday="1980-05-06")
    first = duplicates_scan(entity=Entity.CONTACT)
    newcomer = make_contact(
        org.manager, last_name="Орлова", first_name="Аня", birthday="1980-05-06"
    )
    make_contact(org.manager, last_name="Зуев", first_name="Пётр")
    contact_update(actor=org.manager, contact=petrov, data={"middle_name": "Ильич"}, partial=True)
    # when
    result = duplicates_scan(entity=Entity.CONTACT)
    # then only the three created or changed were looked at; the new pair is found and the
    # old one, whose other side did not change, is kept (found again through Петров)
    assert (first.looked_at, result.looked_at) == (None, 3)
    assert _contact_pairs() == {
        frozenset((petrov.pk, petrov.pk + 1)),
        frozenset((orlova.pk, newcomer.pk)),
    }
    assert (result.created, result.removed) == (1, 0)
    assert duplicates_scan_status(entity=Entity.CONTACT)["looked_at"] == 3


def test_an_incremental_scan_keeps_pairs_of_contacts_it_did_not_look_at(org):
    # given a pair found by the first scan, and an unrelated contact added after it
    make_contact(org.manager, last_name="Иванов", first_name="Иван", phones=["+79161234567"])
    make_contact(org.manager, last_name="Ivanov", first_name="Ivan", phones=["+79161234567"])
    duplicates_scan(entity=Entity.CONTACT)
    make_contact(org.manager, last_name="Зуев", first_name="Пётр")
    # when
    result = duplicates_scan(entity=Entity.CONTACT)
    # then
    assert (result.looked_at, result.candidates, result.removed) == (1, 0, 0)
    assert DuplicatePair.objects.filter(status=DuplicateStatus.OPEN).count() == 1


def test_a_full_scan_looks_at_everyone_and_a_lost_cache_means_a_full_scan(org):
    # given a scanned base
    make_contact(org.manager, last_name="Иванов", first_name="Иван", phones=["+79161234567"])
    make_contact(org.manager, last_name="Ivanov", first_name="Ivan", phones=["+79161234567"])
    duplicates_scan(entity=Entity.CONTACT)
    # when / then: asked for, or when the last scan's watermarks are gone
    assert duplicates_scan(entity=Entity.CONTACT, full=True).looked_at is None
    cache.delete(scan_cache_key(Entity.CONTACT))
    again = duplicates_scan(entity=Entity.CONTACT)
    assert (again.looked_at, again.found, again.created) == (None, 1, 0)


def test_a_scan_marks_the_pairs_of_a_merged_contact_merged(org):
    # given three alike contacts, scanned; then one is merged into another outside the pair
    # page (its pairs stay open until a scan looks)
    a = make_contact(org.manager, last_name="Иванов", first_name="Иван", phones=["+79161234567"])
    b = make_contact(org.manager, last_name="Ivanov", first_name="Ivan", phones=["+79161234567"])
    duplicates_scan(entity=Entity.CONTACT)
    Contact.objects.filter(pk=b.pk).update(merged_into=a)
    # when
    result = duplicates_scan(entity=Entity.CONTACT, full=True)
    # then
    assert (result.merged, result.removed) == (1, 0)
    assert DuplicatePair.objects.get().status == DuplicateStatus.MERGED


def test_a_dismissed_pair_found_again_stays_dismissed_and_gets_the_new_score(org):
    # given a dismissed pair whose contact then gets the other's birthday
    from crm.customers.services import contact_update

    a = make_contact(org.manager, last_name="Иванов", first_name="Иван", phones=["+79161234567"])
    make_contact(
        org.manager,
        last_name="Ivanov",
        first_name="Ivan",
        phones=["+79161234567"],
        birthday="1970-01-02",
    )
    duplicates_scan(entity=Entity.CONTACT)
    pair = DuplicatePair.objects.get()
    duplicate_pair_dismiss(actor=org.admin, pair_id=pair.pk)
    contact_update(actor=org.manager, contact=a, data={"birthday": "1970-01-02"}, partial=True)
    # when
    duplicates_scan(entity=Entity.CONTACT)
    # then
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.DISMISSED
    assert pair.score == 100


def test_an_incremental_scan_meets_old_contacts_through_phones_and_e_mails(org):
    # given old contacts, scanned; then new ones sharing an e-mail with one and the ending of
    # a phone with another, under names sharing no key
    mother = make_contact(
        org.manager, last_name="Кузнецова", first_name="Мария", emails=["home@example.ru"]
    )
    make_contact(org.manager, last_name="Орлова", first_name="Ирина", phones=["+7 916 123-45-67"])
    make_contact(org.manager, last_name="Зуев", first_name="Пётр", phones=["+79160000000"])
    duplicates_scan(entity=Entity.CONTACT)
    son = make_contact(
        org.manager, last_name="Кузнецов", first_name="Олег", emails=["home@example.ru"]
    )
    make_contact(
        org.manager, last_name="Бухгалтерия", first_name="Офис", phones=["+375 29 123-45-67"]
    )
    # when
    result = duplicates_scan(entity=Entity.CONTACT)
    # then both were candidates; the shared mailbox is a possible pair
    assert (result.looked_at, result.candidates) == (2, 2)
    pair = DuplicatePair.objects.get()
    assert (pair.contact_a_id, pair.contact_b_id, pair.tier) == (mother.pk, son.pk, "possible")


@pytest.mark.parametrize("one_word_first", [True, False])
def test_an_incremental_scan_pairs_a_one_word_name_either_way(org, one_word_first):
    # given a one-word name and a full one holding its word (they share no other key), one
    # of them made after a scan
    def single() -> Contact:
        return make_contact(org.manager, last_name="Ершов", first_name="")

    def full() -> Contact:
        return make_contact(org.manager, last_name="Ершов", first_name="Николай")

    old = single() if one_word_first else full()
    make_contact(org.manager, last_name="Зуев", first_name="Пётр")
    duplicates_scan(entity=Entity.CONTACT)
    new = full() if one_word_first else single()
    # when
    result = duplicates_scan(entity=Entity.CONTACT)
    # then
    assert result.looked_at == 1
    assert _contact_pairs() == {frozenset((old.pk, new.pk))}


def test_forked_workers_score_the_pages_as_the_scan_itself_does(org, settings, monkeypatch):
    # given a base with a dozen candidate pairs, scored in pages of two
    from crm.customers.services.scan_contacts import pairs

    for index, (last, first) in enumerate(
        [("Иванов", "Иван"), ("Ivanov", "Ivan"), ("Иванов", "Ваня"), ("Иванова", "Анна")] * 2
    ):
        make_contact(org.manager, last_name=last, first_name=first, phones=[f"+7916000000{index}"])
    monkeypatch.setattr(pairs, "PAGE", 2)
    settings.CRM_DUPLICATES_SCAN_PROCESSES = 1
    alone = duplicates_scan(entity=Entity.CONTACT, full=True)
    found_alone = set(DuplicatePair.objects.values_list("contact_a", "contact_b", "score", "tier"))
    DuplicatePair.objects.all().delete()
    # when
    settings.CRM_DUPLICATES_SCAN_PROCESSES = 2
    forked = duplicates_scan(entity=Entity.CONTACT, full=True)
    # then
    assert forked.candidates == alone.candidates > 4
    assert (forked.found, forked.created) == (alone.found, alone.found)
    found = set(DuplicatePair.objects.values_list("contact_a", "contact_b", "score", "tier"))
    assert found == found_alone


def test_the_sweep_queues_a_scan_of_the_changes_only_after_a_scan_and_when_there_are_some(
    org, django_capture_on_commit_callbacks
):
    from crm.customers.services.scan import duplicates_scan_changes

    make_contact(org.manager, last_name="Иванов", first_name="Иван", phones=["+79161234567"])
    # never scanned: the sweep does nothing (it never starts a full scan)
    assert duplicates_scan_changes() == ""
    duplicates_scan(entity=Entity.CONTACT)
    # scanned, nothing changed since
    cache.delete(f"{scan_cache_key(Entity.CONTACT)}:sweep")
    assert duplicates_scan_changes() == ""
    # a new contact like the old one: one scan queued, and a second scheduler queues none
    make_contact(org.manager, last_name="Ivanov", first_name="Ivan", phones=["+79161234567"])
    cache.delete(f"{scan_cache_key(Entity.CONTACT)}:sweep")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert duplicates_scan_changes()
        assert duplicates_scan_changes() == ""
    assert len(callbacks) == 1
    state = duplicates_scan_status(entity=Entity.CONTACT)
    assert (state["status"], state["looked_at"], state["found"]) == ("done", 1, 1)


def test_the_sweep_is_registered_unless_switched_off():
    from crm.core.records import registry

    assert "customers.duplicates_scan" in registry.sweeps
