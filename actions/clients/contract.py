"""What the bot sends to and reads from the ticketing API: one typed description.

The API's pydantic schemas (api/app/schemas) are the source of truth; the two services
run in separate environments and share no code, so the bot keeps this copy of the part
it relies on, and `tests/test_contract.py` checks it against the running API's
`/openapi.json`: every path and method the client calls, every field the bot sends or
reads (name, JSON type, always present or not). A field renamed or dropped in the API
fails that test instead of a traveller's conversation.

Only the fields the bot uses are listed; the API may return more. `total=False`
classes hold the fields the API may leave out or set to null.
"""

from __future__ import annotations

from typing import Dict, List, Literal, NamedTuple, Optional, TypedDict

# ---------------------------------------------------------------- bookings

# "from" is a Python keyword: the functional syntax keeps the API's field name.
Flight = TypedDict("Flight", {"number": str, "from": str, "to": str, "departure": str, "arrival": str})


class Meeting(TypedDict):
    time: str
    place: str


class _GuideRequired(TypedDict):
    name: str


class Guide(_GuideRequired, total=False):
    phone: Optional[str]


class _DayRequired(TypedDict):
    day: int
    date: str
    title: str


class ItineraryDay(_DayRequired, total=False):
    hotel: Optional[str]
    meeting: Optional[Meeting]
    flights: List[Flight]
    guide: Optional[Guide]


class Booking(TypedDict):
    ref: str
    product: str
    tour_type: Literal["domestic", "outbound"]
    departure_date: str
    return_date: str
    price_cny: int
    guide_name: Optional[str]
    guide_phone: Optional[str]
    itinerary: List[ItineraryDay]
    included: List[str]
    excluded: List[str]


class BookingVerified(TypedDict):
    booking: Booking
    grant: str
    grant_expires_at: str


class EmergencyContact(TypedDict):
    ref: str
    tour_type: Literal["domestic", "outbound"]
    guide_name: Optional[str]
    guide_phone: Optional[str]
    # ISO dates: whether the traveller is abroad now, whether a complaint's trip has ended.
    departure_date: str
    return_date: str


class PhoneCheck(TypedDict):
    phone_last4: str
    sender_id: str
    # Where notices about this booking reach the traveller (disruptions, itinerary reminder).
    channel: str


# ---------------------------------------------------------------- classifier


class ClassifyIn(TypedDict):
    text: str


class Classification(TypedDict):
    category: str
    category_label: str  # shown in the summary: the bot keeps no category wording of its own
    severity: str
    department: str
    department_name: str
    confidence: float


# ---------------------------------------------------------------- tickets


class _TicketCreateRequired(TypedDict):
    phone: str
    description: str


class TicketCreate(_TicketCreateRequired, total=False):
    booking_ref: str
    name: str
    channel: str
    conversation_id: str
    occurred_at: str
    location: str
    evidence: List[str]
    request: str
    request_detail: str
    emotion: str


class Deadline(TypedDict):
    name: str
    label: str  # what the traveller reads for the step (the API's wording, as sent)
    due_at: str
    done_at: Optional[str]
    state: str


class _ProgressRequired(TypedDict):
    status: str
    status_label: str
    measures: List[str]
    expected_completion: Optional[str]
    responsible_person: Optional[str]


class Progress(_ProgressRequired, total=False):
    delay_reason: Optional[str]


class Ticket(TypedDict):
    ticket_no: str
    status: str
    status_label: str
    severity: str
    severity_label: str
    department_name: str
    deadlines: List[Deadline]
    progress: Progress


class TicketVerify(TypedDict):
    phone_last4: str
    sender_id: str


class TicketProgress(TypedDict):
    """The traveller's view of a ticket after a right phone check (TicketVerified)."""

    ticket_no: str
    status: str
    status_label: str
    deadlines: List[Deadline]
    progress: Progress
    escalated: bool
    grant: str
    grant_expires_at: str


class SurveyAnswer(TypedDict, total=False):
    """What the traveller answered after the ticket closed (SurveyIn): at least one field."""

    rating: int
    comment: str
    confirmed: bool


class SurveyRecorded(TypedDict):
    ticket_no: str
    satisfaction: Optional[int]
    score: Optional[int]
    second_follow_up: bool


# ---------------------------------------------------------------- handoffs


class _HandoffCreateRequired(TypedDict):
    conversation_id: str
    reason: str


class HandoffCreate(_HandoffCreateRequired, total=False):
    channel: str
    severity: str
    ticket_no: str
    summary: Dict[str, object]
    notice: str


class _HandoffRequired(TypedDict):
    id: int
    severity: str
    status: str


class Handoff(_HandoffRequired, total=False):
    position: Optional[int]
    expected_wait_minutes: Optional[int]


class HandoffOpened(Handoff):
    created: bool


# ---------------------------------------------------------------- endpoints


class Endpoint(NamedTuple):
    method: str
    path: str
    request: Optional[type]
    response: type
    # The API's schema names (components/schemas) the two sides are compared with.
    request_schema: Optional[str]
    response_schema: str


ENDPOINTS: Dict[str, Endpoint] = {
    "verify_booking": Endpoint(
        "POST", "/bookings/{ref}/verify", PhoneCheck, BookingVerified, "PhoneCheck", "BookingVerified"
    ),
    "get_booking": Endpoint("GET", "/bookings/{ref}", None, Booking, None, "BookingOut"),
    "emergency_contact": Endpoint(
        "GET", "/bookings/{ref}/emergency-contact", None, EmergencyContact, None, "EmergencyContact"
    ),
    "classify": Endpoint("POST", "/classify", ClassifyIn, Classification, "ClassifyIn", "ClassifyOut"),
    "create_ticket": Endpoint("POST", "/tickets", TicketCreate, Ticket, "TicketCreate", "TicketOut"),
    "verify_ticket": Endpoint(
        "POST", "/tickets/{ticket_no}/verify", TicketVerify, TicketProgress, "TicketVerify", "TicketVerified"
    ),
    "get_ticket": Endpoint("GET", "/tickets/{ticket_no}", None, Ticket, None, "TicketOut"),
    "answer_survey": Endpoint(
        "POST", "/tickets/{ticket_no}/survey", SurveyAnswer, SurveyRecorded, "SurveyIn", "SurveyOut"
    ),
    "open_handoff": Endpoint(
        "POST", "/handoffs", HandoffCreate, HandoffOpened, "HandoffCreate", "HandoffOpened"
    ),
    "get_handoff": Endpoint("GET", "/handoffs/{handoff_id}", None, Handoff, None, "HandoffOut"),
}


def path(name: str, **params: str) -> str:
    """The endpoint's path with its parameters filled in."""
    return ENDPOINTS[name].path.format(**params)
