"""Our SQL tracker stores, named in the endpoints files through Rasa's custom tracker-store hook
(`tracker_store: type: bot.tracker_store.<Class>`; Rasa passes the file's other keys, `url` as
`host`, and the domain).

`PooledSQLTrackerStore` (endpoints.yml, and the base of the windowed store at scale) is Rasa's
`SQLTrackerStore` with an engine of its own, tuned where the stock one is not:

- **SQLite file** (the embedded default): stock Rasa opens a new connection for every load and
  every save (SQLAlchemy 1.4 uses NullPool for files) and commits with a full fsync in
  rollback-journal mode. Here: pooled connections, WAL and synchronous=NORMAL (durable across a
  crash of the process; an OS crash may lose the last commits, a trade made for a chat log) and
  a busy timeout for the review export reading alongside. The pragmas are set on this store's
  engine only, not on every SQLAlchemy engine of the process.
- **PostgreSQL** (at scale, docs/scale.md): the store is a blocking client inside the event
  loop, so an unreachable server must fail within seconds (libpq waits forever by default), and
  a connection the server dropped (restart, failover) is replaced before use, not failed on.

Rasa's own settings still apply (SQL_POOL_SIZE, SQL_MAX_OVERFLOW, POSTGRESQL_SCHEMA).

`WindowedSQLTrackerStore`: a pooled store whose cost per turn does not grow with the
conversation (issue 17).

Stock `SQLTrackerStore` loads every event of the current session on every message, and Rasa
then replays them, featurises the whole history for every policy on every prediction and
sends all of them to the action server with every custom-action call (Rasa issues #3011,
#6334): measured here, turn 300 of one conversation cost 4x turn 3 over HTTP, and in-process
the policies' `past_states` (~40 %), the store's load (~35 %) and the action calls' payload
(~15 %) grew with the session (scripts/bench_long.py, docs/scale.md).

This store (named in deploy/endpoints.scale.yml as `type: bot.tracker_store.WindowedSQLTrackerStore`,
Rasa's public custom-store hook) keeps the same table and the same events, and loads only a
window of the session:

- **Checkpoints.** When a turn starts in a settled state (the bot was listening, no form
  active, not paused, no follow-up action) and at least `checkpoint_events` events were stored
  since the last checkpoint, `save` first writes a checkpoint: `SlotSet` events carrying every
  slot that differs from its initial value at that moment, marked in the `intent_name` column
  (`~window` on the first, `~window+` on the rest). In the full history they set what is
  already set (a replay of the whole session, the transcript, `retrieve_full_tracker`, gives
  the same tracker as before).
- **Windows.** `retrieve` starts at the newest checkpoint of the current session that has at
  least `window_events` events after it, and replays only from there: the checkpoint restores
  the slots, the events after it the rest. Slots, the active form, the latest message and
  action, and the last `window_events` events are exactly as with the whole session; the
  policies' states over the window are the same as over the whole session for every state a
  policy looks at (max_history 5, rules of at most 6 steps, against ~7 turns kept). Before a
  usable checkpoint exists (short conversations: most of them) it loads the whole session as
  Rasa does.
- **Saving** appends exactly the events added since the tracker was loaded (stock Rasa
  counts the stored rows of the session, which a window does not hold).

What differs from stock Rasa: custom actions and policies see the last `window_events`..
`window_events + checkpoint_events` events of a long session, not all of it. Our actions
scan recent events only, except `actions/handoff.py: collected_slots` ("every value learned in
this session, even if a cancelled form cleared it since"): a value given and then cleared more
than the window ago (~7 turns) is not passed on to the agent (current values always are).
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
import logging
import sqlite3
import time
from typing import Any, Dict, Iterator, List, Optional, Text, Tuple, Union

import sqlalchemy as sa
import sqlalchemy.exc
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore, create_engine_kwargs, validate_port
from rasa.shared.core.domain import Domain
from rasa.shared.exceptions import RasaException
from rasa.shared.core.constants import ACTION_LISTEN_NAME, SESSION_START_METADATA_SLOT
from rasa.shared.core.events import Event, Restarted, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import QueuePool

logger = logging.getLogger(__name__)

CHECKPOINT = "~window"  # intent_name of a checkpoint's first row
CHECKPOINT_REST = "~window+"  # intent_name of its other rows
DEFAULT_WINDOW_EVENTS = 50  # ~7 turns: policies look back 5 states, our longest rule has 6 steps
DEFAULT_CHECKPOINT_EVENTS = 50
KEPT_TRACKERS = 256  # conversations whose last saved tracker the pooled store keeps in memory

# Set on the trackers this store hands out: how many of their events are stored, and the state
# they were loaded in (a checkpoint describes the state before the turn's new events).
_STORED = "_window_stored_events"
_SESSION_AT_LOAD = "_pooled_session_at_load"  # index of the latest SessionStarted when loaded
_SETTLED_SLOTS = "_window_settled_slots"

PG_CONNECT_TIMEOUT = 3  # seconds
SQLITE_BUSY_TIMEOUT_MS = 5000


def engine_kwargs(url: Union[Text, URL]) -> Dict[Text, Any]:
    """`create_engine` arguments: Rasa's own (pool size, schema) and ours (see the module)."""
    kwargs = create_engine_kwargs(url)
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        kwargs.setdefault("poolclass", QueuePool)
        # Pooled connections move between the event loop and Rasa's executor threads.
        kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
    elif parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", PG_CONNECT_TIMEOUT)
        kwargs.setdefault("pool_pre_ping", True)
    return kwargs


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Each new SQLite connection of a store's engine: busy timeout, WAL, synchronous=NORMAL."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            pass  # another process holds the file: it keeps working in its current mode
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def create_engine(url: Union[Text, URL]) -> Engine:
    """A tracker store's engine; the SQLite pragmas are listened for on this engine only."""
    engine = sa.create_engine(url, **engine_kwargs(url))
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", sqlite_pragmas)
    return engine


