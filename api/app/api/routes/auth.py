from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, status

from app.api.deps import BearerDep, ClientAddressDep, NowDep, PersonPending, SessionDep, SettingsDep
from app.api.errors import field_error, too_many_attempts
from app.crud import users, verify_guard
from app.crud.verify_guard import Subject
from app.schemas.auth import Done, LoginIn, PasswordChangeIn, TokenOut

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
def logout(caller: PersonPending, token: BearerDep, session: SessionDep) -> Done:
    users.revoke_token(session, token=token)
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
    session.commit()
    return Done()
