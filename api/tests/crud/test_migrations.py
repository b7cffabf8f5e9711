from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from sqlalchemy import func, select

from app.bootstrap import prepare_database
from app.core.db import make_engine
from app.crud.bookings import FIXTURE
from app.models import Base, Booking, User
from tests.conftest import new_database, test_settings


def test_migrations_match_the_models(engine):
    """Every schema change has its Alembic migration (the database is built by migrations only)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_processes_starting_together_migrate_and_seed_once(kind, tmp_path_factory):
    database = new_database(kind, tmp_path_factory)
    engines = [make_engine(database.url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda engine: prepare_database(engine, test_settings()), engines))
        with engines[0].connect() as connection:
            bookings = connection.execute(select(func.count()).select_from(Booking)).scalar_one()
            accounts = connection.execute(select(func.count()).select_from(User)).scalar_one()
        assert bookings == len(json.loads(FIXTURE.read_text(encoding="utf-8"))["bookings"])
        assert accounts == 3
    finally:
        for engine in engines:
            engine.dispose()
        for step in database.cleanup:
            step()
