from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from threading import Lock
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditLog
from app.models.base import utcnow


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def values(
    *,
    actor: str,
    actor_role: str,
    action: str,
    ticket_id: int | None = None,
    booking_ref: str | None = None,
    field: str | None = None,
    old: object = None,
    new: object = None,
    at: datetime,
) -> dict[str, Any]:
    """The columns of one audit row (old and new values as text), for `record` or a bulk insert."""
    return dict(
        at=at,
        actor=actor,
        actor_role=actor_role,
        action=action,
        ticket_id=ticket_id,
        booking_ref=booking_ref,
        field=field,
        old_value=_text(old),
        new_value=_text(new),
    )


def record(
    session: Session,
    *,
    actor: str,
    actor_role: str,
    action: str,
    ticket_id: int | None = None,
    booking_ref: str | None = None,
    field: str | None = None,
    old: object = None,
    new: object = None,
    at: datetime | None = None,
) -> AuditLog:
    row = AuditLog(
        **values(
            actor=actor,
            actor_role=actor_role,
            action=action,
            ticket_id=ticket_id,
            booking_ref=booking_ref,
            field=field,
            old=old,
            new=new,
            at=at or utcnow(),
        )
    )
    session.add(row)
    return row


def for_ticket(session: Session, *, ticket_id: int) -> list[AuditLog]:
    return list(
        session.scalars(select(AuditLog).where(AuditLog.ticket_id == ticket_id).order_by(AuditLog.id))
    )


# --- reads of personal data ---------------------------------------------------------------
# Every read by a person (agent, supervisor) of a ticket, a handoff, a queue or a transcript is
# recorded: `read_personal_data` when they saw it unmasked, `read_masked_data` when masked.
READ_PERSONAL = "read_personal_data"
READ_MASKED = "read_masked_data"
PEOPLE = frozenset({"agent", "supervisor"})


class RecentReads:
    """The console polls (the queue every 2 s, a transcript every second): a poll that returns
    exactly what the same person was shown in the last `window` is not recorded again. A read
    that shows anything new (another line, another view) is. Per process; bounded."""

    def __init__(self, window: timedelta = timedelta(seconds=60), max_entries: int = 10_000) -> None:
        self.window = window
        self.max_entries = max_entries
        self._seen: dict[tuple, datetime] = {}
        self._lock = Lock()

    def first(self, key: tuple, now: datetime) -> bool:
        with self._lock:
            last = self._seen.get(key)
            if last is not None and now - last < self.window:
                return False
            if len(self._seen) >= self.max_entries:
                cutoff = now - self.window
                self._seen = {k: v for k, v in self._seen.items() if v >= cutoff}
                if len(self._seen) >= self.max_entries:
                    self._seen.clear()
            self._seen[key] = now
            return True


_state_lock = Lock()


def recent_reads(state: Any) -> RecentReads:
    """The app's RecentReads (kept on `app.state`, created on first use)."""
    reads = getattr(state, "recent_reads", None)
    if reads is None:
        with _state_lock:
            reads = getattr(state, "recent_reads", None)
            if reads is None:
                reads = RecentReads()
                state.recent_reads = reads
    return reads


def digest(value: Any) -> str:
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()[:16]


def record_read(
    session: Session,
    *,
    actor: str,
    actor_role: str,
    masked: bool,
    field: str,
    what: str | None = None,
    ticket_id: int | None = None,
    booking_ref: str | None = None,
    at: datetime,
    recent: RecentReads | None = None,
    content: str | None = None,
) -> AuditLog | None:
    """Record a person's read (the service, the traveller's own channel, is not recorded).
    With `recent`, an identical poll (same reader, record, view and `content` digest) inside
    its window is skipped. Adds to the session; the caller commits."""
    if actor_role not in PEOPLE:
        return None
    action = READ_MASKED if masked else READ_PERSONAL
    if recent is not None and not recent.first(
        (actor, action, field, ticket_id, booking_ref, what, content), at
    ):
        return None
    return record(
        session,
        actor=actor,
        actor_role=actor_role,
        action=action,
        ticket_id=ticket_id,
        booking_ref=booking_ref,
        field=field,
        new=what,
        at=at,
    )
