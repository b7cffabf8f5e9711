from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.schemas.common import BookingRef, ChinaDatetime, CleanText, Mobile, PhoneLast4
from app.services.taxonomy import Category, Severity, Stage

Status = Literal["received", "investigating", "plan_made", "resolved", "followed_up", "closed", "rejected"]
RequestKind = Literal["refund", "compensation", "apology", "fix", "other"]
DeadlineState = Literal["met", "due", "breached"]
Text = CleanText  # stripped, 1..n characters, no NUL, not blank or invisible only


class TicketCreate(BaseModel):
    """Every record field a client can give (DESIGN §3). The rest is derived by the service."""

    model_config = ConfigDict(extra="forbid")

    booking_ref: BookingRef | None = Field(None, description="TR + 8 digits; must exist if given")
    name: Text(64) | None = None
    phone: Mobile = Field(description="mainland mobile, 11 digits")
    channel: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$")] = Field(
        "rest", description="rest, socketio, wechat, console, phone, ..."
    )
    conversation_id: Text(128) | None = None
    stage: Stage | None = Field(None, description="derived from the booking's dates when absent")
    description: Text(4000)
    occurred_at: Text(100) | None = Field(None, description="free text or ISO 8601")
    location: Text(200) | None = None
    evidence: list[Text(500)] = Field(default_factory=list, max_length=20, description="URLs or media ids")
    request: RequestKind | None = Field(
        None, description="what the traveller asks for, as a normalised label"
    )
    request_detail: Text(500) | None = Field(None, description="what the traveller asks for, in their words")
    emotion: Text(32) | None = None
    category: Category | None = Field(None, description="override; otherwise the classifier decides")
    severity: Severity | None = Field(None, description="override; otherwise the classifier decides")


class Person(BaseModel):
    username: str
    display_name: str


class DeadlineOut(BaseModel):
    name: str
    label: str = Field(description="the step as travellers and agents read it (GET /labels: deadlines)")
    due_at: datetime
    done_at: datetime | None
    state: DeadlineState


class NoteOut(BaseModel):
    author: str
    text: str
    public: bool
    created_at: datetime


class ResultParts(BaseModel):
    findings: Text(4000) = Field(description="what was found")
    measures: Text(4000) = Field(description="what was done and its effect")
    apology: Text(4000) = Field(description="thanks and apology to the traveller")


class ResultOut(BaseModel):
    findings: str | None
    measures: str | None
    apology: str | None


class Compensation(BaseModel):
    status: Literal["recorded", "verified", "planned", "agreed", "paid"]
    method: Literal["cash", "in_kind", "service", "other"] | None = None
    loss_type: Literal["personal_injury", "property", "other"] | None = None
    amount_cny: int | None = Field(None, ge=0, le=10_000_000)


class Progress(BaseModel):
    """What a progress message to the traveller states (DESIGN §3)."""

    status: Status
    status_label: str
    measures: list[str] = Field(description="public notes: measures taken so far")
    expected_completion: datetime | None
    responsible_person: str | None
    delay_reason: str | None = None


class NextStatus(BaseModel):
    status: Status
    ready: bool = Field(description="false: the workflow allows the move once a record is made (see code)")
    code: str | None = Field(None, description="what is missing: satisfaction_required, result_required")
    field: str | None = None


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    actor_role: str
    action: str
    field: str | None
    old: str | None = Field(description="codes, numbers and dates only; free text is left out")
    new: str | None


