"""create_app(settings) chooses the database: the app's lifespan makes its own engine from the
settings it was given (no engine from the process's global settings)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.db import make_engine
from app.main import create_app
from app.models import Ticket
from tests.conftest import SERVICE_TOKEN, test_settings
from tests.factories import ticket_payload

SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def _conversations(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(Ticket.conversation_id)).scalars())
    finally:
        engine.dispose()


def test_two_apps_in_one_process_each_use_the_database_of_their_settings(tmp_path):
    urls = {name: f"sqlite:///{tmp_path / name}.db" for name in ("a", "b")}
    # Each lifespan migrates and seeds its own file (the demo booking the tickets name).
    apps = {
        name: create_app(test_settings(database_url=url, migrate_on_startup=True, scheduler_enabled=False))
        for name, url in urls.items()
    }
    with TestClient(apps["a"]) as a, TestClient(apps["b"]) as b:
        numbers = {}
        for name, client in (("a", a), ("b", b)):
            response = client.post(
                "/tickets", json=ticket_payload(conversation_id=f"app-{name}"), headers=SERVICE
            )
            assert response.status_code == 201, response.text
            numbers[name] = response.json()["ticket_no"]
        for name, client in (("a", a), ("b", b)):
            read = client.get(f"/tickets/{numbers[name]}", headers={**SERVICE, "X-Sender-Id": f"app-{name}"})
            assert read.status_code == 200, read.text
            assert read.json()["conversation_id"] == f"app-{name}"
    assert _conversations(urls["a"]) == ["app-a"]
    assert _conversations(urls["b"]) == ["app-b"]


def test_an_app_whose_lifespan_has_not_run_says_why_it_has_no_database():
    client = TestClient(create_app(test_settings()))  # no `with`: Starlette runs no lifespan
    with pytest.raises(RuntimeError, match="lifespan"):
        client.get("/healthz")
