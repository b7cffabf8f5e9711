"""The stock socket.io channel with rasa issue #13027 fixed and conversations bound to sockets.

#13027: with `session_persistence: true` (which rasa-webchat relies on) the stock channel
calls `sio.enter_room(...)` without awaiting it; in python-socketio 5.x that is a
coroutine, so the socket never joins the session room and the client receives nothing.
We await it (RASA-NOTES, "Socket.io channel bug") and keep the name `socketio`.

Conversation identity: the stock channel joins whatever room the client names and takes
the sender from each message's `session_id`, so whoever knew a session id spoke as that
traveller and received the agent's replies. Here the server issues the id
(`bot/channels/session_ids.py`):

- `session_request` with no token, or a forged, foreign or expired one, starts a new
  conversation; a genuine token resumes its conversation (a reloaded or reconnected tab)
  and is renewed. `session_confirm` carries the token; only its first part, the
  conversation id, is Rasa's sender id and the socket.io room.
- The socket is bound to that conversation: `user_uttered` is spoken in the bound
  conversation only; a message naming another session, or sent before
  `session_request`, is refused (the socket gets `session_refused`).

Server-side history (issue 15): the tracker is the record of the conversation (agents'
replies are appended to it by the ticketing API, also while the traveller's tab is
closed). After `session_confirm` the socket gets `history`: the messages of its own,
verified conversation read from the agent's tracker store, with timestamps and the
handoff state. Every tab of a conversation is in its room, so each also gets the
traveller's messages written in another tab (`user_echo`), a `bot_typing` cue while
the bot works on a message, and the handoff state after it (`handoff_state`). Before
a tab starts a new conversation it sends `leave_conversation`: during a handoff the
agent is told in the old conversation.

Typing cues during a handoff (issue 15), transient: never in the tracker.
- The widget sends `traveller_typing` {typing}; the channel notes the moment for the socket's
  own, bound conversation (whatever the data names), and the ticketing API asks for it with
  `POST /webhooks/socketio/typing/traveller` {conversation} -> {typing}.
- The API sends `POST /webhooks/socketio/typing/agent` {conversation, typing, agent} for the
  agent holding the conversation; the channel emits `agent_typing` to that room only.
Both routes take what Rasa's HTTP API takes: `Authorization: Bearer <JWT>` signed with Rasa's
--jwt-secret, role admin (the ticketing API's short-lived token), checked by Rasa's own JWT
extension; without --jwt-secret they answer 403. The moment is kept in this process and, at
scale (CHANNEL_REDIS_URL, bot/channels/scale.py), also in Redis with a few seconds' expiry, so
the API's ask may reach any replica; the agent's cue reaches the socket's replica through the
shared socket.io client manager.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput as StockSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput
from rasa.utils.common import call_potential_coroutine
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels.scale import key_prefix, redis_url, share_rooms
from bot.channels.session_ids import DEFAULT_MAX_AGE, SessionSigner

logger = logging.getLogger(__name__)

PURPOSE = "socketio"
REFUSED_EVT = "session_refused"
HISTORY_EVT = "history"
ECHO_EVT = "user_echo"
TYPING_EVT = "bot_typing"
STATE_EVT = "handoff_state"
LEAVE_EVT = "leave_conversation"
LEFT_EVT = "conversation_left"
HISTORY_LIMIT = 200  # messages sent to a (re)connecting tab
SHOWN_LIMIT = 200  # characters of a button title echoed to the other tabs
# Written into the old conversation when the traveller starts a new one during a handoff, so
# the agent does not go on writing to nobody (it lands in the tracker; the paused bot is silent).
NEW_CONVERSATION_NOTICE = "（旅客已开始新对话）"
# Rasa's prefix for intents triggered from outside (trigger_intent, reminders): not the traveller.
EXTERNAL_PREFIX = "EXTERNAL: "
TRAVELLER_TYPING_EVT = "traveller_typing"  # widget -> channel
AGENT_TYPING_EVT = "agent_typing"  # channel -> widget
# A cue is fresh this long: the widget repeats it every 2 s while keys are pressed, and says
# when the traveller stops; a tab closed mid-word must not leave the agent waiting forever.
TYPING_FRESH_SECONDS = 6.0
TYPING_MAX_CONVERSATIONS = 10_000  # a bound on the memory a flood of sockets can take
AGENT_NAME_LIMIT = 64


async def staff_token(request: Request) -> bool:
    """Rasa's own check of its HTTP API (rasa/server.py requires_auth): a JWT that its JWT
    extension accepts, with role admin. No JWT configured means closed, not open."""
    app = request.app
    auth = getattr(app.ctx, "auth", None)
    if not app.config.get("USE_JWT") or auth is None:
        return False
    try:
        if not await call_potential_coroutine(auth.is_authenticated(request)):
            return False
        payload = await call_potential_coroutine(auth.extract_payload(request))
    except Exception:  # an unreadable or forged token is simply not staff
        return False
    user = (payload or {}).get("user") if isinstance(payload, dict) else None
    return isinstance(user, dict) and user.get("role") == "admin"


def _conversation_in(request: Request) -> Optional[Text]:
    try:
        body = request.json
    except Exception:
        return None
    conversation = body.get("conversation") if isinstance(body, dict) else None
    return conversation if isinstance(conversation, str) and 0 < len(conversation) <= 128 else None


def _buttons(data: Dict[Text, Any]) -> List[Dict[Text, Text]]:
    raw = data.get("buttons") or data.get("quick_replies") or []
    return [
        {"title": str(b.get("title") or b.get("payload")), "payload": str(b.get("payload") or b.get("title"))}
        for b in raw
        if isinstance(b, dict) and (b.get("title") or b.get("payload"))
    ]


def conversation_history(
    events: List[Dict[Text, Any]], limit: int = HISTORY_LIMIT
) -> Tuple[List[Dict], Dict]:
    """What the widget shows of a tracker's events, and the handoff state at its end.

    Messages are `{"from": "user"|"bot"|"agent", "text", "ts", ...}` with `ts` the event's Unix
    time in seconds. A bot text is split at blank lines as SocketIOOutput splits it live, the
    buttons going with the last part; a button payload the traveller chose (`/affirm`) is shown
    as the title of the button that sent it. The state is `{"handoff": paused, "agent": name}`,
    the agent being the one who wrote last since the conversation was paused.
    """
    messages: List[Dict[Text, Any]] = []
    offered: Dict[Text, Text] = {}  # payload -> title of the buttons offered so far (latest wins)
    paused, agent = False, None
    for event in events:
        kind = event.get("event")
        ts = float(event.get("timestamp") or 0)
        if kind == "user":
            text = event.get("text")
            if not isinstance(text, str) or not text.strip() or text.startswith(EXTERNAL_PREFIX):
                continue
            if text.startswith("/"):  # the title it was offered as, else the one the widget sent
                shown = (event.get("metadata") or {}).get("shown_as")
                sent_title = shown[:SHOWN_LIMIT] if isinstance(shown, str) and shown else None
                text = offered.get(text) or sent_title or text
            messages.append({"from": "user", "text": text, "ts": ts})
            for earlier in reversed(messages[:-1]):  # the choices before a reply are used up
                if earlier.get("buttons"):
                    earlier["answered"] = True
                    break
        elif kind == "bot":
            data = event.get("data") or {}
            name = (event.get("metadata") or {}).get("handoff_agent")
            sender = {"from": "agent", "agent": str(name)} if name else {"from": "bot"}
            buttons = _buttons(data)
            offered.update({b["payload"]: b["title"] for b in buttons})
            text = (event.get("text") or "").strip()
            parts = text.split("\n\n") if text else []
            if not parts and (buttons or data.get("image")):
                parts = [""]
            for index, part in enumerate(parts):
                message = dict(sender, text=part, ts=ts)
                if index == len(parts) - 1:
                    if buttons:
                        message["buttons"] = buttons
                    if isinstance(data.get("image"), str):
                        message["image"] = data["image"]
                messages.append(message)
            if name and paused:
                agent = str(name)
        elif kind == "pause":
            paused, agent = True, None
        elif kind in ("resume", "restart"):
            paused, agent = False, None
    return messages[-limit:], {"handoff": paused, "agent": agent}


class SharedTyping:
    """The traveller's typing cue in Redis for several Rasa replicas: a key that expires on its
    own (a tab closed mid-word leaves nothing behind). Redis failing is "no cue", never an
    error in the chat: the replica holding the socket still answers from its memory."""

    def __init__(self, client: Any, prefix: Text) -> None:
        self.client, self.prefix = client, prefix

    @classmethod
    def from_environment(cls) -> Optional["SharedTyping"]:
        url = redis_url()
        if not url:
            return None
        import redis.asyncio as redis

        return cls(redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0), key_prefix())

    def _key(self, conversation: Text) -> Text:
        return f"{self.prefix}:typing:{conversation}"

    async def start(self, conversation: Text) -> None:
        try:
            await self.client.set(self._key(conversation), "1", px=int(TYPING_FRESH_SECONDS * 1000))
        except Exception as error:  # noqa: BLE001 - Redis down: the local memory still answers
            logger.debug("typing cue not shared: %s", type(error).__name__)

    async def stop(self, conversation: Text) -> None:
        try:
            await self.client.delete(self._key(conversation))
        except Exception as error:  # noqa: BLE001
            logger.debug("typing cue not cleared in Redis: %s", type(error).__name__)

    async def active(self, conversation: Text) -> bool:
        try:
            return bool(await self.client.exists(self._key(conversation)))
        except Exception as error:  # noqa: BLE001
            logger.debug("shared typing cue not read: %s", type(error).__name__)
            return False


class SocketIOInput(StockSocketIOInput):
    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        channel = super().from_credentials(credentials)  # builds cls(...) with the stock options
        channel.signer = SessionSigner(
            credentials.get("session_secret"),
            PURPOSE,
            float(credentials.get("session_max_age") or DEFAULT_MAX_AGE),
        )
        return channel

    def __init__(
        self,
        *args: Any,
        session_secret: Optional[Text] = None,
        session_max_age: float = DEFAULT_MAX_AGE,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.signer = SessionSigner(session_secret, PURPOSE, session_max_age)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        share_rooms(self.sio)  # several replicas: rooms shared through Redis (bot/channels/scale.py)
        sio = self.sio
        namespace = self.namespace
        server: Dict[Text, Any] = {}
        typing_at: Dict[Text, float] = {}  # conversation -> monotonic time of its latest cue
        shared_typing = SharedTyping.from_environment()  # None: one process, memory only

        @webhook.listener("before_server_start")
        async def remember_app(app: Any, _loop: Any) -> None:
            server["app"] = app  # Rasa puts its agent (and so the tracker store) on app.ctx

        async def read_events(conversation: Text) -> Optional[List[Dict[Text, Any]]]:
            """The conversation's events from the agent's tracker store; None if unavailable
            (no agent loaded yet, or the store failed: the tab then keeps what it shows)."""
            agent = getattr(getattr(server.get("app"), "ctx", None), "agent", None)
            store = getattr(agent, "tracker_store", None)
            if store is None:
                return None
            try:
                tracker = await store.retrieve_full_tracker(conversation)
            except Exception:  # a failing store must not break the chat itself
                logger.exception("socket.io history: the tracker store failed")
                return None
            return [event.as_dict() for event in tracker.events] if tracker else []

        async def emit_state(conversation: Text) -> None:
            events = await read_events(conversation)
            if events is not None:
                await sio.emit(
                    STATE_EVT, conversation_history(events, 0)[1], room=conversation, namespace=namespace
                )

        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            presented = data.get("session_id") if isinstance(data, dict) else None
            conversation = self.signer.verify(presented) if self.session_persistence else None
            if presented and conversation is None:
                logger.info("socket %s presented an invalid or expired session id: new conversation", sid)
            token = self.signer.issue(conversation)
            conversation = token.split(".", 1)[0]
            bound = await sio.get_session(sid, namespace=namespace)
            previous = bound.get("conversation")
            if previous and previous != conversation:
                await sio.leave_room(sid, previous, namespace=namespace)
            await sio.save_session(sid, {"conversation": conversation}, namespace=namespace)
            # Awaited: the stock handler's missing await is rasa#13027.
            await sio.enter_room(sid, conversation, namespace=namespace)
            await sio.emit("session_confirm", token, room=sid, namespace=namespace)
            logger.debug("socket %s bound to its conversation", sid)
            # Only this socket, only the conversation its verified token names.
            events = await read_events(conversation)
            if events is not None:
                messages, state = conversation_history(events)
                await sio.emit(
                    HISTORY_EVT, {"messages": messages, "state": state}, room=sid, namespace=namespace
                )

        def typing_now(conversation: Text) -> bool:
            at = typing_at.get(conversation)
            return at is not None and time.monotonic() - at < TYPING_FRESH_SECONDS

        async def traveller_typing(sid: Text, data: Any) -> None:
            """Only the socket's own conversation: a traveller signals for nobody else."""
            conversation = (await sio.get_session(sid, namespace=namespace)).get("conversation")
            if not conversation:
                return
            if not (isinstance(data, dict) and data.get("typing") is True):
                typing_at.pop(conversation, None)
                if shared_typing is not None:
                    await shared_typing.stop(conversation)
                return
            if shared_typing is not None:
                await shared_typing.start(conversation)
            if conversation not in typing_at and len(typing_at) >= TYPING_MAX_CONVERSATIONS:
                for stale in [c for c in typing_at if not typing_now(c)]:
                    del typing_at[stale]
                if len(typing_at) >= TYPING_MAX_CONVERSATIONS:
                    return
            typing_at[conversation] = time.monotonic()

        @webhook.route("/typing/traveller", methods=["POST"])
        async def traveller_typing_state(request: Request) -> Any:
            if not await staff_token(request):
                return response.json({"error": "not authorised"}, status=403)
            conversation = _conversation_in(request)
            if conversation is None:
                return response.json({"error": "conversation required"}, status=400)
            typing = typing_now(conversation)
            if not typing and shared_typing is not None:
                typing = await shared_typing.active(conversation)  # the socket may be on another replica
            return response.json({"typing": typing})

        @webhook.route("/typing/agent", methods=["POST"])
        async def agent_typing(request: Request) -> Any:
            if not await staff_token(request):
                return response.json({"error": "not authorised"}, status=403)
            conversation = _conversation_in(request)
            if conversation is None:
                return response.json({"error": "conversation required"}, status=400)
            body = request.json
            agent = body.get("agent") if isinstance(body.get("agent"), str) else None
            cue = {"typing": body.get("typing") is True, "agent": agent[:AGENT_NAME_LIMIT] if agent else None}
            await sio.emit(AGENT_TYPING_EVT, cue, room=conversation, namespace=namespace)
            return response.json({"ok": True})

        async def handle_message(sid: Text, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            conversation = (await sio.get_session(sid, namespace=namespace)).get("conversation")
            claimed = data.get("session_id")
            if not conversation or (
                claimed not in (None, "", conversation) and self.signer.verify(claimed) != conversation
            ):
                logger.warning("socket %s: message for a session it does not hold refused", sid)
                await sio.emit(
                    REFUSED_EVT,
                    {"reason": "session_request first" if not conversation else "not this socket's session"},
                    room=sid,
                    namespace=namespace,
                )
                return
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            text = data.get("message", "")
            text = text if isinstance(text, str) else ""
            typing_at.pop(conversation, None)  # the message is sent: no longer typing it
            if shared_typing is not None:
                await shared_typing.stop(conversation)
            # The conversation's other tabs show what the traveller wrote here; a button choice
            # as its title (only ever shown inside this same conversation).
            shown = metadata.get("shown_as")
            if isinstance(shown, str) and shown.strip() and text.startswith("/"):
                shown = shown[:SHOWN_LIMIT]
            else:
                shown = text
            if shown.strip():
                await sio.emit(
                    ECHO_EVT,
                    {"text": shown, "ts": time.time()},
                    room=conversation,
                    skip_sid=sid,
                    namespace=namespace,
                )
            message = UserMessage(
                text,
                SocketIOOutput(sio, self.bot_message_evt),
                conversation,
                input_channel=self.name(),
                metadata=metadata,
            )
            await sio.emit(TYPING_EVT, {"typing": True}, room=conversation, namespace=namespace)
            try:
                await on_new_message(message)
            finally:
                await sio.emit(TYPING_EVT, {"typing": False}, room=conversation, namespace=namespace)
            await emit_state(conversation)  # the message may have started (or ended) a handoff

        async def leave_conversation(sid: Text, _data: Any = None) -> None:
            """The tab is about to start a new conversation: during a handoff, tell the agent."""
            conversation = (await sio.get_session(sid, namespace=namespace)).get("conversation")
            told = False
            if conversation:
                events = await read_events(conversation)
                if events is not None and conversation_history(events, 0)[1]["handoff"]:
                    await on_new_message(
                        UserMessage(
                            NEW_CONVERSATION_NOTICE,
                            SocketIOOutput(sio, self.bot_message_evt),
                            conversation,
                            input_channel=self.name(),
                            metadata={"widget": "new_conversation"},
                        )
                    )
                    told = True
            await sio.emit(LEFT_EVT, {"told_agent": told}, room=sid, namespace=namespace)

        # Registering again replaces the stock handlers for these events.
        sio.on("session_request", session_request, namespace=namespace)
        sio.on(self.user_message_evt, handle_message, namespace=namespace)
        sio.on(LEAVE_EVT, leave_conversation, namespace=namespace)
        sio.on(TRAVELLER_TYPING_EVT, traveller_typing, namespace=namespace)
        return webhook
