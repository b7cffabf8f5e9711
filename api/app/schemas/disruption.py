"""Disruption notices to a departure's travellers (services/disruptions.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import CleanText


class DepartureOut(BaseModel):
    product: str
    departure_date: date
    return_date: date
    bookings: int
    travellers: int
    contacts: int = Field(description="conversations a notice would reach (verified a booking of it)")
    under_way: bool = Field(description="China's date is between departure and return")


class DisruptionIn(BaseModel):
    product: CleanText(200)
    departure_date: date
    text: CleanText(2000) = Field(description="the notice, in Chinese, as the traveller reads it")


class AlternativeIn(BaseModel):
    note: CleanText(2000) = Field(description="the alternative plan offered to the travellers")


class AlternativeOut(BaseModel):
    due_at: datetime = Field(description="1 hour after the notice (in-trip alternative plan)")
    state: Literal["met", "due", "breached"]
    offered_at: datetime | None
    offered_by: str | None
    note: str | None


class RecipientOut(BaseModel):
    booking_ref: str
    traveller: str = Field(description="the booking holder's name, masked")
    conversation: str = Field(description="masked conversation id (channel tag, head, hash)")
    channel: str | None
    status: str = Field(description="pending | sending | sent | failed | skipped")
    route: str | None = Field(description="rasa:socketio | rasa:wechat | wechat_template | tracker")
    attempts: int
    last_error: str | None
    sent_at: datetime | None


class DisruptionOut(BaseModel):
    id: int
    product: str
    departure_date: date
    return_date: date
    text: str
    created_by: str
    created_at: datetime
    in_trip: bool
    alternative: AlternativeOut | None
    recipients_total: int
    delivered: int
    pending: int
    failed: int
    recipients: list[RecipientOut] = Field(default_factory=list, description="GET /disruptions/{id} only")
    added: int | None = Field(None, description="POST: notices written by this call")


class ReplyOut(BaseModel):
    text: str = Field(description="the traveller's message, personal data masked")
    at: datetime


class RecipientReplies(BaseModel):
    booking_ref: str
    conversation: str
    notice_delivered: bool
    replies: list[ReplyOut]
    error: str | None = Field(None, description="set when the conversation could not be read")


class DisruptionReplies(BaseModel):
    disruption_id: int
    recipients: list[RecipientReplies]
