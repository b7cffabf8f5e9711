from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.api.deps import (
    AnyCaller,
    ClientAddressDep,
    GrantHeader,
    NowDep,
    SenderHeader,
    ServiceOnly,
    SessionDep,
    SettingsDep,
)
from app.api.errors import not_found
from app.api.verify import check_phone_digits, has_grant, issue_verification_grant, no_grant
from app.crud import bookings, contacts
from app.schemas.booking import BookingOut, BookingVerified, EmergencyContact, PhoneCheck
from app.schemas.common import BOOKING_REF_PATTERN
from app.services.booking_reads import booking_view
from app.services.views import booking_out

router = APIRouter(prefix="/bookings", tags=["bookings"])
CONVERSATION_ID_MAX = 128  # booking_contacts.conversation_id, as notifications and tickets
RefPath = Annotated[str, Path(pattern=BOOKING_REF_PATTERN, description="TR + 8 digits")]


@router.get(
    "/{ref}",
    summary="A booking with its day-by-day itinerary",
    response_model=BookingOut,
    description=(
        "Supervisors see personal fields; agents see them masked. The service (the bot) needs the "
        "grant of a successful phone check for this booking and sender (X-Verification-Grant, "
        "X-Sender-Id), until it expires."
    ),
    responses={
        403: {"description": "service: grant missing, expired or not for this booking and sender"},
        404: {"description": "unknown booking"},
    },
)
def get_booking(
    ref: RefPath,
    caller: AnyCaller,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    grant: GrantHeader = None,
    sender_id: SenderHeader = None,
) -> BookingOut:
    service = caller.role == "service"
    if service and not has_grant(settings, grant, sender_id, what="booking", number=ref, now=now):
        # Checked before the lookup: without a grant nobody learns whether the booking exists.
        raise no_grant()
    booking = bookings.get_by_ref(session, ref=ref)
    if booking is None:
        raise not_found("booking")
    return booking_view(session, booking, caller, now)


@router.get(
    "/{ref}/emergency-contact",
    summary="The guide's work phone, the tour type and the trip's dates, for an emergency reply before "
    "verification",
    response_model=EmergencyContact,
    responses={404: {"description": "unknown booking"}},
)
def emergency_contact(ref: RefPath, caller: ServiceOnly, session: SessionDep) -> EmergencyContact:
    booking = bookings.get_by_ref(session, ref=ref)
    if booking is None:
        raise not_found("booking")
    return EmergencyContact(
        ref=booking.ref,
        tour_type=booking.tour_type,
        guide_name=booking.guide_name,
        guide_phone=booking.guide_phone,
        departure_date=booking.departure_date,
        return_date=booking.return_date,
    )


@router.post(
    "/{ref}/verify",
    summary="Release a booking to the bot when the last 4 phone digits match",
    response_model=BookingVerified,
    responses={
        403: {"description": "phone does not match"},
        404: {"description": "unknown booking"},
        429: {"description": "too many misses for this booking, sender or address; Retry-After says when"},
    },
)
def verify_booking(
    ref: RefPath,
    body: PhoneCheck,
    caller: ServiceOnly,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    address: ClientAddressDep,
) -> BookingVerified:
    booking = bookings.get_by_ref(session, ref=ref)
    check_phone_digits(
        session,
        settings,
        what="booking",
        number=ref,
        phone=booking.phone if booking else None,
        last4=body.phone_last4,
        now=now,
        sender_id=body.sender_id,
        address=address,
    )
    grant, expires_at = issue_verification_grant(
        settings, what="booking", number=ref, sender_id=body.sender_id, now=now
    )
    if len(body.sender_id) <= CONVERSATION_ID_MAX:
        # This conversation is now a known address of the booking's traveller (disruption
        # notices, reminders); longer ids are no Rasa sender id a notice could reach.
        contacts.record_contact(
            session, booking=booking, conversation_id=body.sender_id, channel=body.channel, now=now
        )
        session.commit()
    return BookingVerified(
        booking=booking_out(booking, masked=False), grant=grant, grant_expires_at=expires_at
    )
