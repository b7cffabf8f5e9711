"""The tracker an action sees for one message of the traveller (user_turn, and turn for a form's
validation), and the forms' questions in order (as in domain.yml) for the form tests."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

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


def action(name: str) -> Dict[str, Any]:
    return {"event": "action", "name": name}


def slot_events(values: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [{"event": "slot", "name": name, "value": value} for name, value in values.items()]


def user_turn(
    text: str,
    intent: str = "inform",
    *,
    confidence: Optional[float] = None,
    key: Optional[str] = None,
    key_confidence: Optional[float] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
    clauses: Optional[List[Dict[str, Any]]] = None,
    intent_ranking: Optional[List[Dict[str, Any]]] = None,
    message_id: Optional[str] = None,
    slots: Optional[Dict[str, Any]] = None,
    read: Optional[Dict[str, Any]] = None,
    loop: Optional[str] = None,
    before: Sequence[Dict[str, Any]] = (),
    listen: bool = True,
    parsed: bool = False,
    after: Sequence[Dict[str, Any]] = (),
    history: Optional[Sequence[Dict[str, Any]]] = None,
    sender: str = "unit-test",
    latest_action: str = "action_listen",
) -> Tracker:
    """The tracker an action gets for the traveller's latest message `text`.

    The message: `intent` (with `confidence` when given), `key` the policy response selector's
    answer (its confidence `key_confidence`, by default the intent's; none if neither is given),
    and `entities`, `clauses`, `intent_ranking`, `message_id` when given.
    The events: `before`, action_listen (unless `listen` is false), the user event (carrying the
    message as parse_data when `parsed`, as Rasa records it), a slot event for each of `read` (the
    slots the reader set from the message), then `after`; or `history` as it is, when given.
    The slots: `slots`, then `read`. `loop`: the active form, if any.
    """
    message: Dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, **({} if confidence is None else {"confidence": confidence})},
        "entities": list(entities or []),
    }
    if clauses is not None:
        message["clauses"] = list(clauses)
    if intent_ranking is not None:
        message["intent_ranking"] = list(intent_ranking)
    if key:
        sure = confidence if key_confidence is None else key_confidence
        answer = {"intent_response_key": key, **({} if sure is None else {"confidence": sure})}
        message["response_selector"] = {"policy": {"response": answer}}
    if message_id is not None:
        message["message_id"] = message_id
    if history is not None:
        events = list(history)
    else:
        user: Dict[str, Any] = {"event": "user", "text": text}
        if parsed:
            user["parse_data"] = message
            if message_id is not None:
                user["message_id"] = message_id
        events = [
            *before,
            *([action("action_listen")] if listen else []),
            user,
            *slot_events(read or {}),
            *after,
        ]
    return Tracker(
        sender_id=sender,
        slots={**(slots or {}), **(read or {})},
        latest_message=message,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": loop} if loop else {},
        latest_action_name=latest_action,
    )


def turn(
    text: str,
    given: Dict[str, Any],
    held: Optional[Dict[str, Any]] = None,
    form: Optional[str] = "verify_form",
    intent: str = "inform",
    **message: Any,
) -> Tracker:
    """A form's turn: `given` read from the message, as trailing slot events; `held` from earlier
    turns; `message`: more of user_turn's keywords (sender, message_id, key, after...)."""
    return user_turn(
        text,
        intent,
        before=[action(form)] if form else [],
        read=given,
        slots={"form_failures": 0.0, **(held or {})},
        loop=form,
        **message,
    )


def slots(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
