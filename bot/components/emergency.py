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
own confidence (before the blend, `DIET_INTENT`), when it is not a "what if", when the
lexicon did not rule the kind out (`not_when`: news of a quake read at home) and when the message
names some harm or danger (the lexicon's `danger`: "老公打呼噜 能换个房间吗", "小孩护照还有5个月
过期 能去日本吗" were read as emergencies at 0.95): an ordinary complaint must not jump the queue.

An emergency given up is not handed to whatever came next in the ranking (a trip cancellation
at 0.11 for "日本地震了，我们下周的团还能去吗"): the runner-up stands only when it is confident
(`min_runner_up`); a question (or a "what if") becomes a policy question, anything else is not
understood. A policy question about the emergency area (the lexicon's `questions`: a disaster
at the destination is the change policy, falling ill abroad the insurance, a passport's validity
the visa) carries that answer's key (`POLICY_KEY_HINT`), which the ResponseSelector keeps
(`force_policy_key`), also when DIET read it as a policy question with another key.
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

RESPONSE_SELECTOR = "response_selector"
EMERGENCY = "emergency"
POLICY = "policy"
NOT_UNDERSTOOD = "nlu_fallback"
# Message attribute: the policy answer a question about the emergency area gets ('policy/visa').
POLICY_KEY_HINT = "policy_key_hint"
_FILE = "lexicon.json"
# Readings that say nothing of what a question asks: one about the emergency area is a policy question.
_NO_READING = {"inform", NOT_UNDERSTOOD, "out_of_scope", "affirm", "deny"}
# Readings that act, which a question about a disaster at the destination never asks for: "海啸了
# 我们的团会取消吗" asks whether the trip goes, it cancels nothing (a question about the trip read
# as one, query_itinerary, stands).
_NOT_ASKED = {"request_cancellation"}
# A question, not a statement: what an emergency given up for it becomes (a policy question).
_QUESTION = re.compile(
    r"[?？]|吗|么|呢|嘛|怎么|如何|咋|要不要|能不能|可不可以|可以不|行不行|会不会|是不是|有没有|是否|多少|几"
    r"|(?<![a-z])(what|how|can|could|should|will|would|is|are|do|does)(?![a-z])",
    re.I,
)


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
        # Lexicons of models trained before these keys: no danger word asked, no policy key given.
        self.danger = re.compile(raw["danger"], re.I) if raw.get("danger") else None
        self.questions = [(key, re.compile(p, re.I)) for key, p in (raw.get("questions") or {}).items()]
        contexts = raw.get("question_context") or {}
        self.question_context = {key: re.compile(p, re.I) for key, p in contexts.items()}
        self.advice_only = set(raw.get("advice_only") or [])
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

    def policy_key(self, text: str) -> Optional[str]:
        """The policy answer of a question about the emergency area ('policy/visa'), if any."""
        for key, pattern in self.questions:
            context = self.question_context.get(key)
            if pattern.search(text) and (context is None or context.search(text) or self.abroad.search(text)):
                return key
        return None

    def names_danger(self, text: str) -> bool:
        return self.danger is None or bool(self.danger.search(text))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EmergencyDetector(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # min_runner_up: below it the intent after a given-up emergency is no reading of the message.
        return {"lexicon_path": "data/emergency/lexicon.yml", "min_confidence": 0.9, "min_runner_up": 0.3}

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
        # A question that names no danger ("老公打呼噜 能换个房间吗") asks; a statement DIET is sure of
        # stands without one: a missed emergency costs more than one put at the head of the queue.
        asks_only = _QUESTION.search(text) and not self._lexicon.names_danger(text)
        return not (self._lexicon.hypothetical.search(text) or over or asks_only)

    def _instead(self, text: str, ranking: List[Dict[str, Any]]) -> Dict[str, Any]:
        """What a message read as an emergency but given up is: the runner-up when it is confident;
        a question ("what if", news of a disaster at the destination) is a policy question;
        otherwise not understood (the fallback asks to rephrase)."""
        runner_up = next((r for r in ranking if r.get("name") != EMERGENCY), None) or {}
        confidence = float(runner_up.get("confidence") or 0.0)
        if runner_up and confidence >= self._config.get("min_runner_up", 0.3):
            return {"name": runner_up["name"], "confidence": confidence}
        hypothetical = self._lexicon is not None and self._lexicon.hypothetical.search(text)
        if hypothetical or _QUESTION.search(text):
            return {"name": POLICY, "confidence": max(confidence, 0.5)}
        return {"name": NOT_UNDERSTOOD, "confidence": confidence}

    def _mark(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        intent = message.get(INTENT) or {}
        found = self._lexicon.read(text) if self._lexicon else {"kinds": [], "abroad": False}
        ranking = message.get(INTENT_RANKING_KEY) or []
        # DIET's own verdict, before the logistic regression's second opinion was blended in.
        diet = message.get(DIET_INTENT) or intent
        sure = diet.get("name") == EMERGENCY and not found.get("ruled_out") and self._diet_is_sure(text, diet)
        given_up = False
        if found["kinds"]:
            self._set_intent(message, EMERGENCY, 1.0, ranking)
        elif sure:
            if intent.get("name") != EMERGENCY:
                self._set_intent(message, EMERGENCY, float(diet.get("confidence") or 0.0), ranking)
        elif intent.get("name") == EMERGENCY:
            instead = self._instead(text, ranking)
            self._set_intent(message, instead["name"], instead["confidence"], ranking)
            given_up = True
        self._policy_question(message, text, ranking, given_up, bool(found.get("ruled_out")))
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

    def _policy_question(
        self, message: Message, text: str, ranking: List[Dict[str, Any]], given_up: bool, ruled_out: bool
    ) -> None:
        """A question about the emergency area (the lexicon's `questions`) gets that policy's answer:
        when it was an emergency given up, or one the lexicon ruled out (news of a quake and "还能去吗")
        read as a trip cancellation ("海啸了 我们的团会取消吗" asks, it does not cancel),
        a "what if" read as a policy question (the ResponseSelector read "如果在国外生病了怎么办 要准备
        什么" as the baggage rules), or a question read as a bare answer or not understood
        ("护照还剩5个月就过期了 下个月去韩国可以吗" as `inform`)."""
        key = self._lexicon.policy_key(text) if self._lexicon else None
        if not key:
            return
        name = (message.get(INTENT) or {}).get("name")
        asks = bool(self._lexicon.hypothetical.search(text) or _QUESTION.search(text))
        if asks and (name in _NO_READING or (ruled_out and name in _NOT_ASKED)):
            self._set_intent(message, POLICY, 1.0, ranking)
        elif not (name == POLICY and (given_up or ruled_out or self._lexicon.hypothetical.search(text))):
            return
        message.set(POLICY_KEY_HINT, key)

    @staticmethod
    def _set_intent(message: Message, name: str, confidence: float, ranking: List[Dict[str, Any]]) -> None:
        message.set(INTENT, {"name": name, "confidence": confidence}, add_to_output=True)
        message.set(
            INTENT_RANKING_KEY,
            [{"name": name, "confidence": confidence}] + [r for r in ranking if r.get("name") != name],
            add_to_output=True,
        )


def force_policy_key(message: Message, key: str) -> None:
    """The ResponseSelector's answer for `message` set to `key` ('policy/visa'), sure: the
    EmergencyDetector knew which policy a question about the emergency area asks."""
    selector = dict(message.get(RESPONSE_SELECTOR) or {})
    chosen = dict(selector.get(POLICY) or {})
    chosen["response"] = {
        **(chosen.get("response") or {}),
        "intent_response_key": key,
        "utter_action": f"utter_{key}",
        "confidence": 1.0,
    }
    selector[POLICY] = chosen
    message.set(RESPONSE_SELECTOR, selector, add_to_output=True)
