"""Escalation to a human agent and the fallback that leads there."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict


class ActionRequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_handoff_alerted")
        return []


class ActionFallback(Action):
    """utter_default; the second misunderstanding in a row offers a human agent."""

    def name(self) -> Text:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        intents = [
            e.get("parse_data", {}).get("intent", {}).get("name")
            for e in tracker.events
            if e.get("event") == "user"
        ]
        if len(intents) >= 2 and intents[-1] == intents[-2] == "nlu_fallback":
            dispatcher.utter_message(response="utter_offer_human")
        else:
            dispatcher.utter_message(response="utter_default")
        return []
