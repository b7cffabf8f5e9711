"""Logins: lockout and rate limit, no user enumeration by timing, logout revokes, the initial
password must be changed, stronger scrypt with old hashes upgraded."""

from __future__ import annotations


from sqlalchemy import select, update

from app.core.security import hash_password
from app.models import User
from tests.conftest import AGENT_PASSWORD, login


def _login(client, username="agent2", password=AGENT_PASSWORD):
    return client.post("/auth/login", json={"username": username, "password": password})


def test_five_failures_lock_the_account_even_for_the_right_password(client):
    assert [_login(client, password="wrong").status_code for _ in range(5)] == [401] * 5
    locked = _login(client)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert locked.json()["detail"]["scope"] == "user"
    assert _login(client, "agent1").status_code == 200  # another account is not locked


def test_unknown_usernames_are_counted_and_cost_a_hash_too(client, monkeypatch):
    calls = []
    import app.crud.users as users

    real = users.verify_password
    monkeypatch.setattr(users, "verify_password", lambda p, s: calls.append(s) or real(p, s))
    assert _login(client, "nobody", "whatever").status_code == 401
    assert len(calls) == 1 and calls[0].startswith("scrypt$")  # the dummy hash: same work as a real user
    assert [_login(client, "nobody", "x").status_code for _ in range(5)] == [401] * 4 + [429]


def test_logout_revokes_the_token(client):
    headers = login(client, "agent1")
    assert client.get("/tickets", headers=headers).status_code == 200
    assert client.post("/auth/logout", headers=headers).status_code == 200
    assert client.get("/tickets", headers=headers).status_code == 401


def test_initial_password_must_be_changed_first(client, db):
    db.execute(update(User).where(User.username == "agent2").values(must_change_password=True))
    db.commit()
    first = _login(client)
    assert first.status_code == 200 and first.json()["must_change_password"] is True
    headers = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert client.get("/tickets", headers=headers).status_code == 403
    short = client.post(
        "/auth/password", json={"current_password": AGENT_PASSWORD, "new_password": "short"}, headers=headers
    )
    assert short.status_code == 422
    wrong = client.post(
        "/auth/password",
        json={"current_password": "nope", "new_password": "a-new-long-password"},
        headers=headers,
    )
    assert wrong.status_code == 403
    assert (
        client.post(
            "/auth/password",
            json={"current_password": AGENT_PASSWORD, "new_password": "a-new-long-password"},
            headers=headers,
        ).status_code
        == 200
    )
    assert client.get("/tickets", headers=headers).status_code == 200
    assert _login(client).status_code == 401
    assert _login(client, password="a-new-long-password").json()["must_change_password"] is False


def test_old_hashes_still_verify_and_are_upgraded_on_login(client, db, app):
    app.state.settings = app.state.settings.model_copy(update={"password_scrypt_n": 2**15})
    db.execute(
        update(User)
        .where(User.username == "agent2")
        .values(password_hash=hash_password(AGENT_PASSWORD, n=2**14))
    )
    db.commit()
    assert _login(client).status_code == 200
    stored = db.scalar(select(User.password_hash).where(User.username == "agent2"))
    assert stored.startswith(f"scrypt${2**15}$")
    assert _login(client).status_code == 200


def test_production_cost_is_at_least_owasps_minimum():
    from app.core.config import Settings
    from app.core.security import SCRYPT_N

    assert SCRYPT_N >= 2**17 and Settings().password_scrypt_n >= 2**17
