from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

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
