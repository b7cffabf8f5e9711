"""bot/tracker_store.py: the pooled store's engine (SQLite file, PostgreSQL, a Rasa server started
from endpoints.yml), then the windowed store against Rasa's own SQLTrackerStore on PostgreSQL.

The windowed store:

One long conversation (small talk, a form, a handoff pause, a revert) is written turn by turn
through the windowed store; after every turn the windowed tracker is compared with what stock
Rasa loads from the same table (the whole session) and with a tracker kept in memory that never
saw a checkpoint: the same slots, form, pause, latest message and action, the same last events,
the same states for every turn a policy looks at. And the window stays bounded.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator, List

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SlotSet,
    UserUttered,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import (
    CHECKPOINT,
    PooledSQLTrackerStore,
    TrackerStoreConfigurationError,
    WindowedSQLTrackerStore,
)

ROOT = Path(__file__).resolve().parents[2]
DB = "travel_test_window_tracker"
WINDOW = 60
CHECKPOINT_EVERY = 25
HISTORY = 10  # states compared from the end: more than max_history (5) and any rule of ours


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def fresh_database(name: str) -> Iterator[str]:
    """A new PostgreSQL database `name` on the local server, dropped afterwards."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        conn = psycopg2.connect(
            host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=3
        )
    except psycopg2.OperationalError as error:
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 unreachable: {error}")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    yield from fresh_database(DB)


def stores(domain: Domain, db: str):
    common = dict(
        domain=domain, dialect="postgresql", host="127.0.0.1", port=5432, db=db, username="postgres"
    )
    windowed = WindowedSQLTrackerStore(window_events=WINDOW, checkpoint_events=CHECKPOINT_EVERY, **common)
    return windowed, SQLTrackerStore(**common)


def user(text: str, intent: str) -> UserUttered:
    return UserUttered(text, intent={"name": intent, "confidence": 1.0})


def turn_events(i: int) -> List[Event]:
    """Turn i of the conversation: mostly small talk, with a form, a pause and a revert."""
    if i % 40 == 10:  # a complaint form opens, asks, and stays active for the next turns
        return [
            user("我要投诉", "complain"),
            ActionExecuted("complaint_form"),
            ActiveLoop("complaint_form"),
            SlotSet("requested_slot", "complaint_description"),
            BotUttered("请描述一下发生了什么"),
            ActionExecuted("action_listen"),
        ]
    if i % 40 in (11, 12):
        return [
            user(f"导游态度很差 {i}", "inform"),
            ActionExecuted("complaint_form"),
            SlotSet("complaint_description", f"导游态度很差 {i}"),
            SlotSet("requested_slot", "complaint_when_where"),
            BotUttered("什么时候在哪里？"),
            ActionExecuted("action_listen"),
        ]
    if i % 40 == 13:  # the form ends
        return [
            user("算了", "cancel"),
            ActionExecuted("action_cancel_form"),
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            SlotSet("complaint_description", None),
            ActionExecuted("action_listen"),
        ]
    if i % 40 == 20:  # a handoff: paused for a few turns
        return [user("转人工", "request_human"), ActionExecuted("action_handoff"), ConversationPaused()]
    if i % 40 in (21, 22):
        return [user(f"还在吗 {i}", "greet")]
    if i % 40 == 23:
        return [ConversationResumed(), ActionExecuted("action_listen")]
    if i % 40 == 30:  # a misunderstood message, reverted by the fallback
        return [
            user("啊啊啊", "nlu_fallback"),
            ActionExecuted("action_default_fallback"),
            UserUtteranceReverted(),
            ActionExecuted("action_listen"),
        ]
    if i == 1:  # given once, early: only a checkpoint carries it into later windows
        return [
            user("TR20260001", "inform"),
            ActionExecuted("action_read_message"),
            SlotSet("booking_ref", "TR20260001"),
            ActionExecuted("action_listen"),
        ]
    return [
        user(f"行李额是多少 {i}", "policy"),
        ActionExecuted("action_read_message"),
        SlotSet("read_message_id", f"m{i}"),
        ActionExecuted("action_answer_policy"),
        BotUttered(f"答案 {i}"),
        SlotSet("answered_message_id", f"m{i}"),
        ActionExecuted("action_listen"),
    ]


