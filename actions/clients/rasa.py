"""The action server's one use of Rasa's HTTP API: a message to a paused conversation.

While a conversation waits for an agent Rasa runs no action, so nothing the bot says
reaches the traveller; the ticketing API normally relays such a message (an emergency's
advice) through Rasa. When that API is down, the advice must still arrive: the action
server appends it itself, as the API would, with a JWT scoped to that one conversation
(role `user`, username = conversation id: Rasa's requires_auth admits nothing else with it).

The call runs in the background after the action has answered: Rasa holds the
conversation's lock while the action runs and the events endpoint waits for that lock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Optional, Set
from urllib.parse import quote

import httpx

import servicekit
from actions.settings import get_settings

logger = logging.getLogger(__name__)

# Tasks in flight, kept so the event loop does not drop them before they finish.
_pending: Set[asyncio.Task] = set()


async def _append(
    base_url: str, secret: str, conversation_id: str, channel: str, text: str, metadata: Optional[dict]
) -> bool:
    token = servicekit.make_jwt(secret, {"user": {"username": conversation_id, "role": "user"}}, 120)
    event = {"event": "bot", "text": text, "timestamp": time.time()}
    if metadata:
        event["metadata"] = metadata
    url = f"{base_url}/conversations/{quote(conversation_id, safe='')}/tracker/events"
    params = {"output_channel": channel, "execute_side_effects": "true"}
    for attempt in range(3):
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.post(
                    url, params=params, json=[event], headers={"Authorization": f"Bearer {token}"}
                )
            if response.status_code < 400:
                return True
            logger.warning("Rasa refused the paused-conversation message: %s", response.status_code)
            return False
        except httpx.HTTPError as exc:
            logger.warning("Rasa unreachable for the paused-conversation message (%s)", type(exc).__name__)
            await asyncio.sleep(1 + attempt)
    return False


def say_to_paused(
    conversation_id: str, channel: str, text: str, metadata: Optional[dict] = None
) -> Optional[asyncio.Task]:
    """Schedule `text` (with the bot event's `metadata`) into the conversation through Rasa;
    None when no secret is set."""
    settings = get_settings()
    if not settings.rasa_jwt_secret:
        logger.warning("no RASA_JWT_SECRET: a message for a paused conversation was not delivered")
        return None
    task = asyncio.get_running_loop().create_task(
        _append(settings.rasa_url, settings.rasa_jwt_secret, conversation_id, channel, text, metadata)
    )
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    return task