class TicketOut(BaseModel):
    ticket_no: str
    status: Status
    status_label: str
    booking_ref: str | None
    name: str | None
    phone: str
    masked: bool = Field(description="true when name and phone are masked for the caller")
    channel: str
    conversation_id: str | None
    received_at: datetime
    stage: Stage | None
    description: str
    occurred_at: str | None
    location: str | None
    evidence: list[str]
    request: RequestKind | None
    request_detail: str | None = Field(description="what the traveller asks for, in their words")
    emotion: str | None
    category: Category
    category_label: str
    severity: Severity
    severity_label: str
    colour: str
    department: str
    department_name: str
    authority_level: int
    confidence: float | None
    classifier_reasons: list[str]
    owner: Person | None
    is_repeat: bool
    calendar_fallback: bool = Field(description="deadlines used the weekends-only fallback calendar")
    first_response_at: datetime | None
    deadlines: list[DeadlineOut]
    progress: Progress
    notes: list[NoteOut]
    result: ResultOut | None = Field(description="the written result; all three parts are needed to close")
    rejection_reason: str | None
    confirmed: bool | None
    satisfaction: int | None
    second_follow_up: bool = Field(description="a low rating asks for a second follow-up")
    compensation: Compensation | None
    updated_at: datetime
    closed_at: datetime | None
    next_statuses: list[NextStatus] = Field(
        default_factory=list, description="staff: the moves the workflow allows now (console's choices)"
    )
    next_compensation_status: str | None = Field(
        default=None, description="staff: the compensation step that may be recorded next; null once paid"
    )
    history: list[HistoryEntry] = Field(default_factory=list, description="staff: changes from the audit log")


class TicketProgressOut(BaseModel):
    """The bot's view after the traveller proved the phone: progress, nothing personal."""

    ticket_no: str
    status: Status
    status_label: str
    category: Category
    category_label: str
    severity: Severity
    received_at: datetime
    deadlines: list[DeadlineOut]
    progress: Progress
    escalated: bool = Field(description="a deadline had passed, the ticket went one authority level up")
    authority_level: int


class TicketVerified(TicketProgressOut):
    grant: str = Field(
        description="proof of this check for GET /tickets/{ticket_no} (header X-Verification-Grant, with "
        "X-Sender-Id): bound to the ticket and the sender id"
    )
    grant_expires_at: datetime


class TicketSummary(BaseModel):
    ticket_no: str
    status: Status
    booking_ref: str | None
    name: str | None = Field(description="always masked in lists")
    phone: str = Field(description="always masked in lists")
    stage: Stage | None
    category: Category
    severity: Severity
    request: RequestKind | None
    request_detail: str | None = Field(
        description="the traveller's words (mobile numbers masked, as in every list)"
    )
    department: str
    authority_level: int
    owner: Person | None
    is_repeat: bool
    received_at: datetime
    deadline_state: DeadlineState = Field(
        description="breached if any deadline is, due if any is open, else met"
    )
    next_due_at: datetime | None = Field(None, description="when the earliest open step falls due")
    overdue: bool = Field(False, description="an open step is past its deadline now")


class TicketPage(BaseModel):
    items: list[TicketSummary]
    total: int
    limit: int
    offset: int


class TicketVerify(BaseModel):
    phone_last4: PhoneLast4
    sender_id: CleanText(200) = Field(
        description="the traveller's conversation: misses are also counted per sender"
    )


class TransitionIn(BaseModel):
    status: Status
    reason: Text(2000) | None = Field(None, description="required for rejected")
    plan: Text(2000) | None = Field(
        None, description="required for plan_made: the plan, kept as an internal note"
    )


class NoteIn(BaseModel):
    text: Text(2000)
    public: bool = Field(False, description="public notes are shown to the traveller as measures taken")


class FeedbackIn(BaseModel):
    confirmed: bool | None = Field(None, description="the traveller confirms the result")
    satisfaction: int | None = Field(None, ge=1, le=5)

    @model_validator(mode="after")
    def _something(self) -> "FeedbackIn":
        if self.confirmed is None and self.satisfaction is None:
            raise ValueError("give confirmed or satisfaction")
        return self


class DelayIn(BaseModel):
    """The complaint cannot be solved in time: the traveller is told why and when."""

    reason: Text(2000)
    expected_at: ChinaDatetime = Field(description="without a zone: China time")


class StatsOut(BaseModel):
    total: int
    by_category: dict[str, int]
    by_severity: dict[str, int]
    by_stage: dict[str, int]
    by_status: dict[str, int]
    by_department: dict[str, int]
    repeats: int
    deadlines_met: int
    deadlines_breached: int
    deadlines_open: int
    deadlines_met_share: float | None = Field(description="met / (met + breached); null when none decided")
    satisfaction_count: int
    satisfaction_mean: float | None
    low_satisfaction: int = Field(description="ratings of 1-2, each needing a second follow-up")
