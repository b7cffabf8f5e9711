"""A new conversation session: what the traveller told us carries over, proof of who they are does not.

Rasa starts a new session after `session_expiration_time` minutes of silence (domain.yml)
and, with `carry_over_slots_to_new_session`, its default `action_session_start` copies
every slot into it, `verified_booking` included: a booking verified once stayed verified in
the conversation for good, so whoever later held the conversation read the itinerary and
could request a cancellation without the phone digits. This action keeps Rasa's behaviour
(the `session_started` event, the slots carried over, the session's metadata, then
`action_listen`) and leaves out every verification slot: a new session verifies again.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

# The proof (verified_*, and any later verification slot: a grant, its expiry), the digits
# held for it, and the verification in progress (what it was for, a lock or outage).
VERIFICATION_PREFIXES = ("verified_", "verification", "verify_")
VERIFICATION_SLOTS = {"phone_last4"}


def is_verification_slot(name: Text) -> bool:
    return name in VERIFICATION_SLOTS or name.startswith(VERIFICATION_PREFIXES)


def carried_over(tracker: Tracker, domain: DomainDict) -> List[EventType]:
    """The previous session's slot values a new session keeps."""
    config = domain.get("session_config") or {}
    if not config.get("carry_over_slots_to_new_session", True):
        metadata = tracker.get_slot("session_started_metadata")
        return [SlotSet("session_started_metadata", metadata)] if metadata is not None else []
    values: Dict[Text, Any] = tracker.current_slot_values()
    return [
        SlotSet(name, value)
        for name, value in values.items()
        if value is not None and not is_verification_slot(name)
    ]


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        return [SessionStarted(), *carried_over(tracker, domain), ActionExecuted("action_listen")]
