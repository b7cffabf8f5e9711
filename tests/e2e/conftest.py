"""Fixtures of the end-to-end tests beyond the session's services (tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conversations.runner import Runner


@pytest.fixture(scope="session")
def conversation_runner(rasa_url: str, api_url: str) -> Runner:
    """Plays conversation files against the session's Rasa server and ticketing API."""
    return Runner(rasa_url, api_url)
