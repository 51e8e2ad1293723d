"""A client's arrivals are processed one after another, in the order they came: who sent an
arrival is kept when it is stored (``client_key``), and a batch takes a client's earliest
pending arrival and then, with room, its later ones; a full batch leaves them to the jobs it
starts. (Two workers at once: ``test_concurrency.py``, on PostgreSQL.)"""

from __future__ import annotations

import pytest

from crm.leads.services import intake

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("payload", "meta", "key"),
    [
        ({"phone": "8 (912) 100-07-77"}, {}, "p:9121000777"),
        ({"phone": "+7 912 100 07 77", "email": "a@b.ru"}, {}, "p:9121000777"),
        ({"client_phone": "+79121000777"}, {}, "p:9121000777"),
        ({"email": " Petr@Example.RU "}, {}, "e:petr@example.ru"),
        ({}, {"from": "Пётр <Petr@Example.ru>"}, "e:petr@example.ru"),
        ({"phone": "12"}, {}, ""),
        ({"name": "Пётр"}, {"from": "not an address"}, ""),
    ],
)
def test_who_sent_an_arrival_is_read_from_its_phone_or_address(payload, meta, key):
    assert intake.client_key_of(payload, meta) == key


def test_a_job_that_left_a_clients_later_arrival_starts_the_job_that_takes_it(org):
    first, second = (
        intake.inbound_store(
            channel="api", payload={"phone": "+79121000777", "message": turn}, process=False
        )[0]
        for turn in ("0", "1")
    )
    assert first.client_key == second.client_key == "p:9121000777"
    # A full batch takes the earlier arrival and leaves the later one, even its job's own.
    assert intake.inbound_process_batch(first_id=second.pk, size=1) == [first.pk]
    second.refresh_from_db()
    assert second.status == "pending"


def test_a_batch_with_room_takes_a_clients_later_arrivals_after_the_first(org):
    rows = [
        intake.inbound_store(
            channel="api", payload={"phone": "+79121000779", "message": turn}, process=False
        )[0]
        for turn in ("0", "1", "2")
    ]
    assert intake.inbound_process_batch(first_id=rows[2].pk) == [row.pk for row in rows]