def summary(tracker: DialogueStateTracker, domain: Domain):
    return {
        "slots": tracker.current_slot_values(),
        "loop": tracker.active_loop_name,
        "paused": tracker.is_paused(),
        "latest_action": tracker.latest_action_name,
        "latest_text": tracker.latest_message.text if tracker.latest_message else None,
        "states": tracker.past_states(domain)[-HISTORY:],
        "rule_states": tracker.past_states(domain, ignore_rule_only_turns=True)[-HISTORY:],
    }


async def test_a_long_conversation_loads_a_bounded_window_with_the_same_state(domain, database):
    windowed, stock = stores(domain, database)
    sender = f"long-{uuid.uuid4().hex[:8]}"
    tracker = await windowed.get_or_create_tracker(sender)
    assert [e.as_dict()["event"] for e in tracker.events] == ["action"]
    reference = DialogueStateTracker(sender, domain.slots)  # never saw a checkpoint
    reference.update(tracker.events[0])
    windows = []
    for i in range(160):
        tracker = await windowed.retrieve(sender)
        for event in turn_events(i):
            tracker.update(event)
            reference.update(event)
        await windowed.save(tracker)

        loaded, full = await windowed.retrieve(sender), await stock.retrieve(sender)
        expected = summary(reference, domain)
        assert summary(loaded, domain) == expected, f"windowed store differs after turn {i}"
        assert summary(full, domain) == expected, f"stock Rasa reads the table differently after turn {i}"
        # The window's last events are the stored conversation's last events (checkpoints included).
        assert [e.as_dict() for e in loaded.events][-WINDOW:] == [e.as_dict() for e in full.events][-WINDOW:]
        windows.append(len(loaded.events))

    assert len(reference.events) > 1000
    # Bounded: the window plus at most one checkpoint interval, a turn and a checkpoint's slots.
    assert max(windows[-60:]) <= WINDOW + CHECKPOINT_EVERY + 7 + len(domain.slots)
    assert len((await stock.retrieve_full_tracker(sender)).events) > len(reference.events)  # checkpoints


async def test_checkpoints_only_between_settled_turns(domain, database):
    windowed, _ = stores(domain, database)
    sender = f"form-{uuid.uuid4().hex[:8]}"
    await windowed.get_or_create_tracker(sender)
    for i in range(60):  # a form that never ends: no turn starts settled
        tracker = await windowed.retrieve(sender)
        events = turn_events(10) if i == 0 else turn_events(11)
        for event in events:
            tracker.update(event)
        await windowed.save(tracker)
    with windowed.session_scope() as session:
        table = windowed.SQLEvent
        marked = (
            session.query(table).filter(table.sender_id == sender, table.intent_name == CHECKPOINT).count()
        )
    assert marked == 0
    assert (await windowed.retrieve(sender)).active_loop_name == "complaint_form"


async def test_saving_twice_stores_nothing_twice(domain, database):
    windowed, stock = stores(domain, database)
    sender = f"twice-{uuid.uuid4().hex[:8]}"
    tracker = await windowed.get_or_create_tracker(sender)
    for event in turn_events(0):
        tracker.update(event)
    await windowed.save(tracker)
    await windowed.save(tracker)
    assert len((await stock.retrieve(sender)).events) == 1 + len(turn_events(0))


# --- the pooled store: its own engine -----------------------------------------------------

TUNED_DB = "travel_helper_trk"


def slot_domain() -> Domain:
    return Domain.from_yaml(
        "version: '3.1'\nslots:\n  city:\n    type: text\n    mappings: [{type: custom}]\n"
    )


def sqlite_settings(engine) -> tuple:
    with engine.connect() as connection:
        return tuple(
            connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "busy_timeout")
        )


async def test_sqlite_file_store_pools_connections_in_wal_mode_and_keeps_every_event(tmp_path):
    from sqlalchemy.pool import QueuePool

    domain, db = slot_domain(), str(tmp_path / "tracker.db")
    store = PooledSQLTrackerStore(domain, dialect="sqlite", db=db)
    assert isinstance(store.engine.pool, QueuePool)  # stock Rasa: NullPool, a connection per call
    assert sqlite_settings(store.engine) == ("wal", 1, 5000)  # 1 = NORMAL; stock: delete, FULL

    tracker = await store.get_or_create_tracker("t1")
    for i in range(3):
        tracker.update(UserUttered(f"第{i}句", {"name": "greet", "confidence": 1.0}))
        tracker.update(SlotSet("city", f"城市{i}"))
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)
    # A second store on the same file (another process at start-up) sees everything once.
    again = await PooledSQLTrackerStore(domain, dialect="sqlite", db=db).retrieve("t1")
    assert [e.as_dict()["event"] for e in again.events] == [e.as_dict()["event"] for e in tracker.events]
    assert again.get_slot("city") == "城市2"
    assert sum(1 for e in again.events if isinstance(e, UserUttered)) == 3


