"""The fix to Rasa's custom-action response validation (bot/patches.py)."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import bot  # noqa: F401  (importing the package applies the fixes, as in the Rasa server)
from bot.patches import action_response_validator

VALID = {"events": [{"event": "slot", "name": "phone", "value": None}], "responses": [{"text": "好的"}]}


def test_valid_response_passes_and_invalid_is_refused_with_rasas_message():
    action = RemoteAction("action_x", None)
    assert action._validate_action_result(VALID) is True
    with pytest.raises(ValidationError) as refused:
        action._validate_action_result({"events": "not a list"})
    assert "Failed to validate Action server response" in refused.value.message


def test_the_schema_is_checked_once_not_per_response(monkeypatch):
    validator_class = type(action_response_validator())
    calls = []
    original = validator_class.check_schema
    monkeypatch.setattr(validator_class, "check_schema", classmethod(lambda cls, s: calls.append(1) or original(s)))
    action = RemoteAction("action_x", None)
    for _ in range(5):
        action._validate_action_result(VALID)
    assert calls == []  # stock Rasa 3.6 re-checks the schema on every response
