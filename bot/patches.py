"""Fixes to Rasa 3.6 internals, applied by the Rasa server's entry point (bot/serve.py).

The SQL tracker store's tuning is not here: it is a tracker store class named in the
endpoints files (bot/tracker_store.py), Rasa's public extension point.

Each was found with py-spy on the Rasa server under 20 concurrent
conversations (README "Figures"); none changes what Rasa answers.

Custom-action responses: `RemoteAction._validate_action_result` calls
`jsonschema.validate()`, which validates the *response schema* against the
Draft 2020-12 meta-schema on every call before validating the response. With
20 concurrent conversations that meta-schema check was 41 % of the Rasa
server's CPU (py-spy, see README "Figures"). The schema never changes, so it is
checked once and one validator is reused: same verdict, same ValidationError. A valid
response (all but a broken action server's) is recognised by the schema compiled with
fastjsonschema; only one it refuses goes through jsonschema, which gives Rasa's verdict.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import os
import weakref
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, Text, Tuple, Type

import aiohttp
import fastjsonschema
import rasa
import sqlalchemy.exc

from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.constants import (
    COMPRESS_ACTION_SERVER_REQUEST_ENV_NAME,
    DEFAULT_COMPRESS_ACTION_SERVER_REQUEST,
)
from rasa.core.agent import Agent
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils import endpoints
from rasa.utils.common import get_bool_env_variable

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def action_response_validator() -> Validator:
    spec = RemoteAction.action_response_format_spec()
    cls = validator_for(spec)
    cls.check_schema(spec)
    return cls(spec)


@lru_cache(maxsize=1)
def fast_action_response_check() -> Callable[[Any], Any]:
    """The same schema compiled to Python code by fastjsonschema: about 20x faster than
    jsonschema's interpreter, which was still 6 % of the server's CPU under load.

    An event must match exactly one of ~23 alternatives (`oneOf`), so every event was
    checked against all of them (7 % of the server's CPU at N=20). Each alternative fixes
    a different `event` name (checked here, else the plain compiled schema is used), so
    "exactly one matches" is "the alternative of its name matches": check only that one.
    """
    spec = copy.deepcopy(RemoteAction.action_response_format_spec())
    items = spec["properties"]["events"]["items"]
    by_name: Dict[str, Callable[[Any], Any]] = {}
    for alternative in items.get("oneOf") or []:
        name = alternative.get("properties", {}).get("event", {}).get("const")
        if not isinstance(name, str) or name in by_name:
            return fastjsonschema.compile(RemoteAction.action_response_format_spec())
        by_name[name] = fastjsonschema.compile(alternative)
    items.pop("oneOf", None)
    envelope = fastjsonschema.compile(spec)  # the rest, incl. each event's `event` string

    def check(response: Any) -> Any:
        envelope(response)
        for event in response.get("events") or ():
            matches = by_name.get(event["event"])
            if matches is None:
                raise fastjsonschema.JsonSchemaException(f"unknown event {event['event']!r}")
            matches(event)
        return response

    return check


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    try:
        fast_action_response_check()(result)
        return True
    except fastjsonschema.JsonSchemaException:
        pass  # jsonschema decides, and raises Rasa's error with its message
    try:
        action_response_validator().validate(result)
        return True
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise e


# Dialogue states shared by the policies of one prediction. Every policy turns the
# tracker into its list of past states (`DialogueStateTracker.past_states`), which
# replays the whole conversation event by event: the rule policy does it twice after a
# user message (text, then intent), memoization and TED once more each (7 % of the
# server's CPU at N=20). Within one prediction the tracker, its events and the arguments
# are the same, so the states are computed once per argument set and each caller gets
# its own copy (the featurizers edit the last state in place). Keyed by the tracker
# object, its number of events and its last event, in a context variable: the graph runs the policies
# of one prediction synchronously, and each conversation is handled in a task (context)
# of its own.
stock_past_states = DialogueStateTracker.past_states
_past_states: ContextVar[Optional[Tuple[Any, ...]]] = ContextVar("past_states", default=None)


def _copy_states(states: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    # A state is {"user": {...}, "prev_action": {...}, "slots": {name: tuple}, ...}: the
    # sub-dicts are what callers change (del state["user"]["text"]); their values are
    # strings and tuples.
    return [
        {key: dict(sub) if isinstance(sub, dict) else sub for key, sub in state.items()} for state in states
    ]


def _cached_past_states(
    self: DialogueStateTracker,
    domain: Any,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: Optional[Dict[Text, Any]] = None,
) -> List[Dict[Text, Any]]:
    entry = _past_states.get()
    last = self.events[-1] if self.events else None
    if entry is None or entry[0] is not self or entry[1] != len(self.events) or entry[2] is not last:
        entry = (self, len(self.events), last, [])
        _past_states.set(entry)
    flags = (omit_unset_slots, ignore_rule_only_turns)
    for known_domain, known_rule_data, known_flags, states in entry[3]:
        if known_domain is domain and known_rule_data is rule_only_data and known_flags == flags:
            return _copy_states(states)
    states = stock_past_states(self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    entry[3].append((domain, rule_only_data, flags, _copy_states(states)))
    return states


# Event types by name. Stock `Event.resolve_by_type` walks every subclass of Event
# for every event it deserialises, i.e. for every event of a conversation each
# time the tracker is loaded (5 % of the server's CPU). The classes are fixed once
# imported; only successful lookups are kept, so unknown names still raise.
# Rasa's own lookup (public: the tests check that the fix resolves every name as it does).
stock_resolve_by_type = Event.resolve_by_type
_event_types: Dict[Text, Type[Event]] = {}


def _resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    cls = _event_types.get(type_name)
    if cls is None:
        cls = stock_resolve_by_type(type_name, default)
        if cls is not None and cls is not default:
            _event_types[type_name] = cls
    return cls


# Custom-action calls: stock `EndpointConfig.request` opens a new aiohttp session,
# hence a new TCP connection, for every call. One session per endpoint and event
# loop keeps connections alive; idle ones are dropped after 2 s, before the action
# server's (Sanic's) own 5 s keep-alive timeout, so a request is never sent on a
# connection the server is closing.
KEEPALIVE_SECONDS = 2.0


def _pooled_session(self: endpoints.EndpointConfig) -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    pooled = getattr(self, "_pooled_session", None)
    if pooled is None or pooled[0] is not loop or pooled[1].closed:
        auth = (
            aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
            if self.basic_auth
            else None
        )
        session = aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
        )
        pooled = (loop, session)
        self._pooled_session = pooled  # type: ignore[attr-defined]
        _pooled_sessions.add(session)
    return pooled[1]


# Every pooled session still open, so that the server closes them when it stops
# (bot/serve.py's after_server_stop listener): aiohttp warns "Unclosed client session"
# otherwise. Weak: an endpoint dropped with its session takes it out of here.
_pooled_sessions: "weakref.WeakSet[aiohttp.ClientSession]" = weakref.WeakSet()


async def close_pooled_sessions() -> int:
    """Close the pooled sessions of the running event loop; returns how many were closed.

    Sessions of another loop (gone, or not ours to touch) are only forgotten."""
    loop = asyncio.get_running_loop()
    closed = 0
    for session in list(_pooled_sessions):
        _pooled_sessions.discard(session)
        if session.closed:
            continue
        if getattr(session, "_loop", loop) is not loop:
            continue
        await session.close()
        closed += 1
    return closed


class _Borrowed:
    """`async with` that lends the pooled session without closing it afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *exc: Any) -> None:
        return None


