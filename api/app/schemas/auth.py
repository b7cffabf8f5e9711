from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.schemas.common import CleanText


class LoginIn(BaseModel):
    username: CleanText(64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    role: Literal["agent", "supervisor"]
    username: str
    display_name: str
    expires_in: int = Field(description="seconds")
    must_change_password: bool = Field(
        False, description="true for the initial password: the token may only change it (POST /auth/password)"
    )


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=12, max_length=256, description="at least 12 characters")

    @model_validator(mode="after")
    def _different(self) -> "PasswordChangeIn":
        if self.new_password == self.current_password:
            raise ValueError("new_password must differ from current_password")
        if not self.new_password.strip():
            raise ValueError("new_password must not be blank")
        return self


class Done(BaseModel):
    ok: Literal[True] = True


PresenceStatus = Literal["online", "away", "offline"]


class PresenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: PresenceStatus = Field(description="chosen in the console header")


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool = Field(
        False, description="the agent used the console (keyboard, mouse) since the previous heartbeat"
    )


class PresenceOut(BaseModel):
    username: str
    display_name: str
    role: Literal["agent", "supervisor"]
    status: PresenceStatus = Field(description="as shown: the choice, unless idle (away) or silent (offline)")
    chosen: PresenceStatus
    automatic: bool = Field(description="status set automatically (idle, or the console stopped reporting)")
    last_seen_at: datetime | None
    last_active_at: datetime | None


class Roster(BaseModel):
    items: list[PresenceOut]
    online_agents: int = Field(description="agents online now (what the queue's wait estimate counts)")
    open_now: bool = Field(description="within the agents' opening hours (China time)")
    opening_hours: str = Field(description="e.g. 08:00–22:00 (China time, every day)")
    next_opening: datetime | None = Field(None, description="out of hours: when agents are back (China time)")
