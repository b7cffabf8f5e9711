"""Counts phone-digit checks so the verify endpoints cannot be brute-forced.

Every check first *reserves* an attempt on each of its subjects (the booking or ticket, the
traveller's sender id, the caller's address) in one upsert that returns the new counts: the
check and the count are one statement, so parallel guesses each get their own number and at
most `limit` of them are ever compared (on PostgreSQL the upsert takes the row lock; SQLite
serialises writers with BEGIN IMMEDIATE). A wrong guess keeps its reservation; the right
digits hand theirs back (and clear the number's own count).

`guarded()` is that whole protocol for one check (phone digits, a login): reserve, refuse when
locked, keep the attempt on a miss, hand it back on a match.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, update
from sqlalchemy.orm import Session

from app.core.db import upsert_insert
from app.models import VerifyFailure


@dataclass(frozen=True)
class Subject:
    key: str  # stored in verify_failures.subject (<= 40 characters)
    limit: int
    kind: str  # booking | ticket | sender | address

    @classmethod
    def hashed(cls, kind: str, value: str, limit: int) -> "Subject":
        # Sender ids and addresses are of any length and a little personal: store a digest.
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]
        return cls(f"{kind[:7]}:{digest}", limit, kind)


@dataclass(frozen=True)
class Reservation:
    subjects: tuple[Subject, ...]
    blocked_by: Subject | None  # the first subject over its limit, if any
    retry_after: int  # seconds until blocked_by's window ends (0 when not blocked)


def reserve(session: Session, *, subjects: list[Subject], now: datetime, window: timedelta) -> Reservation:
    """Count one attempt against every subject and say whether any is over its limit.

    One statement for all subjects, in a fixed order (two checks sharing subjects never wait
    on each other in opposite orders). A window that has ended starts again at this attempt."""
    ordered = sorted(subjects, key=lambda s: s.key)
    table = VerifyFailure.__table__
    insert = upsert_insert(session)(VerifyFailure)
    expired = table.c.window_start <= now - window
    statement = (
        insert.values([{"subject": s.key, "failures": 1, "window_start": now} for s in ordered])
        .on_conflict_do_update(
            index_elements=[table.c.subject],
            set_={
                "failures": case((expired, 1), else_=table.c.failures + 1),
                "window_start": case(
                    (expired, literal(now, table.c.window_start.type)), else_=table.c.window_start
                ),
            },
        )
        .returning(table.c.subject, table.c.failures, table.c.window_start)
    )
    counts = {row.subject: (row.failures, row.window_start) for row in session.execute(statement)}
    for subject in ordered:
        failures, start = counts[subject.key]
        if failures > subject.limit:
            wait = max(1, math.ceil((start + window - now).total_seconds()))
            return Reservation(tuple(ordered), subject, wait)
    return Reservation(tuple(ordered), None, 0)


def release(
    session: Session, *, reservation: Reservation, clear_kinds: tuple[str, ...] = ("booking", "ticket")
) -> None:
    """Hand the attempt back. After a match (default) the number's own count is cleared and the
    sources get their attempt back (not cleared: proving one's own booking must not reset a
    count of guesses at others). For an attempt refused as locked, pass clear_kinds=() so that
    nothing is cleared and no subject pays for a comparison that was never made."""
    cleared = [s.key for s in reservation.subjects if s.kind in clear_kinds]
    returned = [s.key for s in reservation.subjects if s.kind not in clear_kinds]
    if cleared:
        session.execute(delete(VerifyFailure).where(VerifyFailure.subject.in_(cleared)))
    if returned:
        session.execute(
            update(VerifyFailure)
            .where(VerifyFailure.subject.in_(returned), VerifyFailure.failures > 0)
            .values(failures=VerifyFailure.failures - 1)
        )


def clear(session: Session, *, subject: str) -> None:
    session.execute(delete(VerifyFailure).where(VerifyFailure.subject == subject))


class Locked(Exception):
    """Too many misses for `subject` in the window: nothing was compared; retry after `retry_after` s."""

    def __init__(self, subject: Subject, retry_after: int) -> None:
        super().__init__(subject.kind)
        self.subject = subject
        self.retry_after = retry_after


@contextmanager
def guarded(
    session: Session,
    *,
    subjects: list[Subject],
    now: datetime,
    window: timedelta,
    clear_kinds: tuple[str, ...],
) -> Iterator[Reservation]:
    """One guarded check: `with guarded(...):` compare inside, raise on a miss.

    - over a limit: the attempt is handed back, committed, and Locked raised before the body runs;
    - the body raises (a miss, whatever the caller's exception): the attempt stays counted and is
      committed before the exception goes on (the request's error must not roll the count back);
    - the body ends normally (a match): the attempt is handed back and the `clear_kinds` subjects
      cleared; the caller commits (with whatever else the match writes, e.g. a login's token).

    Unlike the other data functions this one commits: the count must outlive the refused request."""
    reservation = reserve(session, subjects=subjects, now=now, window=window)
    if reservation.blocked_by is not None:
        release(session, reservation=reservation, clear_kinds=())
        session.commit()
        raise Locked(reservation.blocked_by, reservation.retry_after)
    try:
        yield reservation
    except Exception:
        if session.is_active:
            session.commit()  # the reservation stays: it was a miss
        raise
    release(session, reservation=reservation, clear_kinds=clear_kinds)
