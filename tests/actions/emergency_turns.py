"""Emergency test helpers shared by the stranger-test emergency tests: the lexicon through the
NLU component (as test_emergency_advice.py does), an SDK tracker for one message, and the API's
emergency contact for one booking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, List, Optional

import yaml
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa_sdk import Tracker

from actions.utils.refund import china_today
from bot.components.emergency import EmergencyDetector, Lexicon
from tests.services import ROOT

LEXICON_RAW = yaml.safe_load((ROOT / "data" / "emergency" / "lexicon.yml").read_text(encoding="utf-8"))
DETECTOR = EmergencyDetector(EmergencyDetector.get_default_config(), None, None, Lexicon(LEXICON_RAW))


def parse(text: str, diet: str = "inform") -> Dict[str, Any]:
    ranking = [{"name": diet, "confidence": 0.8}, {"name": "complain", "confidence": 0.1}]
    message = Message(data={TEXT: text, INTENT: dict(ranking[0]), INTENT_RANKING_KEY: ranking})
    DETECTOR.process([message])
    return {"text": text, "intent": message.get(INTENT), "entities": message.get(ENTITIES) or []}


def tracker(text: str, slots: Optional[Dict[str, Any]] = None, loop: Optional[str] = None) -> Tracker:
    events: List[Dict[str, Any]] = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text},
    ]
    return Tracker(
        "s3-emergency",
        {"form_failures": 0.0, **(slots or {})},
        parse(text, "complain"),
        events,
        False,
        None,
        {"name": loop} if loop else {},
        "action_listen",
    )


def intent_of(text: str, diet: str = "inform") -> str:
    return parse(text, diet)["intent"]["name"]


def kinds_of(text: str) -> List[str]:
    return [e["value"] for e in parse(text)["entities"] if e["entity"] == "emergency_kind"]


def safety_lines(said: str) -> str:
    return "\n".join(line for line in said.splitlines() if not line.startswith(("本公司", "您的导游")))


class Desk:
    """The API's emergency contact for one booking, with the trip's dates."""

    def __init__(self, tour_type: str, start_in_days: Optional[int] = None, days: int = 5):
        self.booking: Dict[str, Any] = {
            "ref": "TR20260013",
            "tour_type": tour_type,
            "guide_name": "阮文海",
            "guide_phone": "13145670000",
        }
        if start_in_days is not None:
            start = china_today() + timedelta(days=start_in_days)
            self.booking["departure_date"] = start.isoformat()
            self.booking["return_date"] = (start + timedelta(days=days - 1)).isoformat()

    async def emergency_contact(self, ref):
        return dict(self.booking)
