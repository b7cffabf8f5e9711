"""Engines and sessions. Nothing here holds an engine: the app creates its own in its lifespan
(app/main.py), the CLI and the scripts theirs, so nothing touches a database at import time and
two apps in one process can use two databases."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from starlette.requests import HTTPConnection


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def upsert_insert(session: Session):
    """The dialect's INSERT, which has ON CONFLICT (both supported backends have it)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and writer-first transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and lets two writers deadlock on
    # a lock upgrade; take over BEGIN ourselves and take the write lock up front (SQLAlchemy
    # docs, "Serializable isolation / Savepoints / Transactional DDL").
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Wait for locks first. WAL is a property of the file: switch only if another
        # process has not already (the switch needs an exclusive lock, and processes
        # starting together failed with "database is locked" on it).
        cursor.execute("PRAGMA busy_timeout=30000")
        # SQLite does not call the busy handler for this switch: retry it (up to 10 s).
        for attempt in range(100):
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                break
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:
                if attempt == 99:
                    raise
                time.sleep(0.1)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # Objects keep their loaded values after a commit: routes commit, then answer from them.
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_session(request: HTTPConnection) -> Iterator[Session]:
    """One session per request (FastAPI dependency), from the sessionmaker the app's lifespan
    made for the database of its own settings (create_app(settings) chooses it)."""
    sessions = getattr(request.app.state, "sessions", None)
    if sessions is None:  # say why, rather than an AttributeError from deep in a request
        raise RuntimeError(
            "the app's database opens in its lifespan: "
            "run it (`with TestClient(app)`) or override get_session"
        )
    with sessions() as session:
        yield session
