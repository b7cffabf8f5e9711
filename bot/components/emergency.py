"""Marks emergencies, whatever intent DIET chose (DESIGN §5).

An injured mother, a lost child or a stranger at the hotel door must get the
safety advice in the very first reply, also when the message reads like a
complaint, a request for a human or an answer inside a form. DIET learns the
`emergency` intent from examples; this component adds the trainers' lexicon
(`data/emergency/lexicon.yml`), read at training time and kept in the model, and
sets the intent to `emergency` when a kind matches and the message is not about
the past or a "what if". It also tells the action which kind it is and whether
the traveller is abroad (entities `emergency_kind`, `abroad`), so the advice fits.

A DIET `emergency` without a lexicon match stands only at `min_confidence` (0.9) of DIET's
own confidence (before the blend, `DIET_INTENT`), when it is not a "what if" and when the
lexicon did not rule the kind out (`not_when`: news of a quake read at home); otherwise the next
intent: an ordinary complaint must not jump the queue.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.ensemble import DIET_INTENT

EMERGENCY = "emergency"
_FILE = "lexicon.json"


class Lexicon:
    def __init__(self, raw: Dict[str, Any]) -> None:
        self.raw = raw
        self.kinds = {
            kind: re.compile("|".join(f"(?:{p})" for p in patterns), re.I)
            for kind, patterns in raw["kinds"].items()
        }
        self.needs_now = set(raw.get("needs_now") or [])
        self.abroad_only = set(raw.get("abroad_only") or [])
        # A lexicon of a model trained before these keys existed has neither.
        self.not_when = {kind: re.compile(p, re.I) for kind, p in (raw.get("not_when") or {}).items()}
        self.replaces = {kind: set(others) for kind, others in (raw.get("replaces") or {}).items()}
        self.now = re.compile(raw["now"], re.I)
        self.past = re.compile(raw["past"], re.I)
        self.hypothetical = re.compile(raw["hypothetical"], re.I)
        self.abroad = re.compile(raw["abroad"], re.I)

    def read(self, text: str) -> Dict[str, Any]:
        """{'kinds': [...], 'abroad': bool, 'ruled_out': bool}; no kinds when it is not an emergency
        now. `ruled_out`: a kind matched but its `not_when` said it is not one (news of a quake
        read at home): DIET alone must not call it an emergency either."""
        abroad = bool(self.abroad.search(text))
        now = bool(self.now.search(text))
        kinds = []
        ruled_out = False
        for kind, pattern in self.kinds.items():
            if not pattern.search(text):
                continue
            if kind in self.needs_now and not now:
                continue
            if kind in self.abroad_only and not abroad:
                continue
            if kind in self.not_when and self.not_when[kind].search(text):
                ruled_out = True
                continue
            kinds.append(kind)
        if kinds and (self.hypothetical.search(text) or (self.past.search(text) and not now)):
            kinds = []
        # Someone in the water is not also a missing person: the water advice covers it.
        # A theft stays a theft (its own advice: a police report, no "lock the door").
        dropped = {other for kind in kinds for other in self.replaces.get(kind, ())}
        kinds = [kind for kind in kinds if kind not in dropped]
        return {"kinds": kinds, "abroad": abroad, "ruled_out": ruled_out and not kinds}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EmergencyDetector(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"lexicon_path": "data/emergency/lexicon.yml", "min_confidence": 0.9}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        lexicon: Optional[Lexicon] = None,
    ):
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._lexicon = lexicon

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        """The lexicon's content: Rasa's training cache must not reuse a model trained on an older lexicon."""
        path = Path(config.get("lexicon_path") or cls.get_default_config()["lexicon_path"])
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "EmergencyDetector":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        raw = yaml.safe_load(Path(self._config["lexicon_path"]).read_text(encoding="utf-8"))
        self._lexicon = Lexicon(raw)  # compiles: a broken pattern fails the training, not a chat
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _FILE).write_text(json.dumps(raw, ensure_ascii=False))
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "EmergencyDetector":
        with model_storage.read_from(resource) as directory:
            raw = json.loads((directory / _FILE).read_text(encoding="utf-8"))
        return cls(config, model_storage, resource, Lexicon(raw))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._mark(message)
        return messages

    def _diet_is_sure(self, text: str, intent: Dict[str, Any]) -> bool:
        """DIET alone (no kind in the lexicon) must be confident: an ordinary complaint (a
        noisy party next door) must not jump the queue; a "what if" is a question, and what
        lasted all night and is over ("孩子吓得哭了一晚上") is a complaint."""
        if (intent.get("confidence") or 0) < self._config["min_confidence"]:
            return False
        if not self._lexicon:
            return True
        over = self._lexicon.past.search(text) and not self._lexicon.now.search(text)
        return not (self._lexicon.hypothetical.search(text) or over)

    def _mark(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        intent = message.get(INTENT) or {}
        found = self._lexicon.read(text) if self._lexicon else {"kinds": [], "abroad": False}
        ranking = message.get(INTENT_RANKING_KEY) or []
        # DIET's own verdict, before the logistic regression's second opinion was blended in.
        diet = message.get(DIET_INTENT) or intent
        sure = diet.get("name") == EMERGENCY and not found.get("ruled_out") and self._diet_is_sure(text, diet)
        if found["kinds"]:
            self._set_intent(message, EMERGENCY, 1.0, ranking)
        elif sure:
            if intent.get("name") != EMERGENCY:
                self._set_intent(message, EMERGENCY, float(diet.get("confidence") or 0.0), ranking)
        elif intent.get("name") == EMERGENCY:
            runner_up = next((r for r in ranking if r.get("name") != EMERGENCY), None)
            if runner_up:
                self._set_intent(message, runner_up["name"], runner_up.get("confidence", 0.0), ranking)
        if (message.get(INTENT) or {}).get("name") != EMERGENCY:
            return
        entities = list(message.get(ENTITIES) or [])
        for kind in found["kinds"]:
            entities.append(
                {
                    "entity": "emergency_kind",
                    "value": kind,
                    "start": 0,
                    "end": len(text),
                    "extractor": "EmergencyDetector",
                }
            )
        if found["abroad"]:
            entities.append(
                {
                    "entity": "abroad",
                    "value": "true",
                    "start": 0,
                    "end": len(text),
                    "extractor": "EmergencyDetector",
                }
            )
        message.set(ENTITIES, entities, add_to_output=True)

    @staticmethod
    def _set_intent(message: Message, name: str, confidence: float, ranking: List[Dict[str, Any]]) -> None:
        message.set(INTENT, {"name": name, "confidence": confidence}, add_to_output=True)
        message.set(
            INTENT_RANKING_KEY,
            [{"name": name, "confidence": confidence}] + [r for r in ranking if r.get("name") != name],
            add_to_output=True,
        )
