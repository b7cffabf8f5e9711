from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, status

from app.api.deps import NowDep, SessionDep, SettingsDep
from app.crud import users
from app.schemas.auth import LoginIn, TokenOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    summary="Log an agent or supervisor in; returns a bearer token",
    response_model=TokenOut,
    responses={401: {"description": "wrong username or password"}},
)
def login(body: LoginIn, session: SessionDep, settings: SettingsDep, now: NowDep) -> TokenOut:
    user = users.authenticate(session, username=body.username, password=body.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    ttl = timedelta(hours=settings.token_ttl_hours)
    token = users.issue_token(session, user=user, now=now, ttl=ttl)
    session.commit()
    return TokenOut(
        access_token=token, role=user.role, username=user.username,
        display_name=user.display_name, expires_in=int(ttl.total_seconds()),
    )
