"""The notices sent to a traveller about their ticket, with each send's outcome (staff only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class NoticeOut(BaseModel):
    kind: str = Field(description="progress | result | delay")
    event: str = Field(description="what it announces, e.g. status:investigating")
    text: str
    status: str = Field(description="pending | sending | sent | failed | skipped")
    route: str | None = Field(
        description="rasa:socketio | rasa:wechat (customer-service message) | wechat_template | tracker"
    )
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
