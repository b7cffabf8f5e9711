from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.common import CleanText, PhoneLast4


class Flight(BaseModel):
    number: str
    from_: str = Field(alias="from")
    to: str
    departure: str = Field(description="local time HH:MM; '+1' means the next day")
    arrival: str

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Meeting(BaseModel):
    time: str
    place: str


class Guide(BaseModel):
    name: str
    phone: str | None = None


class ItineraryDay(BaseModel):
    day: int
    date: date
    title: str
    hotel: str | None = None
    meeting: Meeting | None = None
    flights: list[Flight] = []
    guide: Guide | None = None


class BookingOut(BaseModel):
    """A booking. For agents the traveller's name and phone are masked."""

    model_config = ConfigDict(from_attributes=True)

    ref: str
    traveller_name: str
    phone: str
    product: str
    destination: str
    tour_type: Literal["domestic", "outbound"]
    departure_date: date
    return_date: date
    travellers: int
    price_cny: int
    guide_name: str | None
    guide_phone: str | None
    itinerary: list[ItineraryDay]
    included: list[str]
    excluded: list[str]
    masked: bool = Field(False, description="true when personal fields are masked for the caller")


class PhoneCheck(BaseModel):
    phone_last4: PhoneLast4 = Field(description="last four digits of the phone on the record")
    sender_id: CleanText(200) = Field(
        description="the traveller's conversation (Rasa sender id): misses are also counted per sender"
    )
    channel: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$")] | None = Field(
        None,
        description="the channel of the conversation (socketio, rest, wechat): where notices about this "
        "booking reach the traveller (disruptions); read from the conversation when absent",
    )


class BookingVerified(BaseModel):
    verified: Literal[True] = True
    booking: BookingOut
    grant: str = Field(
        description="proof of this check for GET /bookings/{ref} (header X-Verification-Grant, with "
        "X-Sender-Id): bound to the booking and the sender id"
    )
    grant_expires_at: datetime


class EmergencyContact(BaseModel):
    """What an emergency reply may use before any verification: nothing about the traveller
    (the trip's dates are the tour's, shared by everyone on it)."""

    ref: str
    tour_type: Literal["domestic", "outbound"]
    guide_name: str | None
    guide_phone: str | None
    departure_date: date = Field(
        description="whether an outbound traveller is abroad now, whether a complaint's trip has ended"
    )
    return_date: date