class TrackerStoreConfigurationError(RasaException):
    """The store named in the endpoints file could not be built."""


class PooledSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore (same table, same events) on an engine of its own (see the module)."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        dialect: Text = "sqlite",
        host: Optional[Text] = None,
        port: Optional[int] = None,
        db: Text = "rasa.db",
        username: Optional[Text] = None,
        password: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        login_db: Optional[Text] = None,
        query: Optional[Dict] = None,
        **kwargs: Any,
    ) -> None:
        # Rasa loads a custom store inside `except (AttributeError, ImportError)` and falls back to
        # an in-memory store with a warning: a missing database driver would silently lose every
        # conversation at the next restart. Stock `type: SQL` fails to start; so does this.
        try:
            self._connect(dialect, host, port, db, username, password, login_db, query)
        except (AttributeError, ImportError) as error:
            raise TrackerStoreConfigurationError(
                f"{type(self).__name__} ({dialect}): {type(error).__name__}: {error}"
            ) from error
        TrackerStore.__init__(self, domain, event_broker, **kwargs)
        self._kept: "OrderedDict[Text, Tuple[DialogueStateTracker, int, Tuple[int, int]]]" = OrderedDict()
        logger.info(
            "Tracker store %s on %s (pool: %s)",
            type(self).__name__,
            self.engine.dialect.name,
            type(self.engine.pool).__name__,
        )

    def _connect(
        self,
        dialect: Text,
        host: Optional[Text],
        port: Any,
        db: Text,
        username: Optional[Text],
        password: Optional[Text],
        login_db: Optional[Text],
        query: Optional[Dict],
    ) -> None:
        """SQLTrackerStore.__init__ of Rasa 3.6 with `create_engine` for its inline engine (stock
        Rasa builds it from a module function, which is no extension point)."""
        engine_url = self.get_db_url(
            dialect, host, validate_port(port), db, username, password, login_db, query
        )
        self.engine = create_engine(engine_url)
        while True:  # as Rasa: the database may take a while to come up
            try:
                if login_db:
                    self._create_database_and_update_engine(db, engine_url)
                try:
                    self.Base.metadata.create_all(self.engine)
                except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError) as error:
                    # Replicas started together may race to create the table: one wins.
                    logger.error("Could not create tables: %s", error)
                self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
                return
            except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError) as error:
                logger.warning(error)
                time.sleep(5)

    # -- appending only the turn's events ----------------------------------------------------

    # Keeping the saved tracker: stock Rasa rebuilds the tracker from its rows on every message
    # (JSON, events, replay: 10 % of the server's CPU at 20 conversations, py-spy). The
    # tracker this store saved last is kept and handed out again while its conversation's rows
    # are exactly the ones it saved (their count and newest id, one indexed query) and nothing
    # was added to it since (a turn dropped after a failure is not saved: its events are
    # there, so it is loaded again). Only a tracker loaded here and saved without a new
    # session starting in between is kept: it holds what Rasa's load would give (the latest
    # session). Another process writing to the conversation changes its rows, hence a load.
    keeps_trackers = True

    def _stored_rows(self, sender_id: Text) -> Tuple[int, int]:
        table = self.SQLEvent
        with self.session_scope() as session:
            count, newest = session.execute(
                sa.select(sa.func.count(table.id), sa.func.max(table.id)).where(table.sender_id == sender_id)
            ).one()
        return int(count or 0), int(newest or 0)

    @staticmethod
    def _latest_session_start(tracker: DialogueStateTracker) -> int:
        last = len(tracker.events) - 1
        for back, event in enumerate(reversed(tracker.events)):
            if isinstance(event, SessionStarted):
                return last - back
        return -1

    def _keep(self, tracker: DialogueStateTracker) -> None:
        kept = self._kept
        kept.pop(tracker.sender_id, None)
        loaded_at = getattr(tracker, _SESSION_AT_LOAD, None)
        if not self.keeps_trackers or loaded_at is None or loaded_at != self._latest_session_start(tracker):
            return
        kept[tracker.sender_id] = (tracker, len(tracker.events), self._stored_rows(tracker.sender_id))
        while len(kept) > KEPT_TRACKERS:
            kept.popitem(last=False)

    def _kept_tracker(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        kept = self._kept
        entry = kept.pop(sender_id, None)
        if entry is None:
            return None
        tracker, length, rows = entry
        if len(tracker.events) != length or self._stored_rows(sender_id) != rows:
            return None
        kept[sender_id] = entry
        return tracker

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        tracker = self._kept_tracker(sender_id) if self.keeps_trackers else None
        if tracker is None:
            tracker = await super().retrieve(sender_id)
            if tracker is not None:
                setattr(tracker, _SESSION_AT_LOAD, self._latest_session_start(tracker))
        return self._mark(tracker)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        return self._mark(await super().retrieve_full_tracker(conversation_id))

    def _mark(self, tracker: Optional[DialogueStateTracker]) -> Optional[DialogueStateTracker]:
        """Note how many of the tracker's events are stored (all of them, when handed out)."""
        if tracker is not None:
            setattr(tracker, _STORED, len(tracker.events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save, without counting the stored rows of the session on every turn (a
        query per message): a tracker this store handed out knows how many of its events
        are stored, and exactly the ones after them are appended."""
        stored = getattr(tracker, _STORED, None)
        if stored is None:  # not handed out by this store (a new conversation): Rasa's way
            await super().save(tracker)
            self._mark(tracker)
            return
        await self.stream_events(tracker)
        new_events = list(itertools.islice(tracker.events, stored, None))
        if not new_events:
            return
        with self.session_scope() as session:
            for row in self._new_rows(session, tracker, new_events):
                session.add(row)
            session.commit()
        self._mark(tracker)
        self._keep(tracker)

    def _new_rows(
        self, session: Any, tracker: DialogueStateTracker, new_events: List[Event]
    ) -> Iterator[Any]:
        """The rows a save appends for the turn's events (the windowed store adds a checkpoint)."""
        return (self._row(tracker.sender_id, event, None) for event in new_events)

    def _row(self, sender_id: Text, event: Event, marker: Optional[Text]) -> Any:
        """The row Rasa's save writes for an event (`marker`: our intent_name instead)."""
        data = event.as_dict()
        intent = data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY)
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=marker or intent,
            action_name=data.get("name"),
            data=json.dumps(data),
        )

    def _create_database_and_update_engine(self, db: Text, engine_url: URL) -> None:
        """Rasa's, with our engine for the database it created (stock: a default engine)."""
        if self.engine.dialect.name != "postgresql":
            super()._create_database_and_update_engine(db, engine_url)  # Rasa's warning
            return
        self._create_database(self.engine, db)
        self.engine.dispose()
        self.engine = create_engine(sa.engine.make_url(engine_url).set(database=db))


def settled_slots(tracker: DialogueStateTracker) -> Optional[Dict[Text, Any]]:
    """The slots a checkpoint must restore, if the tracker is in a settled state; else None."""
    if (
        tracker.is_paused()
        or tracker.active_loop_name
        or tracker.followup_action
        or tracker.latest_action_name != ACTION_LISTEN_NAME
    ):
        return None
    values = {name: slot.value for name, slot in tracker.slots.items() if slot.value != slot.initial_value}
    values.setdefault(SESSION_START_METADATA_SLOT, tracker.slots[SESSION_START_METADATA_SLOT].value)
    return values


class WindowedSQLTrackerStore(PooledSQLTrackerStore):
    """PooledSQLTrackerStore that loads a bounded window of long sessions (see the module)."""

    def __init__(
        self,
        *args: Any,
        window_events: int = DEFAULT_WINDOW_EVENTS,
        checkpoint_events: int = DEFAULT_CHECKPOINT_EVENTS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Replicas share its table (scale): a kept tracker would be checked on every message
        # anyway, and the window already bounds the load.
        self.keeps_trackers = False
        self.window_events = int(window_events)
        self.checkpoint_events = int(checkpoint_events)

    # -- reading ----------------------------------------------------------------------------

    def _session_start_id(self, session: Any, sender_id: Text) -> int:
        table = self.SQLEvent
        found = session.execute(
            sa.select(sa.func.max(table.id)).where(
                table.sender_id == sender_id, table.type_name == SessionStarted.type_name
            )
        ).scalar()
        return found or 0

    def _window_start(self, session: Any, sender_id: Text, session_start: int) -> Optional[int]:
        """Id of the newest checkpoint of this session with `window_events` events after it."""
        table = self.SQLEvent
        horizon = session.execute(
            sa.select(table.id)
            .where(table.sender_id == sender_id)
            .order_by(table.id.desc())
            .offset(self.window_events)
            .limit(1)
        ).scalar()
        if horizon is None or horizon <= session_start:
            return None
        return session.execute(
            sa.select(sa.func.max(table.id)).where(
                table.sender_id == sender_id,
                table.intent_name == CHECKPOINT,
                table.id > session_start,
                table.id <= horizon,
            )
        ).scalar()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        with self.session_scope() as session:
            session_start = self._session_start_id(session, sender_id)
            start = self._window_start(session, sender_id, session_start)
        if start is None:
            tracker = await super().retrieve(sender_id)  # short session: all of it, as Rasa does
        else:
            with self.session_scope() as session:
                table = self.SQLEvent
                rows = session.execute(
                    sa.select(table.data)
                    .where(table.sender_id == sender_id, table.id >= start)
                    .order_by(table.id)
                ).scalars()
                events = [json.loads(data) for data in rows]
            tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return self._mark(tracker)

    def _mark(self, tracker: Optional[DialogueStateTracker]) -> Optional[DialogueStateTracker]:
        if tracker is not None:
            super()._mark(tracker)
            setattr(tracker, _SETTLED_SLOTS, settled_slots(tracker))
        return tracker

    # -- writing ----------------------------------------------------------------------------

    def _new_rows(
        self, session: Any, tracker: DialogueStateTracker, new_events: List[Event]
    ) -> Iterator[Any]:
        checkpoint = self._checkpoint(session, tracker, new_events)
        for event, marker in itertools.chain(
            ((e, CHECKPOINT if i == 0 else CHECKPOINT_REST) for i, e in enumerate(checkpoint)),
            ((e, None) for e in new_events),
        ):
            yield self._row(tracker.sender_id, event, marker)

    def _checkpoint(
        self, session: Any, tracker: DialogueStateTracker, new_events: List[Event]
    ) -> List[SlotSet]:
        """The checkpoint to write before this turn's events, if it is time for one."""
        slots = getattr(tracker, _SETTLED_SLOTS, None)
        if slots is None or any(isinstance(e, (SessionStarted, Restarted)) for e in new_events):
            return []
        table = self.SQLEvent
        sender_id = tracker.sender_id
        since = max(
            self._session_start_id(session, sender_id),
            session.execute(
                sa.select(sa.func.max(table.id)).where(
                    table.sender_id == sender_id, table.intent_name == CHECKPOINT
                )
            ).scalar()
            or 0,
        )
        count = session.execute(
            sa.select(sa.func.count()).where(table.sender_id == sender_id, table.id > since)
        ).scalar()
        if count < self.checkpoint_events:
            return []
        # Just before the turn's first event: inside the session, and ordered by id anyway.
        at = new_events[0].timestamp
        ordered = [SESSION_START_METADATA_SLOT] + sorted(n for n in slots if n != SESSION_START_METADATA_SLOT)
        return [SlotSet(name, slots[name], timestamp=at) for name in ordered]
