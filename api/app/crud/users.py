from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.core.security import (
    SCRYPT_N,
    dummy_hash,
    hash_password,
    hash_token,
    needs_rehash,
    new_token,
    verify_password,
)
from app.models import ApiToken, Ticket, User

# The initial desk: (username, display name, role). Passwords come from the environment.
INITIAL_USERS = (
    ("agent1", "张敏", "agent"),
    ("agent2", "李强", "agent"),
    ("supervisor", "王芳", "supervisor"),
)
OPEN_STATUSES = ("received", "investigating", "plan_made", "resolved", "followed_up")


def get_by_username(session: Session, *, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    must_change_password: bool = True,
    scrypt_n: int = SCRYPT_N,
) -> User:
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password, n=scrypt_n),
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    return user


def seed_initial_users(
    session: Session, *, agent_password: str, supervisor_password: str, scrypt_n: int = SCRYPT_N
) -> int:
    """Create missing initial accounts (they must change the initial password before anything
    else); existing ones (and changed passwords) are left alone."""
    added = 0
    for username, display_name, role in INITIAL_USERS:
        if get_by_username(session, username=username) is None:
            password = supervisor_password if role == "supervisor" else agent_password
            create_user(
                session,
                username=username,
                display_name=display_name,
                role=role,
                password=password,
                scrypt_n=scrypt_n,
            )
            added += 1
    return added


def authenticate(session: Session, *, username: str, password: str, scrypt_n: int = SCRYPT_N) -> User | None:
    """The user when the password is right. Unknown and inactive users cost one scrypt too,
    so the answer's timing does not tell which usernames exist. A right password stored
    with weaker parameters is rehashed with the current ones."""
    user = get_by_username(session, username=username)
    stored = user.password_hash if user is not None else dummy_hash(n=scrypt_n)
    matches = verify_password(password, stored)
    if user is None or not user.is_active or not matches:
        return None
    if needs_rehash(user.password_hash, n=scrypt_n):
        user.password_hash = hash_password(password, n=scrypt_n)
    return user


def change_password(
    session: Session,
    *,
    user: User,
    new_password: str,
    now: datetime,
    scrypt_n: int = SCRYPT_N,
    keep_token: str | None = None,
) -> None:
    """Set a new password; every other token of the user is revoked."""
    user.password_hash = hash_password(new_password, n=scrypt_n)
    user.must_change_password = False
    revoke = delete(ApiToken).where(ApiToken.user_id == user.id)
    if keep_token is not None:
        revoke = revoke.where(ApiToken.token_hash != hash_token(keep_token))
    session.execute(revoke)
    session.flush()


def revoke_token(session: Session, *, token: str) -> None:
    session.execute(delete(ApiToken).where(ApiToken.token_hash == hash_token(token)))


def issue_token(session: Session, *, user: User, now: datetime, ttl: timedelta) -> str:
    token = new_token()
    session.execute(delete(ApiToken).where(ApiToken.expires_at < now))  # keep the table small
    session.add(ApiToken(token_hash=hash_token(token), user_id=user.id, created_at=now, expires_at=now + ttl))
    session.flush()
    return token


def user_for_token(session: Session, *, token: str, now: datetime) -> User | None:
    row = session.get(ApiToken, hash_token(token))
    if row is None or row.expires_at <= now or not row.user.is_active:
        return None
    return row.user


def pick_owner(session: Session) -> User | None:
    """The active agent with the fewest open tickets (ties: lowest id) owns a new ticket."""
    open_count = (
        select(func.count(Ticket.id))
        .where(Ticket.owner_id == User.id, Ticket.status.in_(OPEN_STATUSES))
        .correlate(User)
        .scalar_subquery()
    )
    return session.scalar(
        select(User)
        .where(User.role == "agent", User.is_active.is_(True))
        .order_by(open_count, User.id)
        .limit(1)
    )