def _session(self: endpoints.EndpointConfig) -> _Borrowed:
    # Both callers in Rasa 3.6 (`EndpointConfig.request`, the model-server pull)
    # use `async with endpoint.session() as session`.
    return _Borrowed(_pooled_session(self))


# A custom action that fails (action server down or restarting, a 5xx from it or from the
# load balancer, a timeout): stock Rasa logs it, drops the action's events and goes on
# predicting, so the traveller gets nothing or a reply that ignores what they said. Instead
# the traveller is told, politely, to send the message again, and nothing of the turn is
# saved: the conversation is as before the message, so the same message works once the action
# server is back (tests/faults). Only inside the prediction loop: slot extraction's custom
# mappings keep Rasa's behaviour (their failure is followed by the form's own call).
ACTION_FAILURE_REPLY = (
    "抱歉，系统暂时出了点问题，刚才这条消息没有处理成功，您填过的信息都还在。"
    "请稍等片刻再发一次；如有紧急情况请拨打24小时应急电话 {line}。"
)
SESSION_START = "action_session_start"
_action_failures: ContextVar[Optional[List[Text]]] = ContextVar("action_failures", default=None)
_stock_remote_run = RemoteAction.run
_stock_run_action = MessageProcessor._run_action

# Custom-action calls carry the domain (27 kB of JSON here) only until the action server has
# it: afterwards its digest alone (actions/server.py keeps domains by digest). Encoding the
# domain with every call was about 4 % of the server's CPU at 20 conversations (py-spy).
# An action server that does not know the digest (restarted, another replica, a new model)
# answers 449 and the call is sent again with the domain. Compressed calls keep the domain.
DOMAIN_DIGEST_KEY = "domain_digest"
UNKNOWN_DOMAIN_STATUS = 449
_stock_action_call_format = RemoteAction._action_call_format
# (action endpoint url, digest) pairs an action server answered a call with the domain for.
_domain_known: set = set()
_domain_sent: ContextVar[Optional[tuple]] = ContextVar("domain_sent", default=None)
_domain_forced: ContextVar[bool] = ContextVar("domain_forced", default=False)


