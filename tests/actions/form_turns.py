"""What a form's validation sees in one turn, for the verification and ticket form tests, and the
complaint form's questions in order (as in domain.yml) for the complaint tests."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

DOMAIN = {
    "forms": {
        "verify_form": {"required_slots": ["booking_ref", "phone_last4"]},
        "ticket_form": {"required_slots": ["ticket_no", "phone_last4"]},
    }
}

COMPLAINT_DOMAIN = {
    "forms": {
        "complaint_form": {
            "required_slots": [
                "booking_ref",
                "complaint_description",
                "complaint_when_where",
                "complaint_request",
                "complaint_consent",
                "complainant_name",
                "phone",
            ]
        }
    }
}


def turn(
    text: str,
    given: Dict[str, Any],
    held: Optional[Dict[str, Any]] = None,
    form: Optional[str] = "verify_form",
    intent: str = "inform",
) -> Tracker:
    """`given` read from the message, as trailing slot events; `held` from earlier turns."""
    asked = [{"event": "action", "name": form}] if form else []
    events: List[Dict[str, Any]] = (
        asked
        + [{"event": "action", "name": "action_listen"}, {"event": "user", "text": text}]
        + [{"event": "slot", "name": name, "value": value} for name, value in given.items()]
    )
    return Tracker(
        sender_id="unit-test",
        slots={"form_failures": 0.0, **(held or {}), **given},
        latest_message={"text": text, "intent": {"name": intent}, "entities": []},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": form} if form else {},
        latest_action_name="action_listen",
    )


def slots(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
