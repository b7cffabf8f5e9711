from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.config import API_ROOT
from app.models import Booking

FIXTURE = API_ROOT / "fixtures" / "bookings.json"


def get_by_ref(session: Session, *, ref: str) -> Booking | None:
    return session.scalar(select(Booking).where(Booking.ref == ref))


def get_trip_dates(session: Session, *, ref: str) -> tuple[date, date] | None:
    """(departure, return) without loading the itinerary."""
    row = session.execute(
        select(Booking.departure_date, Booking.return_date).where(Booking.ref == ref)
    ).first()
    return (row[0], row[1]) if row else None


def holders(session: Session, *, refs: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The holder's name and phone of each booking, by number (one query for a page of tickets)."""
    refs = set(refs)
    if not refs:
        return {}
    rows = session.execute(
        select(Booking.ref, Booking.traveller_name, Booking.phone).where(Booking.ref.in_(refs))
    )
    return {ref: (name, phone) for ref, name, phone in rows}


def seed_from_fixture(session: Session, *, path: Path = FIXTURE) -> int:
    """Load the demo bookings when the table is empty; returns how many were added."""
    if session.scalar(select(func.count()).select_from(Booking)):
        return 0
    rows = json.loads(path.read_text(encoding="utf-8"))["bookings"]
    for row in rows:
        session.add(
            Booking(
                **{
                    **row,
                    "departure_date": date.fromisoformat(row["departure_date"]),
                    "return_date": date.fromisoformat(row["return_date"]),
                }
            )
        )
    session.flush()
    return len(rows)
