"""Shared fixtures: real databases (a SQLite file and PostgreSQL), migrated once per session,
one rolled-back outer transaction per test, and the app over HTTP with FastAPI's TestClient.

Every test that uses `db` (directly or through `client`) runs on both databases.
PostgreSQL tests skip when the server does not answer, except with CI=true where they fail.
"""

from __future__ import annotations

import os
import uuid

# Before the app is imported (app.main builds its settings): the suite runs with the
# development secrets' defaults, which only APP_ENV=development allows (unset is production).
os.environ.setdefault("APP_ENV", "development")
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.api.clients import get_notifier
from app.api.deps import get_now
from app.services import notifier as nt
from app.services.rasa_client import get_rasa_client
from app.bootstrap import migrate, seed
from app.core.config import Settings
from app.core.db import get_session, make_engine
from app.main import create_app
from tests.stand_ins import StandInRasa, WeChatAccount, fake_wechat_module

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SERVICE_TOKEN = "test-service-token"
AGENT_PASSWORD = "test-agent-password"
SUPERVISOR_PASSWORD = "test-supervisor-password"


def test_settings(**overrides) -> Settings:
    values = dict(
        app_env="development",
        api_service_token=SERVICE_TOKEN,
        agent_initial_password=AGENT_PASSWORD,
        supervisor_initial_password=SUPERVISOR_PASSWORD,
        migrate_on_startup=False,
        warm_classifier=False,
        password_scrypt_n=2**14,  # fast logins in tests; production's cost is tested in test_auth.py
        retention_schedule=False,  # the daily retention run; tests/services/test_retention.py enables it
        tracker_db="",
    )
    values.update(overrides)
    return Settings(**values)


test_settings.__test__ = False  # not a test, despite the name


def postgres_or_skip() -> None:
    """Skip when PostgreSQL is unreachable; with CI=true a missing server is a failure."""
    try:
        probe = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
        probe.dispose()
    except Exception as error:  # noqa: BLE001 - any reason means "not available"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL unreachable with CI=true: {error}")
        pytest.skip(f"PostgreSQL unreachable: {error}")


@dataclass
class Database:
    kind: str
    url: str
    cleanup: list = field(default_factory=list)


def new_database(kind: str, tmp_path_factory) -> Database:
    """A fresh, empty database: a SQLite file, or a private schema inside PostgreSQL's `test`."""
    if kind == "sqlite":
        path = tmp_path_factory.mktemp("db") / "tickets.db"
        return Database(kind, f"sqlite:///{path}")
    postgres_or_skip()
    schema = f"api_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return Database(kind, f"{PG_URL}?options=-csearch_path%3D{schema}", [drop])


def prepare(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        migrate(connection)
    with Session(engine) as session:
        seed(session, test_settings())
        # The desk has changed its initial passwords (tests/routes/test_auth.py covers the change).
        session.execute(text("UPDATE users SET must_change_password = false"))
        session.commit()
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def classifier_model():
    """Train the complaint model once if missing or stale (cached by fingerprint)."""
    from app.services.classifier import ensure_model

    return ensure_model()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    database = new_database(request.param, tmp_path_factory)
    prepare(database.url)
    yield database
    for step in database.cleanup:
        step()


@pytest.fixture(scope="session")
def engine(database):
    engine = make_engine(database.url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine):
    """A session inside an outer transaction that is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    session.close()
    outer.rollback()
    connection.close()


@dataclass
class Clock:
    now: datetime

    def set(self, value: datetime) -> None:
        self.now = value.astimezone(UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture
def app(db, clock):
    app = create_app(test_settings())
    app.dependency_overrides[get_session] = lambda: db
    app.dependency_overrides[get_now] = lambda: clock.now
    return app


@pytest.fixture
def client(app):
    return TestClient(app)


@pytest.fixture
def service() -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def login(client: TestClient, username: str) -> dict[str, str]:
    password = SUPERVISOR_PASSWORD if username == "supervisor" else AGENT_PASSWORD
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def agent1(client):
    return login(client, "agent1")


@pytest.fixture
def agent2(client):
    return login(client, "agent2")


@pytest.fixture
def supervisor(client):
    return login(client, "supervisor")


@pytest.fixture
def rasa(app) -> StandInRasa:
    """Rasa's conversation endpoints in memory, for the app's routes and the test."""
    stand_in = StandInRasa()
    app.dependency_overrides[get_rasa_client] = lambda: stand_in
    return stand_in


@pytest.fixture
def held(app):
    """The requests write their notices but do not deliver them: the test delivers, at its clock."""
    app.dependency_overrides[get_notifier] = lambda: None


@pytest.fixture
def wechat(tmp_path, clock):
    """A WeChat account with template messages on, on the fake WeChat server; its sender's
    token cache (the file the bot's channel shares) in the test's folder."""
    server = fake_wechat_module().FakeWeChatAPI(app_id="wx-notice", app_secret="notice-secret").start()
    settings = test_settings(
        wechat_app_id="wx-notice",
        wechat_app_secret="notice-secret",
        wechat_api_base=server.url,
        wechat_template_id="tmpl-progress",
        wechat_token_cache=str(tmp_path / "wechat-token.json"),
    )
    sender = nt.WeChatTemplateSender(
        settings.wechat_app_id,
        settings.wechat_app_secret,
        server.url,
        settings.token_cache_path,
        clock=lambda: clock.now.timestamp(),
    )
    yield WeChatAccount(server, settings, sender)
    sender.close()
    server.stop()
