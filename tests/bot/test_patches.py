"""The fix to Rasa's custom-action response validation (bot/patches.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import patches
from bot.patches import action_response_validator

# As the Rasa server does at start-up (bot/serve.py).
assert patches.apply()

ROOT = Path(__file__).resolve().parents[2]
VALID = {"events": [{"event": "slot", "name": "phone", "value": None}], "responses": [{"text": "好的"}]}


def test_valid_response_passes_and_invalid_is_refused_with_rasas_message():
    action = RemoteAction("action_x", None)
    assert action._validate_action_result(VALID) is True
    with pytest.raises(ValidationError) as refused:
        action._validate_action_result({"events": "not a list"})
    assert "Failed to validate Action server response" in refused.value.message


def test_the_schema_is_checked_once_not_per_response(monkeypatch):
    validator_class = type(action_response_validator())
    calls = []
    original = validator_class.check_schema
    monkeypatch.setattr(
        validator_class, "check_schema", classmethod(lambda cls, s: calls.append(1) or original(s))
    )
    action = RemoteAction("action_x", None)
    for _ in range(5):
        action._validate_action_result(VALID)
    assert calls == []  # stock Rasa 3.6 re-checks the schema on every response


SELECTOR = {"all_retrieval_intents": ["policy"]}


@pytest.mark.parametrize(
    "response, valid",
    [
        (VALID, True),
        ({"events": [], "responses": []}, True),
        ({"events": [{"event": "user", "text": "你好", "parse_data": {"intent": {"name": "greet"}}}]}, True),
        ({"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "x"}]}, True),
        ({"events": "not a list"}, False),
        ({"events": [{"name": "phone"}]}, False),  # no event type
        ({"events": [{"event": "slot", "name": 3}]}, False),
        ({"events": [{"event": "no_such_event"}]}, False),
        ({"events": [{"event": "bot", "text": "好的"}, {"event": "slot", "name": "x", "value": 1}]}, True),
        ({"events": [{"event": "slot", "name": "x"}]}, False),  # the slot alternative needs a value
        ({"events": [{"event": "entities"}]}, False),
        ({"events": [{"event": "action", "name": 3}]}, False),
        ({"events": [{"event": 5}]}, False),
        ({"events": [{"event": "bot", "timestamp": "today"}]}, False),
        ({"events": ["slot"]}, False),
        # both alternatives of the nested oneOf match: refused, as by jsonschema
        (
            {"events": [{"event": "user", "parse_data": {"response_selector": {"policy": {}}}}]},
            False,
        ),
        (
            {"events": [{"event": "user", "parse_data": {"response_selector": SELECTOR}}]},
            True,
        ),
        ({"responses": [{"text": "好"}]}, True),
        ([], False),
    ],
)
def test_the_compiled_schema_agrees_with_jsonschema(response, valid):
    from fastjsonschema import JsonSchemaException

    from bot.patches import fast_action_response_check

    assert action_response_validator().is_valid(response) is valid
    try:
        fast_action_response_check()(response)
        fast = True
    except JsonSchemaException:
        fast = False
    assert fast is valid


def test_a_response_only_the_compiled_check_refuses_is_still_judged_by_jsonschema(monkeypatch):
    from fastjsonschema import JsonSchemaException

    def refuse(_response):
        raise JsonSchemaException("compiled check refused")

    monkeypatch.setattr(patches, "fast_action_response_check", lambda: refuse)
    action = RemoteAction("action_x", None)
    assert action._validate_action_result(VALID) is True
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})


# --- event types by name ---------------------------------------------------------


def test_event_types_resolve_as_stock_and_unknown_names_still_raise(monkeypatch):
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event

    from bot.patches import stock_resolve_by_type

    names = {
        cls.type_name
        for cls in rasa.shared.utils.common.all_subclasses(Event)
        if getattr(cls, "type_name", None)
    }
    assert len(names) > 20
    for name in names:
        assert Event.resolve_by_type(name) is stock_resolve_by_type(name)
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=Event) is Event

    walks = []
    monkeypatch.setattr(rasa.shared.utils.common, "all_subclasses", lambda c: walks.append(c) or [])
    assert Event.resolve_by_type("user").type_name == "user"
    assert walks == []  # the stock lookup walks every Event subclass for every event


# --- pooled custom-action connections --------------------------------------------------


def test_action_calls_reuse_one_connection_and_survive_the_idle_timeout():
    import asyncio

    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    from bot.patches import KEEPALIVE_SECONDS

    async def scenario():
        peers = []

        async def webhook(request: web.Request) -> web.Response:
            peers.append(request.transport.get_extra_info("peername")[1])
            body = await request.json()
            return web.json_response({"events": [], "responses": [{"text": body["n"]}]})

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(url=f"http://127.0.0.1:{port}/webhook")
        try:
            first = [await endpoint.request(json={"n": str(i)}) for i in range(5)]
            together = await asyncio.gather(*(endpoint.request(json={"n": str(i)}) for i in range(5)))
            await asyncio.sleep(KEEPALIVE_SECONDS + 0.5)  # idle connections dropped by us first
            after_idle = await endpoint.request(json={"n": "late"})
        finally:
            await runner.cleanup()
        return peers, first, together, after_idle

    peers, first, together, after_idle = asyncio.run(scenario())
    assert [r["responses"][0]["text"] for r in first] == ["0", "1", "2", "3", "4"]
    assert sorted(r["responses"][0]["text"] for r in together) == ["0", "1", "2", "3", "4"]
    assert after_idle["responses"][0]["text"] == "late"
    assert len(set(peers[:5])) == 1  # stock Rasa: five connections
    assert peers[-1] != peers[0]  # a fresh one after the idle timeout


# --- version guard and off switch ---------------------------------------------------------


def test_not_applied_on_another_rasa_release_or_when_switched_off(monkeypatch):
    import rasa

    monkeypatch.setattr(patches, "_applied", False)
    monkeypatch.setattr(patches, "RemoteAction", type("Stub", (), {}))  # would be patched if applied
    assert patches.apply({"RASA_PATCHES": "off"}) is False
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    assert patches.apply({}) is False
    assert not hasattr(patches.RemoteAction, "run")


def test_applied_once_on_rasa_3_6():
    import rasa

    assert rasa.__version__.startswith("3.6.")
    assert patches.apply({}) is True
    assert RemoteAction.run is patches._remote_run


def test_the_servers_input_bound_wraps_the_patches_store_handling():
    """bot/serve.py's order: the patches first, then the input bound around them, so an
    over-long message is refused before anything and a store failure is still caught."""
    from rasa.core.agent import Agent

    from bot import serve

    assert patches.apply({}) is True
    serve.install()
    serve.install()  # twice: still one layer each
    assert Agent.handle_message is serve.handle_message
    assert serve._stock_handle_message is patches._agent_handle_message


def test_pooled_sessions_are_closed_when_the_server_stops():
    import asyncio

    from rasa.utils.endpoints import EndpointConfig

    async def scenario():
        first = EndpointConfig(url="http://127.0.0.1:9/webhook")
        second = EndpointConfig(url="http://127.0.0.1:9/other", headers={"X": "1"})
        async with first.session() as a, second.session() as b:
            pass  # lent, not closed, by the pooled `async with`
        async with first.session() as again:
            assert again is a
        open_before = not a.closed and not b.closed
        closed = await patches.close_pooled_sessions()
        return open_before, closed, a.closed, b.closed, await patches.close_pooled_sessions()

    open_before, closed, a_closed, b_closed, closed_again = asyncio.run(scenario())
    assert open_before
    assert closed == 2 and a_closed and b_closed
    assert closed_again == 0


def test_the_server_closes_the_pooled_sessions_after_it_stops():
    import asyncio

    from rasa.utils.endpoints import EndpointConfig
    from sanic import Sanic

    from bot import serve

    app = serve.bound_app(Sanic("pooled_sessions_closed"))
    # Sanic 21.12 keeps an app's listeners as "future" ones until the server starts.
    on_stop = [f.listener for f in app._future_listeners if f.event == "after_server_stop"]
    assert len(on_stop) == 1

    async def scenario():
        async with EndpointConfig(url="http://127.0.0.1:9/webhook").session() as session:
            pass
        await on_stop[0](app, asyncio.get_running_loop())
        return session.closed

    assert asyncio.run(scenario())


# --- dialogue states shared by the policies of one prediction -----------------------


def _form_conversation():
    """A verification form interrupted by a question: user turns, a loop, slots, a hidden rule turn."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(ROOT / "domain.yml"))

    def said(intent, text, entities=()):
        return UserUttered(text, {"name": intent, "confidence": 1.0}, list(entities))

    events = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        said("query_itinerary", "查行程"),
        ActionExecuted("verify_form"),
        ActiveLoop("verify_form"),
        SlotSet("requested_slot", "booking_ref"),
        ActionExecuted("action_listen"),
        said("inform", "TR20260001", [{"entity": "booking_ref", "value": "TR20260001"}]),
        ActionExecuted("action_read_message", hide_rule_turn=True),
        SlotSet("booking_ref", "TR20260001"),
        ActionExecuted("verify_form"),
        SlotSet("requested_slot", "phone_last4"),
        ActionExecuted("action_listen"),
        said("policy", "退款怎么算"),
    ]
    return domain, DialogueStateTracker.from_events("states-test", events, domain.slots)


