"""The phone-digit check shared by the booking and ticket verify endpoints."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from app.api.errors import not_found, too_many_attempts
from app.core.config import Settings
from app.crud import verify_guard

logger = logging.getLogger(__name__)


def check_phone_digits(
    session: Session, settings: Settings, *, what: str, number: str, phone: str | None, last4: str, now: datetime
) -> None:
    """404 for an unknown number, 403 for wrong digits, 429 once a number missed too often in
    the window (right digits included). Unknown numbers count as misses too, so a lock says
    nothing about whether a booking or ticket exists.

    `what` is "booking" or "ticket", `number` its booking or ticket number, `phone` the
    phone on record (None: no such booking or ticket)."""
    subject = f"{what}:{number}"
    window = timedelta(minutes=settings.verify_window_minutes)
    record = verify_guard.current(session, subject=subject)
    wait = verify_guard.seconds_locked(record, now=now, limit=settings.verify_max_failures, window=window)
    if wait:
        raise too_many_attempts("phone_last4", wait)
    if phone is None or not phone.endswith(last4):
        verify_guard.record_failure(session, subject=subject, now=now, window=window)
        session.commit()
        # The subject is a booking or ticket number, not personal data; the digits are not logged.
        logger.warning("phone digits did not match for %s", subject)
        if phone is None:
            raise not_found(what)
        raise HTTPException(status.HTTP_403_FORBIDDEN, {"field": "phone_last4", "msg": f"does not match the phone on the {what}"})
    if record is not None:
        verify_guard.clear(session, subject=subject)
        session.commit()