def domain_digest(domain: Any) -> Text:
    """sha256 of the domain as the action server receives it; computed once per domain."""
    digest = getattr(domain, "_action_server_digest", None)
    if digest is None:
        encoded = json.dumps(domain.as_dict(), sort_keys=True, ensure_ascii=False, default=str)
        digest = hashlib.sha256(encoded.encode("utf-8")).hexdigest()
        domain._action_server_digest = digest
    return digest


def _action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> Dict[Text, Any]:
    call = _stock_action_call_format(self, tracker, domain)
    endpoint = self.action_endpoint
    compressed = get_bool_env_variable(
        COMPRESS_ACTION_SERVER_REQUEST_ENV_NAME, DEFAULT_COMPRESS_ACTION_SERVER_REQUEST
    )
    if "domain" not in call or endpoint is None or compressed:
        return call
    digest = domain_digest(domain)
    call[DOMAIN_DIGEST_KEY] = digest
    key = (endpoint.url, digest)
    if key in _domain_known and not _domain_forced.get():
        del call["domain"]
    else:
        _domain_sent.set(key)
    return call


def _asked_for_domain(error: BaseException) -> bool:
    cause = error.__cause__
    return isinstance(cause, endpoints.ClientResponseError) and cause.status == UNKNOWN_DOMAIN_STATUS


async def _call_action_server(
    self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
) -> List[Event]:
    """Stock `RemoteAction.run`, sent once more with the domain if the server asks for it."""
    _domain_sent.set(None)
    try:
        events = await _stock_remote_run(self, output_channel, nlg, tracker, domain)
    except RasaException as error:
        if isinstance(error, ActionExecutionRejection) or not _asked_for_domain(error):
            raise
        if self.action_endpoint is not None:
            _domain_known.discard((self.action_endpoint.url, domain_digest(domain)))
        forced = _domain_forced.set(True)
        try:
            events = await _stock_remote_run(self, output_channel, nlg, tracker, domain)
        finally:
            _domain_forced.reset(forced)
    sent = _domain_sent.get()
    if sent is not None:
        _domain_known.add(sent)
    return events


def action_failure_reply() -> Text:
    return ACTION_FAILURE_REPLY.format(line=os.environ.get("EMERGENCY_LINE") or "400-820-1190")


async def _remote_run(
    self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
) -> List[Event]:
    try:
        return await _call_action_server(self, output_channel, nlg, tracker, domain)
    except ActionExecutionRejection:
        raise  # a form's "not this slot": Rasa's own flow
    except (RasaException, asyncio.TimeoutError) as error:
        failures = _action_failures.get()
        # Session start runs before the message is logged: nothing of this turn to rewind yet
        # (Rasa's own handling; the turn's first failing action answers).
        if failures is not None and self.name() != SESSION_START:
            failures.append(self.name())
            logger.error(
                "custom action %s failed (%s): the turn is dropped", self.name(), type(error).__name__
            )
        raise  # Rasa's handling (a form's validation inside the form action too), then ours


class ActionServerUnavailable(RasaException):
    """A custom action failed inside the prediction loop: the turn is dropped, not saved."""


async def _run_action(self: MessageProcessor, *args: Any, **kwargs: Any) -> bool:
    """Stock `_run_action`; a custom action that failed in it ends the turn with an error that
    `_agent_handle_message` turns into the polite reply (nothing of the turn is saved)."""
    failures: List[Text] = []
    token = _action_failures.set(failures)
    try:
        more = await _stock_run_action(self, *args, **kwargs)
    finally:
        _action_failures.reset(token)
    if failures:
        raise ActionServerUnavailable(f"custom action {failures[0]} failed")
    return bool(more)


