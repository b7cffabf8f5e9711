"""Agents and supervisors in the tests, as the API now treats them.

Every account starts with an initial password that only lets it change the password
(`must_change_password`, POST /auth/password). A test session runs on a fresh database, so
the first login of each account changes its initial password to this session's password,
and every later login (the HTTP helpers here, the console in Chromium) uses the new one.
The state is per process: one pytest session or one script run, one database. Tests that
start an API on another database type their passwords themselves.
"""

from __future__ import annotations

import secrets
import threading
from typing import Dict, Optional

import httpx

from tests.services import base_env

AGENTS = ("agent1", "agent2")
STAFF = AGENTS + ("supervisor",)

_SUFFIX = secrets.token_urlsafe(9)  # this session's passwords; never an initial one
_changed: Dict[str, bool] = {}
_lock = threading.Lock()


def initial_password(username: str, env: Optional[Dict[str, str]] = None) -> str:
    """The password the API created the account with (dev.env's, the environment winning)."""
    env = env or base_env()
    if username == "supervisor":
        return env.get("SUPERVISOR_INITIAL_PASSWORD", "dev-supervisor-password")
    return env.get("AGENT_INITIAL_PASSWORD", "dev-agent-password")


def session_password(username: str) -> str:
    """The password the tests give an account on its first login (12+ characters)."""
    return f"test-{username}-{_SUFFIX}"


def password(username: str, env: Optional[Dict[str, str]] = None) -> str:
    """The account's password now: the initial one until a helper has changed it."""
    return session_password(username) if _changed.get(username) else initial_password(username, env)


def needs_change(username: str) -> bool:
    return not _changed.get(username)


def mark_changed(username: str) -> None:
    """Called once the initial password has been replaced by session_password()."""
    _changed[username] = True


def login(
    base: str, username: str, client: Optional[httpx.Client] = None, env: Optional[Dict[str, str]] = None
) -> Dict[str, str]:
    """Bearer headers of a fresh login; the first login of the session changes the initial
    password (POST /auth/password) before the token is used for anything else."""
    client = client or httpx.Client(timeout=60)
    base = base.rstrip("/")
    with _lock:
        current = password(username, env)
        response = client.post(f"{base}/auth/login", json={"username": username, "password": current})
        if response.status_code == 401 and _changed.get(username):
            # An API on its own fresh database: the account still has its initial password.
            current = initial_password(username, env)
            response = client.post(f"{base}/auth/login", json={"username": username, "password": current})
        if response.status_code != 200:
            raise RuntimeError(f"login of {username} refused: {response.status_code} {response.text}")
        body = response.json()
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        if body.get("must_change_password"):
            changed = client.post(
                f"{base}/auth/password",
                headers=headers,
                json={"current_password": current, "new_password": session_password(username)},
            )
            if changed.status_code != 200:
                raise RuntimeError(
                    f"password change of {username} refused: {changed.status_code} {changed.text}"
                )
            mark_changed(username)
        return headers


def booking(base: str, ref: str, client: Optional[httpx.Client] = None) -> Dict:
    """A booking as the API holds it, read by the supervisor (unmasked; audited as
    read_personal_data). The service token reads a booking only with the grant of a phone
    check for one sender, which is the bot's, not the tests'."""
    client = client or httpx.Client(timeout=60)
    response = client.get(f"{base.rstrip('/')}/bookings/{ref}", headers=login(base, "supervisor", client))
    if response.status_code != 200:
        raise RuntimeError(f"booking {ref} not read: {response.status_code} {response.text}")
    return response.json()
