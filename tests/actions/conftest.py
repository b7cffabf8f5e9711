"""Fixtures for the action tests: point the ticketing client at the real API, or at nothing."""

from __future__ import annotations

import pytest

from actions.clients import ticketing


@pytest.fixture
def client(api_url):
    ticketing.set_client(ticketing.TicketingClient(api_url, "dev-service-token", 5))
    yield
    ticketing.set_client(None)


@pytest.fixture
def dead_api():
    # Nothing listens on port 9 of loopback: the API is "down".
    ticketing.set_client(ticketing.TicketingClient("http://127.0.0.1:9", "dev-service-token", 1))
    yield
    ticketing.set_client(None)


@pytest.fixture
def desk():
    """Installs a stand-in for the API's emergency contact (tests.actions.emergency_turns.Desk)."""

    def use(d):
        ticketing.set_client(d)
        return d

    yield use
    ticketing.set_client(None)
