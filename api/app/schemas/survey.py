"""The satisfaction survey the traveller answers in chat after the ticket closes (DESIGN §6)."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class SurveyIn(BaseModel):
    rating: int | None = Field(None, ge=1, le=5, description="1-5 stars")
    comment: str | None = Field(None, min_length=1, max_length=500, description="optional, free text")
    confirmed: bool | None = Field(None, description="the traveller accepts the written result")

    @model_validator(mode="after")
    def _something(self) -> SurveyIn:
        if self.rating is None and self.comment is None and self.confirmed is None:
            raise ValueError("give rating, comment or confirmed")
        return self


class SurveyOut(BaseModel):
    ticket_no: str
    confirmed: bool | None
    satisfaction: int | None = Field(description="1-5 stars")
    score: int | None = Field(description="satisfaction out of 100 (stars x 20); the target is 90")
    second_follow_up: bool = Field(description="a rating of 1 or 2 asks the owner for a second follow-up")
