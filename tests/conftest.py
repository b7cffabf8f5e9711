"""Session fixtures: one trained model, and the real API, action server and Rasa."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import httpx
import pytest

from scripts import train_model
from tests.services import Service, action_service, api_service, free_port, rasa_auth_headers, rasa_service

# The JWT secret of Rasa's HTTP API (RASA_JWT_SECRET); calls carry RASA_AUTH (a JWT it signed).
RASA_TOKEN = "test-rasa-token"
RASA_AUTH = rasa_auth_headers(RASA_TOKEN)


@pytest.fixture(scope="session")
def trained_model() -> Path:
    # No-op when `make train` already built the model for this data fingerprint.
    # TEST_MODEL pins a given model file (e.g. to bisect a regression).
    pinned = os.environ.get("TEST_MODEL")
    return Path(pinned) if pinned else train_model.train()


@pytest.fixture(scope="session")
def rasa_port() -> int:
    # Chosen before anything starts so that the API knows where Rasa will listen: it relays
    # agents' replies and notices for a paused conversation through Rasa's HTTP API.
    return free_port()


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory, rasa_port: int) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("api")
    service = api_service(workdir, f"sqlite:///{workdir / 'tickets.db'}")
    service.env.update(RASA_URL=f"http://127.0.0.1:{rasa_port}", RASA_JWT_SECRET=RASA_TOKEN)
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def api_url(api: Service) -> str:
    return api.health_url.rsplit("/", 1)[0]


@pytest.fixture(scope="session")
def actions(api_url: str, rasa_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = action_service(tmp_path_factory.mktemp("actions"), api_url)
    # As in dev.env: a message for a paused conversation (an acknowledgement while the traveller
    # waits, an emergency's advice when the API is down) goes through Rasa's HTTP API.
    service.env.update(RASA_URL=f"http://127.0.0.1:{rasa_port}", RASA_JWT_SECRET=RASA_TOKEN)
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def rasa(
    trained_model: Path, actions: Service, rasa_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    action_url = actions.health_url.replace("/health", "/webhook")
    service = rasa_service(
        tmp_path_factory.mktemp("rasa"), trained_model, action_url, RASA_TOKEN, rasa_port
    ).start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def rasa_url(rasa: Service) -> str:
    return rasa.health_url.split("/status")[0]


@pytest.fixture
def chat(rasa_url: str) -> Callable[[str], List[Dict]]:
    """Sends one traveller message over the REST channel; a new conversation per test."""
    sender = f"test-{uuid.uuid4().hex[:12]}"

    def send(text: str) -> List[Dict]:
        response = httpx.post(
            f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
        )
        response.raise_for_status()
        return response.json()

    send.sender = sender  # type: ignore[attr-defined]
    return send


def texts(replies: List[Dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)
