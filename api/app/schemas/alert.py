"""Alerts and the daily digest as the console reads them (issue 16 item 3)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AlertOut(BaseModel):
    id: int
    kind: str = Field(description="due_soon | overdue | digest")
    ticket_no: str | None
    deadline: str | None = Field(description="the deadline's name (labels: deadlines)")
    due_at: datetime | None
    text: str = Field(description="Chinese; nothing personal")
    created_at: datetime
    read: bool


class AlertList(BaseModel):
    items: list[AlertOut]
    unread: int


class DigestFigures(BaseModel):
    new: int = Field(description="complaints received on the previous China day")
    overdue: int = Field(description="open tickets with a step past its deadline")
    due_today: int = Field(description="open tickets with a step due later today")
    low_ratings: int = Field(description="tickets rated 1 or 2 stars on the previous China day")


class DigestOut(BaseModel):
    day: str = Field(description="China date of the digest (YYYY-MM-DD)")
    covers: str = Field(description="the previous China day, which new and low_ratings count")
    generated_at: datetime
    totals: DigestFigures
    by_department: dict[str, DigestFigures] = Field(description="department code -> figures")
