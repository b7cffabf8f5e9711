"""The phone-digit check shared by the booking and ticket verify endpoints, and the grant a
right check gives the bot: the service token reads a booking or ticket only with it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from app.api.errors import not_found, too_many_attempts
from app.core.config import Settings
from app.core.security import check_grant, issue_grant
from app.crud import verify_guard
from app.crud.verify_guard import Subject

logger = logging.getLogger(__name__)


def check_phone_digits(
    session: Session,
    settings: Settings,
    *,
    what: str,
    number: str,
    phone: str | None,
    last4: str,
    now: datetime,
    sender_id: str,
    address: str | None,
) -> None:
    """404 for an unknown number, 403 for wrong digits, 429 once the number, the traveller's
    sender id or the caller's address missed too often in the window (right digits included).
    Unknown numbers count as misses too, so a lock says nothing about whether a booking or
    ticket exists.

    `what` is "booking" or "ticket", `number` its booking or ticket number, `phone` the
    phone on record (None: no such booking or ticket)."""
    subjects = [
        Subject(f"{what}:{number}", settings.verify_max_failures, what),
        Subject.hashed("sender", sender_id, settings.verify_max_failures_per_sender),
    ]
    if address:
        subjects.append(Subject.hashed("address", address, settings.verify_max_failures_per_address))
    window = timedelta(minutes=settings.verify_window_minutes)
    try:
        with verify_guard.guarded(
            session, subjects=subjects, now=now, window=window, clear_kinds=("booking", "ticket")
        ):
            if phone is None or not phone.endswith(last4):
                # The subject is a booking or ticket number, not personal data; the digits are not logged.
                logger.warning("phone digits did not match for %s:%s", what, number)
                if phone is None:
                    raise not_found(what)
                mismatch = {"field": "phone_last4", "msg": f"does not match the phone on the {what}"}
                raise HTTPException(status.HTTP_403_FORBIDDEN, mismatch)
    except verify_guard.Locked as locked:
        logger.warning("phone-digit checks locked (%s) for %s", locked.subject.kind, f"{what}:{number}")
        raise too_many_attempts("phone_last4", locked.retry_after, scope=locked.subject.kind) from None
    session.commit()


def _grant_subject(what: str, number: str) -> str:
    # Bookings keep their bare number (grants the bot holds stay valid); a ticket's grant names
    # its kind, so a grant for one kind can never be shown for the other.
    return number if what == "booking" else f"{what}:{number}"


def issue_verification_grant(
    settings: Settings, *, what: str, number: str, sender_id: str, now: datetime
) -> tuple[str, datetime]:
    """(grant, expiry) after a right check: bound to this booking or ticket and this sender."""
    expires_at = now + timedelta(minutes=settings.verify_grant_minutes)
    grant = issue_grant(
        settings.verify_grant_secret,
        ref=_grant_subject(what, number),
        sender_id=sender_id,
        expires_at=expires_at,
    )
    return grant, expires_at


def has_grant(
    settings: Settings, grant: str | None, sender_id: str | None, *, what: str, number: str, now: datetime
) -> bool:
    """The service showed an unexpired grant issued for this booking/ticket to this sender."""
    return bool(grant and sender_id) and check_grant(
        settings.verify_grant_secret, grant, ref=_grant_subject(what, number), sender_id=sender_id, now=now
    )


def no_grant(msg: str = "verify the phone digits first (missing, expired or foreign grant)") -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, {"field": "grant", "msg": msg})
