from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.api.deps import AnyCaller, NowDep, ServiceOnly, SessionDep, SettingsDep
from app.api.errors import not_found
from app.api.verify import check_phone_digits
from app.crud import audit, bookings
from app.schemas.booking import BookingOut, BookingVerified, PhoneCheck
from app.schemas.common import BOOKING_REF_PATTERN
from app.services.views import booking_out

router = APIRouter(prefix="/bookings", tags=["bookings"])
RefPath = Annotated[str, Path(pattern=BOOKING_REF_PATTERN, description="TR + 8 digits")]


@router.get(
    "/{ref}",
    summary="A booking with its day-by-day itinerary",
    response_model=BookingOut,
    description="Service and supervisors see personal fields; agents see them masked.",
    responses={404: {"description": "unknown booking"}},
)
def get_booking(ref: RefPath, caller: AnyCaller, session: SessionDep, now: NowDep) -> BookingOut:
    booking = bookings.get_by_ref(session, ref=ref)
    if booking is None:
        raise not_found("booking")
    masked = caller.role == "agent"
    if caller.role == "supervisor":
        audit.record(
            session, actor=caller.name, actor_role=caller.role, action="read_personal_data",
            booking_ref=ref, field="booking", at=now,
        )
        session.commit()
    return booking_out(booking, masked=masked)


@router.post(
    "/{ref}/verify",
    summary="Release a booking to the bot when the last 4 phone digits match",
    response_model=BookingVerified,
    responses={
        403: {"description": "phone does not match"},
        404: {"description": "unknown booking"},
        429: {"description": "too many misses for this booking; Retry-After says when to try again"},
    },
)
def verify_booking(
    ref: RefPath, body: PhoneCheck, caller: ServiceOnly, session: SessionDep, settings: SettingsDep, now: NowDep
) -> BookingVerified:
    booking = bookings.get_by_ref(session, ref=ref)
    check_phone_digits(
        session, settings, what="booking", number=ref,
        phone=booking.phone if booking else None, last4=body.phone_last4, now=now,
    )
    return BookingVerified(booking=booking_out(booking, masked=False))
