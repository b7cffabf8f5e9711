from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from app.schemas.common import TICKET_NO_PATTERN, CleanText
from app.services.taxonomy import Severity

HandoffStatus = Literal["waiting", "active", "closed", "returned"]
# emergency: someone's safety is in danger now (always urgent, whatever severity is sent);
# cancellation_request: a traveller asks to cancel their trip (general unless given).
Reason = Literal[
    "request_human", "urgent_complaint", "fallback", "form_failures", "emergency", "cancellation_request"
]
# note: an agent's private note (issue 15), shown to agents and supervisors only.
Sender = Literal["traveller", "bot", "agent", "system", "note"]

ConversationId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[\w.:@-]+$")
]


class HandoffCreate(BaseModel):
    """What the bot knows when it hands a conversation over."""

    model_config = ConfigDict(extra="forbid")

    conversation_id: ConversationId
    channel: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$")] = "rest"
    reason: Reason
    severity: Severity | None = Field(
        None,
        description="from the linked complaint; urgent for urgent_complaint; always urgent for emergency",
    )
    ticket_no: Annotated[str, StringConstraints(pattern=TICKET_NO_PATTERN)] | None = None
    summary: dict[str, Any] = Field(default_factory=dict, description="slots the bot collected")
    notice: CleanText(2000) | None = Field(
        None,
        description=(
            "for the traveller, when the conversation already waits for an agent (the bot is paused "
            "and cannot speak): relayed through their channel if this request joins an open handoff"
        ),
    )

    @field_validator("summary")
    @classmethod
    def _small_summary(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > 40:
            raise ValueError("at most 40 summary fields")
        # Only scalar values and short lists: the summary is shown to agents, not a data dump.
        clean: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            if isinstance(item, (list, tuple)):
                item = [str(v)[:500] for v in item][:20]
            elif not isinstance(item, (bool, int, float)):
                item = str(item)[:2000]
            clean[str(key)[:64]] = item
        return clean


class HandoffOut(BaseModel):
    id: int
    conversation_id: str
    channel: str
    reason: str
    severity: str
    colour: str
    ticket_no: str | None
    summary: dict[str, Any]
    status: HandoffStatus
    agent: str | None
    created_at: datetime
    taken_at: datetime | None
    first_agent_reply_at: datetime | None
    first_reply_wait_seconds: int | None
    closed_at: datetime | None
    waiting_seconds: int = Field(description="seconds since the handoff opened (until taken, if taken)")
    position: int | None = Field(None, description="place in the queue while waiting (1 = next)")
    expected_wait_minutes: int | None = Field(
        None,
        description="while waiting, from the agents online now; none when nobody is online or out of hours",
    )
    masked: bool = False
    agents_online: int = Field(0, description="agents online now (the wait estimate counts only them)")
    open_now: bool = Field(True, description="within the agents' opening hours (China time)")
    opening_hours: str = Field("", description="e.g. 08:00–22:00, China time, every day")
    next_opening: datetime | None = Field(None, description="out of hours: when agents are back (China time)")


class HandoffOpened(HandoffOut):
    created: bool = Field(description="false when the conversation already had an open handoff")
    upgraded: bool = Field(
        False, description="an emergency raised the conversation's open handoff to urgent (reason emergency)"
    )


class HandoffQueue(BaseModel):
    items: list[HandoffOut]
    waiting: int
    active: int


class TranscriptLineOut(BaseModel):
    sender: Sender
    text: str
    at: datetime
    agent: str | None = None
    buttons: list[str] = Field(default_factory=list)


class Transcript(BaseModel):
    handoff_id: int
    conversation_id: str
    status: HandoffStatus
    paused: bool | None = Field(None, description="Rasa's view: is the bot silent now")
    lines: list[TranscriptLineOut]
    source: Literal["rasa", "stored"]
    traveller_typing: bool = Field(False, description="the traveller is typing in the widget now (transient)")


class AgentMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class AgentMessageOut(BaseModel):
    handoff_id: int
    text: str
    at: datetime
    pushed: bool = Field(
        description="true if the channel pushes to the traveller (socketio); REST clients poll"
    )
    first_reply: bool


class HandoffEndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = Field(
        None, description="optional note stored with the ticket"
    )
    farewell: bool = Field(True, description="tell the traveller the agent has left")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class NoteOut(BaseModel):
    id: int
    handoff_id: int
    author: str = Field(description="the author's display name")
    text: str
    at: datetime


class TypingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    typing: StrictBool = Field(
        description="true while the agent types; false when they stop or clear the box"
    )


class TypingOut(BaseModel):
    pushed: bool = Field(description="the cue went to the traveller's widget (socketio only)")
