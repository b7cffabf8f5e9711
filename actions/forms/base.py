"""Shared form behaviour: count failed attempts and offer a human after two."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

MAX_FAILURES = 2


class CountingFormValidation(FormValidationAction, ABC):
    """Abstract (`name()` left abstract), so rasa-sdk never registers it as an action."""

    @abstractmethod
    def name(self) -> Text:
        """Name of the form's validation action, e.g. validate_complaint_form."""

    def reject(
        self,
        slot: Text,
        response: Text,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> Dict[Text, Any]:
        """Re-ask with a specific message; from the second failure offer a human."""
        failures = int(tracker.get_slot("form_failures") or 0) + 1
        dispatcher.utter_message(response=response)
        if failures >= MAX_FAILURES:
            dispatcher.utter_message(response="utter_offer_human")
        return {slot: None, "form_failures": float(failures)}

    def accept(self, slot: Text, value: Any) -> Dict[Text, Any]:
        return {slot: value, "form_failures": 0.0}


def latest_text(tracker: Tracker) -> Text:
    return (tracker.latest_message or {}).get("text") or ""


def latest_entities(tracker: Tracker, entity: Text) -> List[Text]:
    return [
        e.get("value")
        for e in (tracker.latest_message or {}).get("entities", [])
        if e.get("entity") == entity and e.get("value")
    ]