async def test_a_handed_out_tracker_appends_its_new_events_without_counting_the_stored_ones(tmp_path):
    """Stock Rasa counts the session's stored rows on every save; a tracker this store handed
    out knows how many are stored. Same rows as Rasa's way, across sessions, saved twice."""
    import sqlalchemy as sa
    from rasa.shared.core.events import SessionStarted

    domain, db = slot_domain(), str(tmp_path / "tracker.db")
    store = PooledSQLTrackerStore(domain, dialect="sqlite", db=db)
    stock = SQLTrackerStore(domain, dialect="sqlite", db=db)
    statements: List[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    await store.save(DialogueStateTracker.from_events("t2", [ActionExecuted("action_listen")]))
    for i in range(3):
        tracker = await store.retrieve("t2")
        if i == 2:  # a new session inside the turn: the old session's events stay in the tracker
            tracker.update(SessionStarted())
        tracker.update(UserUttered(f"第{i}句", {"name": "greet", "confidence": 1.0}))
        tracker.update(SlotSet("city", f"城市{i}"))
        statements.clear()
        await store.save(tracker)
        await store.save(tracker)  # nothing new: nothing written
        assert not any("session_start" in s for s in statements)  # Rasa's count of the session's rows
        assert sum(s.lstrip().upper().startswith("INSERT") for s in statements) == 2 + (i == 2)
    stored = await stock.retrieve_full_tracker("t2")
    kinds = [type(e).__name__ for e in stored.events]
    assert kinds == ["ActionExecuted"] + ["UserUttered", "SlotSet"] * 2 + [
        "SessionStarted",
        "UserUttered",
        "SlotSet",
    ]
    assert (await stock.retrieve("t2")).get_slot("city") == "城市2"
    assert [type(e).__name__ for e in (await store.retrieve("t2")).events] == kinds[5:]


async def test_the_saved_tracker_is_handed_out_again_only_while_its_rows_are_the_same(tmp_path):
    import sqlalchemy as sa
    from rasa.shared.core.events import SessionStarted

    domain, db = slot_domain(), str(tmp_path / "tracker.db")
    store = PooledSQLTrackerStore(domain, dialect="sqlite", db=db)
    stock = SQLTrackerStore(domain, dialect="sqlite", db=db)
    loads: List[str] = []
    sa.event.listen(
        store.engine,
        "before_cursor_execute",
        lambda *a: loads.append(a[2]) if "events.data" in a[2] else None,
    )

    async def turn(tracker, i, through=None):
        tracker.update(UserUttered(f"第{i}句", {"name": "greet", "confidence": 1.0}))
        tracker.update(SlotSet("city", f"城市{i}"))
        await (through or store).save(tracker)

    def same_as_stock(tracker, stocked):
        assert [e.as_dict() for e in tracker.events] == [e.as_dict() for e in stocked.events]
        assert tracker.current_slot_values() == stocked.current_slot_values()

    await store.save(
        DialogueStateTracker.from_events("t3", [SessionStarted(), ActionExecuted("action_listen")])
    )
    first = await store.retrieve("t3")  # loaded from its rows
    await turn(first, 1)
    loads.clear()
    again = await store.retrieve("t3")
    assert again is first and loads == []  # kept: no rows read, no replay
    same_as_stock(again, await stock.retrieve("t3"))

    # Another process (a second store on the file) adds to the conversation: loaded again.
    other = PooledSQLTrackerStore(domain, dialect="sqlite", db=db)
    await turn(await other.retrieve("t3"), 2, through=other)
    reloaded = await store.retrieve("t3")
    assert reloaded is not first and reloaded.get_slot("city") == "城市2" and loads
    same_as_stock(reloaded, await stock.retrieve("t3"))

    # A turn that was not saved (dropped after a failure) leaves its events on the object only.
    await turn(reloaded, 3)
    reloaded.update(UserUttered("没保存的一句", {"name": "greet", "confidence": 1.0}))
    fresh = await store.retrieve("t3")
    assert fresh is not reloaded and fresh.latest_message.text == "第3句"
    same_as_stock(fresh, await stock.retrieve("t3"))

    # A session started in the turn: Rasa's load holds the new session only, so that is loaded.
    fresh.update(SessionStarted())
    await turn(fresh, 4)
    latest = await store.retrieve("t3")
    assert latest is not fresh and isinstance(latest.events[0], SessionStarted)
    same_as_stock(latest, await stock.retrieve("t3"))
    await turn(latest, 5)
    assert await store.retrieve("t3") is latest


def test_the_pragmas_stay_on_the_stores_engine(tmp_path):
    """Neither the store nor the server's patches touch the other SQLAlchemy engines."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from bot import patches

    patches.apply({})  # as the Rasa server does (bot/serve.py)
    PooledSQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    unrelated = sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    stock = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "stock.db"))
    # busy_timeout is not compared: Python's sqlite3 sets 5000 ms on every connection anyway.
    assert sqlite_settings(unrelated)[:2] == ("delete", 2)  # 2 = FULL, SQLite's default
    assert sqlite_settings(stock.engine)[:2] == ("delete", 2)
    assert isinstance(stock.engine.pool, NullPool)


def test_a_missing_database_driver_stops_the_start_not_an_in_memory_store():
    """Rasa loads a custom store inside `except ImportError` and falls back to an in-memory store;
    ours refuses, as stock `type: SQL` does (MySQL: no driver installed here)."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import EndpointConfig

    config = EndpointConfig(type="bot.tracker_store.PooledSQLTrackerStore", dialect="mysql", db="x")
    with pytest.raises(TrackerStoreConfigurationError, match="ModuleNotFoundError"):
        TrackerStore.create(config, Domain.empty())


@pytest.fixture(scope="module")
def tuned_database() -> Iterator[str]:
    yield from fresh_database(TUNED_DB)


async def test_postgresql_store_times_out_connecting_and_replaces_dropped_connections(
    tuned_database, monkeypatch
):
    import psycopg2

    monkeypatch.setenv("SQL_POOL_SIZE", "4")  # Rasa's own setting still applies
    store = PooledSQLTrackerStore(
        slot_domain(),
        dialect="postgresql",
        host="127.0.0.1",
        port=5432,
        db=tuned_database,
        username="postgres",
    )
    assert store.engine.pool.size() == 4
    with store.engine.connect() as connection:
        assert "connect_timeout=3" in connection.connection.dbapi_connection.dsn  # libpq: no timeout
    assert store.engine.pool._pre_ping

    tracker = await store.get_or_create_tracker("pg-1")
    tracker.update(SlotSet("city", "杭州"))
    await store.save(tracker)
    # The server drops every pooled connection (a restart, a failover): the next read still works.
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
            (tuned_database,),
        )
        assert cursor.fetchone()[0] >= 1
    admin.close()
    assert (await store.retrieve("pg-1")).get_slot("city") == "杭州"
    store.engine.dispose()


