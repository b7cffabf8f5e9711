"""Dependency aliases for the routes: session, clock, caller identity and role checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import get_session
from app.core.security import Actor, same_secret
from app.crud import audit, users

SessionDep = Annotated[Session, Depends(get_session)]


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with (create_app(settings))."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_recent_reads(request: Request) -> audit.RecentReads:
    """The app's memory of recent identical reads (audit.RecentReads): polls are one row a minute."""
    return audit.recent_reads(request.app.state)


RecentReadsDep = Annotated[audit.RecentReads, Depends(get_recent_reads)]


def get_now() -> datetime:
    return datetime.now(UTC)


NowDep = Annotated[datetime, Depends(get_now)]

_bearer = HTTPBearer(auto_error=False, description="service token, or a token from POST /auth/login")


def get_client_address(request: Request) -> str | None:
    """The peer's address as the server saw it (no proxy headers: they are the client's to forge)."""
    return request.client.host if request.client else None


ClientAddressDep = Annotated[str | None, Depends(get_client_address)]


def get_bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        return None
    return credentials.credentials


BearerDep = Annotated[str | None, Depends(get_bearer_token)]

# What the service (the bot) shows to read a traveller's booking, ticket or handoff: the grant of
# a right phone check and the conversation it acts for. The bot's token alone reads none of them.
GrantHeader = Annotated[
    str | None,
    Header(
        alias="X-Verification-Grant", max_length=200, description="service: the grant of a right phone check"
    ),
]
SenderHeader = Annotated[
    str | None,
    Header(
        alias="X-Sender-Id", max_length=200, description="service: the conversation (sender id) it acts for"
    ),
]


def _resolve(
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> tuple[Actor, bool]:
    """(the caller, whether the caller must still change the initial password)."""
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED, "missing or invalid token", headers={"WWW-Authenticate": "Bearer"}
    )
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise unauthorized
    token = credentials.credentials
    if same_secret(token, settings.api_service_token):
        return Actor(name="service", role="service", display_name="客服机器人"), False
    user = users.user_for_token(session, token=token, now=now)
    if user is None:
        raise unauthorized
    actor = Actor(name=user.username, role=user.role, user_id=user.id, display_name=user.display_name)
    return actor, user.must_change_password


def get_actor_pending(resolved: Annotated[tuple[Actor, bool], Depends(_resolve)]) -> Actor:
    """The caller, even a person who still has to change the initial password."""
    return resolved[0]


def get_actor(resolved: Annotated[tuple[Actor, bool], Depends(_resolve)]) -> Actor:
    """The caller; a person who logged in with the initial password may only change it."""
    actor, must_change = resolved
    if must_change:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            {"field": "password", "msg": "change the initial password first (POST /auth/password)"},
        )
    return actor


def require(*roles: str) -> Callable[..., Actor]:
    def dependency(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
        if actor.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {actor.role} may not do this")
        return actor

    return dependency


AnyCaller = Annotated[Actor, Depends(require("service", "agent", "supervisor"))]
ServiceOnly = Annotated[Actor, Depends(require("service"))]
Staff = Annotated[Actor, Depends(require("agent", "supervisor"))]
SupervisorOnly = Annotated[Actor, Depends(require("supervisor"))]
ServiceOrStaff = AnyCaller
# A logged-in person, the initial password not yet changed included (to change it, to log out).
PersonPending = Annotated[Actor, Depends(get_actor_pending)]


def get_classifier():
    # Imported here so that the model loads on first use, not at import time.
    from app.services.classifier import get_classifier as load

    return load()


ClassifierDep = Annotated[object, Depends(get_classifier)]
