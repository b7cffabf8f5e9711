from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.orm import Session

from app.api.availability import AvailabilityDep
from app.api.deps import (
    BearerDep,
    ClientAddressDep,
    NowDep,
    PersonPending,
    SessionDep,
    SettingsDep,
    Staff,
    SupervisorOnly,
)
from app.api.errors import field_error, too_many_attempts
from app.core.security import Actor
from app.crud import presence, users, verify_guard
from app.crud.verify_guard import Subject
from app.schemas.auth import (
    Done,
    HeartbeatIn,
    LoginIn,
    PasswordChangeIn,
    PresenceIn,
    PresenceOut,
    Roster,
    TokenOut,
)
from app.services.availability import AvailabilitySettings

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    summary="Log an agent or supervisor in; returns a bearer token",
    response_model=TokenOut,
    responses={
        401: {"description": "wrong username or password"},
        429: {"description": "too many failures for this username or address; Retry-After says when"},
    },
)
def login(
    body: LoginIn, session: SessionDep, settings: SettingsDep, now: NowDep, address: ClientAddressDep
) -> TokenOut:
    # Counted before the password is checked (one statement), per username (lockout) and per
    # address; unknown usernames are counted and hashed like known ones.
    subjects = [Subject.hashed("user", body.username.lower(), settings.login_max_failures)]
    if address:
        subjects.append(Subject.hashed("login", address, settings.login_max_failures_per_address))
    window = timedelta(minutes=settings.login_window_minutes)
    try:
        with verify_guard.guarded(session, subjects=subjects, now=now, window=window, clear_kinds=("user",)):
            user = users.authenticate(
                session, username=body.username, password=body.password, scrypt_n=settings.password_scrypt_n
            )
            if user is None:
                raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    except verify_guard.Locked as locked:
        raise too_many_attempts("password", locked.retry_after, scope=locked.subject.kind) from None
    ttl = timedelta(hours=settings.token_ttl_hours)
    token = users.issue_token(session, user=user, now=now, ttl=ttl)
    if not user.must_change_password:
        # Logging in to the console is starting to work: online until chosen otherwise.
        presence.choose(session, user_id=user.id, status="online", now=now)
    session.commit()
    return TokenOut(
        access_token=token,
        role=user.role,
        username=user.username,
        display_name=user.display_name,
        expires_in=int(ttl.total_seconds()),
        must_change_password=user.must_change_password,
    )


@router.post(
    "/logout",
    summary="Revoke the token of this request",
    response_model=Done,
    responses={401: {"description": "missing or invalid token"}},
)
def logout(caller: PersonPending, token: BearerDep, session: SessionDep, now: NowDep) -> Done:
    users.revoke_token(session, token=token)
    if caller.user_id is not None:
        # Nobody answers from a logged-out console: the wait estimate must not count them.
        presence.choose(session, user_id=caller.user_id, status="offline", now=now)
    session.commit()
    return Done()


@router.post(
    "/password",
    summary="Change one's own password (required after logging in with the initial one)",
    response_model=Done,
    responses={
        403: {"description": "current password wrong"},
        401: {"description": "missing or invalid token"},
    },
)
def change_password(
    body: PasswordChangeIn,
    caller: PersonPending,
    token: BearerDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Done:
    user = users.authenticate(
        session, username=caller.name, password=body.current_password, scrypt_n=settings.password_scrypt_n
    )
    if user is None:
        raise field_error("body", "current_password", "wrong password", status.HTTP_403_FORBIDDEN)
    if body.new_password in (settings.agent_initial_password, settings.supervisor_initial_password):
        raise field_error("body", "new_password", "must not be an initial password")
    # Other sessions of this person end; this one goes on.
    users.change_password(
        session,
        user=user,
        new_password=body.new_password,
        now=now,
        scrypt_n=settings.password_scrypt_n,
        keep_token=token,
    )
    # The console opens now (the initial password only allowed this change).
    presence.choose(session, user_id=user.id, status="online", now=now)
    session.commit()
    return Done()


def _presence_out(p: presence.Presence) -> PresenceOut:
    return PresenceOut(
        username=p.user.username,
        display_name=p.user.display_name,
        role=p.user.role,
        status=p.status,
        chosen=p.chosen,
        automatic=p.automatic,
        last_seen_at=p.last_seen_at,
        last_active_at=p.last_active_at,
    )


def _own(session: Session, caller: Actor, now: datetime, availability: AvailabilitySettings) -> PresenceOut:
    user = users.get_by_username(session, username=caller.name)
    if user is None:  # the account went between the token check and here
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or invalid token")
    return _presence_out(presence.presence_of(session, user=user, now=now, settings=availability))


@router.put(
    "/presence",
    summary="Choose one's availability: online, away or offline (the console header)",
    response_model=PresenceOut,
)
def choose_presence(
    body: PresenceIn, caller: Staff, session: SessionDep, now: NowDep, availability: AvailabilityDep
) -> PresenceOut:
    presence.choose(session, user_id=caller.user_id, status=body.status, now=now)
    session.commit()
    return _own(session, caller, now, availability)


@router.post(
    "/heartbeat",
    summary="The console is open (every 30 s or so); `active` when the agent used it since the last one",
    response_model=PresenceOut,
    description=(
        "Without heartbeats for AGENT_OFFLINE_SECONDS an agent is offline; without activity for "
        "AGENT_AWAY_MINUTES an agent who chose online is shown away, and online again on the next activity."
    ),
)
def heartbeat(
    body: HeartbeatIn, caller: Staff, session: SessionDep, now: NowDep, availability: AvailabilityDep
) -> PresenceOut:
    presence.heartbeat(session, user_id=caller.user_id, now=now, active=body.active)
    session.commit()
    return _own(session, caller, now, availability)


@router.get(
    "/presence",
    summary="Who of the desk is online, away or offline (supervisors), and the opening hours",
    response_model=Roster,
    responses={403: {"description": "agents see only their own status (PUT /auth/presence)"}},
)
def roster(caller: SupervisorOnly, session: SessionDep, now: NowDep, availability: AvailabilityDep) -> Roster:
    items = presence.roster(session, now=now, settings=availability)
    hours = availability.hours
    return Roster(
        items=[_presence_out(p) for p in items],
        online_agents=sum(1 for p in items if p.user.role == "agent" and p.status == "online"),
        open_now=hours.is_open(now),
        opening_hours=hours.label,
        next_opening=hours.next_opening(now),
    )
