"""Database preparation: Alembic migrations, then demo bookings and the initial accounts."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from app.core.config import API_ROOT, Settings
from app.crud import bookings, users

log = logging.getLogger(__name__)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config(str(API_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(API_ROOT / "alembic"))
    config.attributes["configure_logging"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def seed(session: Session, settings: Settings) -> tuple[int, int]:
    added_bookings = bookings.seed_from_fixture(session) if settings.seeds_demo_data else 0
    added_users = users.seed_initial_users(
        session,
        agent_password=settings.agent_initial_password,
        supervisor_password=settings.supervisor_initial_password,
        scrypt_n=settings.password_scrypt_n,
    )
    return added_bookings, added_users


# Several server processes may start at once; on PostgreSQL they queue on this lock
# (SQLite serialises them with BEGIN IMMEDIATE already).
_MIGRATION_LOCK_ID = 0x7469636B  # "tick"


def prepare_database(engine, settings: Settings) -> None:
    """Migrate and seed in one transaction, so processes starting together do it once."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        migrate(connection)
        with Session(bind=connection) as session:  # joins the transaction; engine.begin() commits
            added = seed(session, settings)
            session.flush()
    log.info("database ready: %d demo bookings and %d accounts added", *added)
