"""Against a real uvicorn server on loopback, with real commits: concurrency and streaming."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from app.core.db import make_engine
from app.models import IdempotencyKey, Ticket
from tests.conftest import SERVICE_TOKEN, new_database
from tests.factories import ticket_payload
from tests.live import LiveServer

pytestmark = pytest.mark.live
HEADERS = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request, tmp_path_factory):
    database = new_database(request.param, tmp_path_factory)
    env = {
        "API_SERVICE_TOKEN": SERVICE_TOKEN,
        "AGENT_INITIAL_PASSWORD": "a",
        "SUPERVISOR_INITIAL_PASSWORD": "s",
    }
    with LiveServer(database.url, env) as server:  # the server migrates and seeds on start-up
        engine = make_engine(database.url)
        yield server, engine
        engine.dispose()
    for step in database.cleanup:
        step()


def count(engine, model) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def test_concurrent_retries_with_one_key_create_one_ticket(live):
    server, engine = live
    before = count(engine, Ticket)
    body = ticket_payload(conversation_id="retry-storm")

    def post(_):
        with httpx.Client(base_url=server.url, timeout=60) as client:
            return client.post("/tickets", json=body, headers={**HEADERS, "Idempotency-Key": "storm-1"})

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(post, range(24)))
    assert all(r.status_code in (200, 201) for r in responses), [
        r.text for r in responses if r.status_code >= 300
    ]
    assert sorted(r.status_code for r in responses).count(201) == 1
    assert len({r.json()["ticket_no"] for r in responses}) == 1
    assert count(engine, Ticket) == before + 1
    with engine.connect() as connection:
        assert connection.execute(
            select(IdempotencyKey.ticket_id).where(IdempotencyKey.key == "storm-1")
        ).scalar_one()


def test_concurrent_creation_gives_unique_consecutive_numbers(live):
    server, _ = live

    def post(i):
        with httpx.Client(base_url=server.url, timeout=60) as client:
            return client.post("/tickets", json=ticket_payload(conversation_id=f"c-{i}"), headers=HEADERS)

    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(post, range(40)))
    assert all(r.status_code == 201 for r in responses)
    numbers = sorted(r.json()["ticket_no"] for r in responses)
    assert len(set(numbers)) == 40
    sequences = sorted(int(n[9:]) for n in numbers)
    assert sequences == list(range(sequences[0], sequences[0] + 40))


def test_streamed_oversized_body_is_refused_over_http(live):
    server, _ = live

    def chunks():
        for _ in range(80):
            yield b"{" * 1024

    response = httpx.post(
        f"{server.url}/classify", content=chunks(), headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 413
    assert httpx.get(f"{server.url}/healthz").status_code == 200  # still serving