@pytest.mark.parametrize("omit_unset_slots", [False, True])
@pytest.mark.parametrize("ignore_rule_only_turns", [False, True])
def test_shared_states_are_the_stock_states_and_each_caller_gets_its_own_copy(
    omit_unset_slots, ignore_rule_only_turns
):
    domain, tracker = _form_conversation()
    rule_only = {"slots": ["requested_slot"], "loops": []}
    args = (domain, omit_unset_slots, ignore_rule_only_turns, rule_only)
    stock = patches.stock_past_states(tracker, *args)
    first = tracker.past_states(*args)
    assert first == stock
    del first[-1]["user"]["intent"]  # what a featurizer does to the last state
    first[-1]["prev_action"]["action_name"] = "action_other"
    assert tracker.past_states(*args) == stock


def test_states_are_computed_once_per_prediction_and_again_when_the_tracker_changes(monkeypatch):
    from rasa.shared.core.events import ActionExecuted

    calls = []
    stock = patches.stock_past_states
    monkeypatch.setattr(patches, "stock_past_states", lambda *a, **k: calls.append(a[2:]) or stock(*a, **k))
    domain, tracker = _form_conversation()
    for _ in range(3):  # memoization, rule (text), rule (intent)
        tracker.past_states(domain, False, True, None)
        tracker.past_states(domain, False, False, None)
    assert len(calls) == 2
    tracker.update(ActionExecuted("action_policy"))  # the next prediction
    after = tracker.past_states(domain, False, False, None)
    assert len(calls) == 3
    assert after == stock(tracker, domain, False, False, None)
    _, other = _form_conversation()  # another conversation, same length
    other.past_states(domain, False, False, None)
    assert len(calls) == 4
    tracker.past_states(domain, False, False, {"slots": [], "loops": []})  # other arguments
    assert len(calls) == 5


def test_conversations_in_other_tasks_do_not_share_states(monkeypatch):
    import asyncio

    calls = []
    stock = patches.stock_past_states
    monkeypatch.setattr(patches, "stock_past_states", lambda *a, **k: calls.append(1) or stock(*a, **k))
    domain, tracker = _form_conversation()

    async def predict():
        tracker.past_states(domain)
        tracker.past_states(domain)

    async def both():
        await asyncio.gather(predict(), predict())

    asyncio.run(both())
    assert len(calls) == 2
