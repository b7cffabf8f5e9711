"""Response model of GET /report (app/services/report.py says what every figure means)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Volume(BaseModel):
    total: int
    by_category: dict[str, int]
    by_severity: dict[str, int]
    by_stage: dict[str, int] = Field(description="'unknown' when no booking told the stage")
    by_department: dict[str, int]
    by_status: dict[str, int]


class PeriodFigures(Volume):
    period: str = Field(description="ISO week (2026-W49) or month (2026-12), China time")
    satisfaction_score: float | None
    repeat_tickets: int
    handoffs: int
    first_reply_mean_seconds: int | None
    containment_share: float | None


class StepDeadlines(BaseModel):
    step: str
    met: int
    breached: int
    open: int
    met_share: float | None = Field(description="met / (met + breached); target 1.0")


class Satisfaction(BaseModel):
    count: int
    score: float | None = Field(description="mean rating x 20, out of 100")
    low: int = Field(description="ratings of 1 or 2")
    target: int


class Repeats(BaseModel):
    tickets: int = Field(description="tickets sharing a booking or phone with an earlier one of the period")
    groups: int = Field(description="bookings/phones with more than one ticket in the period")
    flagged: int = Field(description="tickets flagged as repeats at creation (booking seen before)")


class AgentReply(BaseModel):
    agent: str
    name: str
    replied: int
    mean_seconds: int
    within_target: int


class FirstReply(BaseModel):
    handoffs: int
    replied: int
    unanswered: int
    mean_seconds: int | None = Field(description="from the handoff to the first agent message")
    median_seconds: int | None
    mean_after_take_seconds: int | None = Field(description="from the take to the first agent message")
    within_target: int
    within_target_share: float | None
    target_seconds: int
    by_agent: list[AgentReply]


class Containment(BaseModel):
    bot_tickets: int = Field(description="complaints the bot filed (tickets with a conversation id)")
    contained: int = Field(description="of those, conversations that never had a handoff")
    share: float | None
    handoffs: int
    handoffs_by_reason: dict[str, int]


class Phrase(BaseModel):
    text: str = Field(description="the traveller's last message, personal data masked")
    count: int


class ReportOut(Volume):
    start: str
    end: str = Field(description="last China date included")
    granularity: Literal["week", "month"]
    generated_at: str
    periods: list[PeriodFigures]
    deadlines: list[StepDeadlines]
    satisfaction: Satisfaction
    repeats: Repeats
    first_reply: FirstReply
    containment: Containment
    misunderstood: list[Phrase]
