"""Every response of the domain, rendered by Rasa's own generator as the traveller gets it.

Rasa fills `{slot}` placeholders in every string of a response, button payloads included,
so a payload's JSON (`/inform{"complaint_request": "refund"}`) was read as a placeholder: the
payload survived, but each render logged an error with a stack trace (920 lines per
benchmark run). The domain writes such braces doubled; this test renders every response
and checks that what comes out parses as the intent and entities the buttons mean.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import structlog.testing
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")


def _render(name: str) -> list:
    """Each variation of the response, as Rasa's generator renders it (it picks one at random)."""
    tracker = DialogueStateTracker.from_events("render", [], slots=DOMAIN.slots)
    out = []
    for variant in DOMAIN.responses[name]:
        # Placeholders an action fills when it utters the response ({attempts_left}…).
        kwargs = {key: "1" for key in PLACEHOLDER.findall(json.dumps(variant, ensure_ascii=False))}
        generator = TemplatedNaturalLanguageGenerator({name: [variant]})
        out.append(asyncio.run(generator.generate(name, tracker, "rest", **kwargs)))
    return out


@pytest.mark.parametrize("name", sorted(DOMAIN.responses))
def test_every_response_renders_without_an_interpolation_error(name):
    with structlog.testing.capture_logs() as logs:
        rendered = _render(name)
    assert all(r is not None for r in rendered)
    errors = [entry for entry in logs if entry.get("log_level") in ("error", "critical")]
    assert errors == [], f"{name}: {errors[:1]}"


def test_complaint_request_buttons_carry_their_value():
    (rendered,) = _render("utter_ask_complaint_request")
    values = {}
    for button in rendered["buttons"]:
        (message,) = RegexMessageHandler().process([Message(data={TEXT: button["payload"]})], DOMAIN)
        assert message.get(INTENT)["name"] == "inform"
        values[button["title"]] = [(e["entity"], e["value"]) for e in message.get(ENTITIES)]
    assert values["退款"] == [("complaint_request", "refund")]
    assert values["整改/解决问题"] == [("complaint_request", "fix")]
    assert {v[0][1] for v in values.values()} == {"refund", "compensation", "apology", "fix", "other"}
