"""Guessing the last four phone digits: 5 misses per booking or ticket, then 429 for the window."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.models import VerifyFailure
from tests.factories import create_ticket

BOOKING = "/bookings/TR20260001/verify"  # phone 13812345678 in the fixture


def miss(client, service, url: str, times: int) -> list[int]:
    return [client.post(url, json={"phone_last4": f"{n:04d}"}, headers=service).status_code for n in range(times)]


def test_booking_locks_after_five_misses_even_for_the_right_digits(client, service):
    assert miss(client, service, BOOKING, 5) == [403] * 5
    locked = client.post(BOOKING, json={"phone_last4": "5678"}, headers=service)
    assert locked.status_code == 429
    assert locked.json()["detail"]["field"] == "phone_last4"
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert "张伟" not in locked.text and "13812345678" not in locked.text


def test_lock_ends_with_the_window(client, service, clock):
    miss(client, service, BOOKING, 5)
    clock.set(clock.now + timedelta(minutes=15, seconds=1))
    assert client.post(BOOKING, json={"phone_last4": "5678"}, headers=service).status_code == 200


def test_a_match_clears_the_count(client, service, db):
    assert miss(client, service, BOOKING, 4) == [403] * 4
    assert client.post(BOOKING, json={"phone_last4": "5678"}, headers=service).status_code == 200
    assert db.scalar(select(VerifyFailure).where(VerifyFailure.subject == "booking:TR20260001")) is None
    assert miss(client, service, BOOKING, 4) == [403] * 4


def test_misses_in_an_old_window_do_not_add_up(client, service, clock, db):
    miss(client, service, BOOKING, 4)
    clock.set(clock.now + timedelta(minutes=16))
    assert miss(client, service, BOOKING, 4) == [403] * 4
    row = db.scalar(select(VerifyFailure).where(VerifyFailure.subject == "booking:TR20260001"))
    assert row.failures == 4 and row.window_start == clock.now


def test_ticket_verify_is_limited_per_ticket(client, service):
    first, other = create_ticket(client, service), create_ticket(client, service, conversation_id="c-other")
    url = f"/tickets/{first['ticket_no']}/verify"
    assert miss(client, service, url, 6) == [403] * 5 + [429]
    assert client.post(url, json={"phone_last4": "5678"}, headers=service).status_code == 429
    # Another ticket, and bookings, keep their own counts.
    assert client.post(f"/tickets/{other['ticket_no']}/verify", json={"phone_last4": "5678"}, headers=service).status_code == 200
    assert client.post(BOOKING, json={"phone_last4": "5678"}, headers=service).status_code == 200


def test_unknown_numbers_count_too_so_a_lock_discloses_nothing(client, service):
    url = "/bookings/TR99999999/verify"
    assert miss(client, service, url, 6) == [404] * 5 + [429]
    assert miss(client, service, "/tickets/C20260101999/verify", 6) == [404] * 5 + [429]