# The stores at scale (docs/scale.md). Rasa wraps the tracker store in FailSafeTrackerStore:
# when it cannot read a conversation it logs and answers as if the conversation were new (a
# traveller in the middle of a complaint is greeted afresh and "确认" means nothing), and what
# it cannot save goes to a per-process in-memory store that nothing reads back. Here an
# unreachable store is an error: the message is not processed, the traveller is told to send
# it again, the log says which store failed, and the conversation carries on where it was once
# the store is back. Same for the Redis lock store (the lock is taken before anything else).
STORE_FAILURE_REPLY = (
    "抱歉，系统暂时繁忙，刚才这条消息没有处理成功，您之前提供的信息都还在。"
    "请稍后再发一次；如有紧急情况请拨打24小时应急电话 {line}。"
)


class TrackerStoreUnavailable(RasaException):
    """The tracker store failed to read or save a conversation."""


def _raise_store_error(self: Any, error: Exception) -> None:
    raise TrackerStoreUnavailable(f"{type(error).__name__}: {error}") from error


def store_failure_reply() -> Text:
    return STORE_FAILURE_REPLY.format(line=os.environ.get("EMERGENCY_LINE") or "400-820-1190")


def unavailable_store(error: BaseException) -> Optional[Text]:
    """Which store `error` says is unreachable, or None for any other error."""
    import redis.exceptions

    if error.__cause__ is not None or error.__context__ is not None:
        # Rasa wraps them: the lock store raises LockError from the Redis error.
        found = unavailable_store(error.__cause__ or error.__context__)
        if found is not None:
            return found
    if isinstance(error, TrackerStoreUnavailable):
        return "tracker store"
    if isinstance(error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return "lock store (Redis)"
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return "tracker store"
    if isinstance(error, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
        return "tracker store"
    return None


_stock_agent_handle_message = Agent.handle_message


async def _agent_handle_message(self: Agent, message: Any) -> Optional[List[Dict[Text, Any]]]:
    try:
        return await _stock_agent_handle_message(self, message)
    except ActionServerUnavailable as error:
        # Nothing of the turn was saved: the conversation is as it was before the message, so
        # the same message works once the action server is back.
        logger.error("%s: message not processed", error)
        if message.output_channel is not None:
            await message.output_channel.send_text_message(message.sender_id, action_failure_reply())
        return None
    except Exception as error:
        store = unavailable_store(error)
        if store is None:
            raise
        # No sender id or text in the log: which store, and why.
        logger.error("%s unreachable, message not processed: %s", store, type(error).__name__)
        if message.output_channel is not None:
            try:
                await message.output_channel.send_text_message(message.sender_id, store_failure_reply())
            except Exception as send_error:
                logger.error("the store-failure reply could not be sent: %s", type(send_error).__name__)
        return None


# The Rasa release these fixes were written against and tested on: they replace internals
# (private methods, module functions), which another release may have changed.
RASA_SERIES = "3.6."
# RASA_PATCHES=off runs stock Rasa (to tell whether a problem is ours or Rasa's).
OFF_SWITCH = "RASA_PATCHES"
_applied = False


def apply(environ: Optional[Dict[str, str]] = None) -> bool:
    """Apply the fixes once, in the Rasa server (bot/serve.py), not on import.

    Returns whether they are in place. Refused (stock Rasa, with a warning) on a Rasa
    release other than 3.6.x, or with RASA_PATCHES=off.
    """
    global _applied
    env = os.environ if environ is None else environ
    if _applied:
        return True
    if env.get(OFF_SWITCH, "").strip().lower() in ("off", "0", "false", "no"):
        logger.warning("%s=off: running stock Rasa, without the fixes of bot/patches.py", OFF_SWITCH)
        return False
    if not rasa.__version__.startswith(RASA_SERIES):
        logger.warning(
            "bot/patches.py was written for Rasa %sx, this is %s: running stock Rasa",
            RASA_SERIES,
            rasa.__version__,
        )
        return False
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    DialogueStateTracker.past_states = _cached_past_states  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[method-assign]
    endpoints.EndpointConfig.session = _session  # type: ignore[method-assign]
    RemoteAction.run = _remote_run  # type: ignore[method-assign]
    RemoteAction._action_call_format = _action_call_format  # type: ignore[method-assign]
    MessageProcessor._run_action = _run_action  # type: ignore[method-assign]
    Agent.handle_message = _agent_handle_message  # type: ignore[method-assign]
    FailSafeTrackerStore.on_tracker_store_error = _raise_store_error  # type: ignore[method-assign]
    FailSafeTrackerStore.on_tracker_store_retrieve_error = _raise_store_error  # type: ignore[method-assign]
    _applied = True
    return True
