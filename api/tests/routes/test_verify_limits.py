"""Guessing the last four phone digits: 5 misses per booking or ticket, then 429 for the window."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.models import VerifyFailure
from tests.factories import create_ticket

BOOKING = "/bookings/TR20260001/verify"  # phone 13812345678 in the fixture


def miss(client, service, url: str, times: int) -> list[int]:
    return [
        client.post(url, json={"phone_last4": f"{n:04d}", "sender_id": "s-test"}, headers=service).status_code
        for n in range(times)
    ]


def test_booking_locks_after_five_misses_even_for_the_right_digits(client, service):
    assert miss(client, service, BOOKING, 5) == [403] * 5
    locked = client.post(BOOKING, json={"phone_last4": "5678", "sender_id": "s-test"}, headers=service)
    assert locked.status_code == 429
    assert locked.json()["detail"]["field"] == "phone_last4"
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert "张伟" not in locked.text and "13812345678" not in locked.text


def test_lock_ends_with_the_window(client, service, clock):
    miss(client, service, BOOKING, 5)
    clock.set(clock.now + timedelta(minutes=15, seconds=1))
    assert (
        client.post(BOOKING, json={"phone_last4": "5678", "sender_id": "s-test"}, headers=service).status_code
        == 200
    )


def test_a_match_clears_the_count(client, service, db):
    assert miss(client, service, BOOKING, 4) == [403] * 4
    assert (
        client.post(BOOKING, json={"phone_last4": "5678", "sender_id": "s-test"}, headers=service).status_code
        == 200
    )
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
    assert (
        client.post(url, json={"phone_last4": "5678", "sender_id": "s-test"}, headers=service).status_code
        == 429
    )
    # Another ticket, and bookings, keep their own counts.
    assert (
        client.post(
            f"/tickets/{other['ticket_no']}/verify",
            json={"phone_last4": "5678", "sender_id": "s-test"},
            headers=service,
        ).status_code
        == 200
    )
    assert (
        client.post(BOOKING, json={"phone_last4": "5678", "sender_id": "s-test"}, headers=service).status_code
        == 200
    )


def test_unknown_numbers_count_too_so_a_lock_discloses_nothing(client, service):
    url = "/bookings/TR99999999/verify"
    assert miss(client, service, url, 6) == [404] * 5 + [429]
    assert miss(client, service, "/tickets/C20260101999/verify", 6) == [404] * 5 + [429]


def _guess(client, service, ref: str, digits: str, sender: str) -> int:
    return client.post(
        f"/bookings/{ref}/verify", json={"phone_last4": digits, "sender_id": sender}, headers=service
    ).status_code


def test_one_sender_gets_ten_misses_whatever_the_bookings(client, service):
    # Five guesses at each of many bookings: the sender's own count stops it.
    codes = [_guess(client, service, f"TR2026{n:04d}", "0000", "s-spray") for n in range(100, 112)]
    assert codes[:10] == [404] * 10 and codes[10:] == [429, 429]
    assert _guess(client, service, "TR20260001", "5678", "s-spray") == 429  # even its own booking now
    assert _guess(client, service, "TR20260001", "5678", "s-honest") == 200  # others are not affected


def test_one_address_is_capped_across_senders(client, service, app):
    app.state.settings = app.state.settings.model_copy(update={"verify_max_failures_per_address": 6})
    codes = [_guess(client, service, f"TR2026{n:04d}", "0000", f"s-rot-{n}") for n in range(200, 208)]
    assert codes == [404] * 6 + [429, 429]


def test_a_right_check_does_not_reset_the_senders_count(client, service):
    for n in range(9):
        _guess(client, service, f"TR2026{300 + n:04d}", "0000", "s-reset")
    assert _guess(client, service, "TR20260001", "5678", "s-reset") == 200
    assert _guess(client, service, "TR20260310", "0000", "s-reset") == 404  # the 10th miss
    assert _guess(client, service, "TR20260311", "0000", "s-reset") == 429


def test_parallel_guesses_are_counted_atomically(engine):
    """Twelve guesses at one booking on separate connections at once: only five are compared.

    The guesses really overlap: every worker opens its transaction and holds it at a barrier
    until all twelve are connected (distinct backend pids on PostgreSQL)."""
    import threading
    import uuid

    from fastapi import HTTPException
    from sqlalchemy import delete, text
    from sqlalchemy.orm import Session

    from app.api.verify import check_phone_digits
    from app.models import VerifyFailure
    from tests.conftest import test_settings

    settings = test_settings()
    number = f"TR{uuid.uuid4().int % 10**8:08d}"
    workers = 12
    barrier = threading.Barrier(workers)
    results, pids = [], set()
    now = __import__("datetime").datetime.now(__import__("datetime").UTC)

    def guess(n: int) -> None:
        with Session(engine) as session:
            if engine.dialect.name == "postgresql":
                pids.add(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
            barrier.wait(timeout=30)
            try:
                check_phone_digits(
                    session,
                    settings,
                    what="booking",
                    number=number,
                    phone="13800001111",
                    last4=f"{n:04d}",
                    now=now,
                    sender_id=f"s-par-{n}",
                    address=None,
                )
                results.append(200)
            except HTTPException as error:
                results.append(error.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(workers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        if engine.dialect.name == "postgresql":
            assert len(pids) == workers
        assert sorted(results) == [403] * 5 + [429] * 7
    finally:
        with Session(engine) as session:
            session.execute(delete(VerifyFailure))
            session.commit()