def test_a_rasa_server_started_from_endpoints_yml_uses_the_pooled_store(trained_model, tmp_path):
    """The real endpoints.yml through bot/serve.py: the store is ours (a wrong module path would
    have made Rasa fall back to an in-memory store with a mere warning)."""
    import sqlite3

    import httpx

    from tests.services import free_port, rasa_service

    port, secret, db = free_port(), "tracker-store-test", tmp_path / "tracker.db"
    action_url = f"http://127.0.0.1:{free_port()}/webhook"  # not called
    rasa = rasa_service(tmp_path, trained_model, action_url, secret, port, endpoints=ROOT / "endpoints.yml")
    rasa.env.update(TRACKER_DB=str(db), ACTION_SERVER_URL=action_url)
    rasa.start()
    try:
        response = httpx.post(
            f"http://127.0.0.1:{port}/conversations/pooled-1/tracker/events",
            json=[{"event": "bot", "text": "您好"}],
            headers=rasa.headers,
            timeout=60,
        )
        assert response.status_code == 200, response.text
    finally:
        rasa.stop()
    log = rasa.log_path.read_text(errors="replace")
    assert "Tracker store PooledSQLTrackerStore on sqlite (pool: QueuePool)" in log, rasa.log_tail()
    assert "InMemoryTrackerStore" not in log
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        stored = connection.execute("SELECT type_name FROM events WHERE sender_id = 'pooled-1'").fetchall()
    assert ("bot",) in stored
