"""Idempotency-Key records of POST /tickets: the bot retries a creation it did not hear back
from, and the same key must give the same ticket. They take a Session and never commit."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.db import upsert_insert
from app.models import IdempotencyKey
from app.schemas.ticket import TicketCreate


def request_fingerprint(data: TicketCreate) -> str:
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(session: Session, *, key: str, fingerprint: str, now: datetime) -> bool:
    """Insert the key unless it exists (one statement, no savepoint). False: someone has it."""
    stmt = (
        upsert_insert(session)(IdempotencyKey)
        .values(key=key, request_hash=fingerprint, created_at=now)
        .on_conflict_do_nothing(index_elements=[IdempotencyKey.key])
        .returning(IdempotencyKey.key)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def bind(session: Session, *, key: str, ticket_id: int) -> None:
    session.execute(update(IdempotencyKey).where(IdempotencyKey.key == key).values(ticket_id=ticket_id))


def lookup(session: Session, *, key: str) -> tuple[str, int | None] | None:
    """(request fingerprint, ticket id) of a used key, read fresh from the database."""
    row = session.execute(
        select(IdempotencyKey.request_hash, IdempotencyKey.ticket_id).where(IdempotencyKey.key == key)
    ).first()
    return (row[0], row[1]) if row else None
