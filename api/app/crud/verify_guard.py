"""Counts missed phone-digit checks so the verify endpoints cannot be brute-forced."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select
from sqlalchemy.orm import Session

from app.core.db import upsert_insert
from app.models import VerifyFailure


def current(session: Session, *, subject: str) -> tuple[int, datetime] | None:
    """(failures, window start) on record for `subject`, or None."""
    row = session.execute(
        select(VerifyFailure.failures, VerifyFailure.window_start).where(VerifyFailure.subject == subject)
    ).first()
    return None if row is None else (row.failures, row.window_start)


def seconds_locked(record: tuple[int, datetime] | None, *, now: datetime, limit: int, window: timedelta) -> int:
    """Seconds until the subject may be checked again; 0 when it is not locked."""
    if record is None or record[0] < limit:
        return 0
    return max(0, math.ceil((record[1] + window - now).total_seconds()))


def record_failure(session: Session, *, subject: str, now: datetime, window: timedelta) -> None:
    """One more miss; a window that has ended starts again at this miss.

    A single upsert, so two workers counting the same subject at once both count."""
    expired = VerifyFailure.window_start <= now - window
    statement = upsert_insert(session)(VerifyFailure).values(subject=subject, failures=1, window_start=now)
    statement = statement.on_conflict_do_update(
        index_elements=[VerifyFailure.subject],
        set_={
            "failures": case((expired, 1), else_=VerifyFailure.failures + 1),
            "window_start": case((expired, literal(now, VerifyFailure.window_start.type)), else_=VerifyFailure.window_start),
        },
    )
    session.execute(statement)


def clear(session: Session, *, subject: str) -> None:
    session.execute(delete(VerifyFailure).where(VerifyFailure.subject == subject))
