"""The scheduled jobs on APScheduler (issue 16 item 3), safe with several API workers.

Every API worker runs an `AsyncIOScheduler` (APScheduler 3.x) in its event loop, started by
the app lifespan, with the same jobs. When a job fires, the worker first claims its due time:
one INSERT of (job, slot) into `job_runs`, whose unique constraint lets exactly one worker win
(ON CONFLICT DO NOTHING, the same on SQLite and PostgreSQL); the winner runs the job and
writes its outcome on the row, the others skip. The slot is the job's due time computed from
the app's clock (an interval's China-time boundary, or the China date for the daily digest),
so workers whose timers fire a little apart still agree on it.

Why a claim row rather than one "scheduler" worker holding a lock: no connection is held for
the life of a process (a PostgreSQL session lock does not survive a transaction-pooling
proxy, a file lock only one host); a worker that stops loses nothing but the run it was in;
and every run leaves a row saying who ran it, when and with what result. A slot whose winner
died mid-run is not retried: the next slot catches up, because every job works from the
current state (open deadlines, unanswered surveys, departures in 3 days), not from events.

Jobs are plain functions of (session, settings, now): tests call them, or `run_once`, with a
`now` of their own; nothing here sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, delete, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import upsert_insert
from app.models.job import ERROR, OK, RUNNING, JobRun
from app.services import deadlines as dl

log = logging.getLogger(__name__)

RETENTION = "retention"
DEADLINE_ALERTS = "deadline_alerts"
DIGEST = "digest"
SURVEY_REMINDERS = "survey_reminders"
ITINERARY_REMINDERS = "itinerary_reminders"
WORKER = f"{socket.gethostname()}:{os.getpid()}"
# Runs are kept this long (the deadline alerts alone write 288 a day), then pruned by the runs.
KEEP_RUNS = timedelta(days=30)


def interval_slot(now: datetime, seconds: float) -> str:
    """The start of the interval `now` falls in (intervals counted from the epoch), China time."""
    step = max(int(seconds), 1)
    start = datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)
    return start.astimezone(dl.CHINA_TZ).isoformat(timespec="seconds")


def digest_slot(now: datetime, hour: int) -> str | None:
    """Today's China date once DIGEST_HOUR has passed (None before: not due yet)."""
    local = now.astimezone(dl.CHINA_TZ)
    return local.date().isoformat() if local.hour >= hour else None


@dataclass(frozen=True)
class Job:
    name: str
    # (bind, settings, now) -> what the run did; bind is an Engine or a Connection.
    run: Callable[[Engine | Connection, Settings, datetime], Any]
    slot: Callable[[Settings, datetime], str | None]
    trigger: Callable[[Settings], Any]
    first_run_seconds: Callable[[Settings], float]


def _in_session(job: Callable[..., Any]) -> Callable[[Engine | Connection, Settings, datetime], Any]:
    """A job of a Session, in one transaction of its own."""

    def run(bind: Engine | Connection, settings: Settings, now: datetime) -> Any:
        with _session(bind) as session:
            result = job(session, settings=settings, now=now)
            session.commit()
        return result

    return run


def _session(bind: Engine | Connection) -> Session:
    # On a Connection (the API tests' rolled-back transaction) each session is a savepoint.
    return Session(bind=bind, join_transaction_mode="create_savepoint", expire_on_commit=False)


def _retention(bind: Engine | Connection, settings: Settings, now: datetime):
    from app.services import retention

    return retention.run_job(bind, settings, now=now)


def _itinerary(session: Session, *, settings: Settings, now: datetime):
    from app.services.jobs import reminders
    from app.services.rasa_client import rasa_client_from

    # Rasa tells the channel of a contact the bot recorded without one (services/disruptions.py):
    # the Rasa of the settings the job runs with (the app's), a client for this run only.
    rasa = rasa_client_from(settings)
    try:
        return reminders.itinerary_reminders(session, settings=settings, now=now, rasa=rasa)
    finally:
        rasa.close()


def _jobs() -> dict[str, Job]:
    from app.services.jobs import deadline_alerts, digest, reminders

    jobs = [
        Job(
            RETENTION,
            _retention,
            lambda s, now: interval_slot(now, s.retention_interval_hours * 3600),
            lambda s: IntervalTrigger(seconds=s.retention_interval_hours * 3600),
            lambda s: s.retention_first_run_seconds,
        ),
        Job(
            DEADLINE_ALERTS,
            _in_session(deadline_alerts.run),
            lambda s, now: interval_slot(now, s.deadline_alert_interval_seconds),
            lambda s: IntervalTrigger(seconds=s.deadline_alert_interval_seconds),
            lambda s: s.deadline_alert_interval_seconds,
        ),
        Job(
            DIGEST,
            _in_session(digest.run),
            lambda s, now: digest_slot(now, s.digest_hour),
            # At DIGEST_HOUR China time; also shortly after start, which catches up a morning
            # the API was down (the slot is the date: it runs once a day whatever fires).
            lambda s: CronTrigger(hour=s.digest_hour, minute=0, timezone=dl.CHINA_TZ),
            lambda s: 60.0,
        ),
        Job(
            SURVEY_REMINDERS,
            _in_session(reminders.survey_reminders),
            lambda s, now: interval_slot(now, s.reminder_interval_minutes * 60),
            lambda s: IntervalTrigger(seconds=s.reminder_interval_minutes * 60),
            lambda s: 60.0,
        ),
    ]
    jobs.append(
        Job(
            ITINERARY_REMINDERS,
            _in_session(_itinerary),
            lambda s, now: interval_slot(now, s.reminder_interval_minutes * 60),
            lambda s: IntervalTrigger(seconds=s.reminder_interval_minutes * 60),
            lambda s: 90.0,
        )
    )
    return {job.name: job for job in jobs}


JOBS = _jobs()


@dataclass
class Outcome:
    job: str
    slot: str | None
    ran: bool
    result: Any = None
    error: str | None = None


def claim(
    bind: Engine | Connection, *, job: str, slot: str, now: datetime, worker: str = WORKER
) -> int | None:
    """Insert the (job, slot) row; its id if this caller won, None if someone had it already."""
    with _session(bind) as session:
        run_id = session.execute(
            upsert_insert(session)(JobRun)
            .values(job=job, slot=slot, worker=worker[:128], started_at=now, outcome=RUNNING, result={})
            .on_conflict_do_nothing(index_elements=[JobRun.job, JobRun.slot])
            .returning(JobRun.id)
        ).scalar_one_or_none()
        session.commit()
    return run_id


def _finish(bind: Engine | Connection, run_id: int, now: datetime, result: Any, error: str | None) -> None:
    if hasattr(result, "as_dict"):
        result = result.as_dict()
    with _session(bind) as session:
        session.execute(delete(JobRun).where(JobRun.started_at < now - KEEP_RUNS))
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(
                finished_at=now,
                outcome=ERROR if error else OK,
                result=result if isinstance(result, dict) else {"value": str(result)},
                error=error,
            )
        )
        session.commit()


def run_once(
    name: str,
    bind: Engine | Connection,
    settings: Settings,
    now: datetime,
    *,
    worker: str = WORKER,
) -> Outcome:
    """Run job `name` for the slot of `now` unless another caller has claimed it. Errors are
    recorded on the run and logged, never raised: the schedule goes on."""
    job = JOBS[name]
    slot = job.slot(settings, now)
    if slot is None:
        return Outcome(name, None, False)
    run_id = claim(bind, job=name, slot=slot, now=now, worker=worker)
    if run_id is None:
        log.debug("%s %s: another worker has it", name, slot)
        return Outcome(name, slot, False)
    try:
        result = job.run(bind, settings, now)
    except Exception as error:  # noqa: BLE001 - recorded on the run; the next slot catches up
        log.exception("scheduled job %s (%s) failed", name, slot)
        message = f"{type(error).__name__}: {error}"[:2000]
        _finish(bind, run_id, now, {}, message)
        return Outcome(name, slot, True, error=message)
    _finish(bind, run_id, now, result, None)
    log.info(
        "scheduled job %s (%s): %s", name, slot, result.as_dict() if hasattr(result, "as_dict") else result
    )
    return Outcome(name, slot, True, result)


def enabled_jobs(settings: Settings, *, app_database: bool) -> list[str]:
    """RETENTION_SCHEDULE switches the retention job; SCHEDULER_ENABLED the others, which run
    only on the app's own database (an app given another session, the API tests, runs none)."""
    names = [RETENTION] if settings.retention_schedule else []
    if settings.scheduler_enabled and app_database:
        names += [name for name in JOBS if name != RETENTION]
    return names


def start(
    settings: Settings,
    get_bind: Callable[[], Engine | Connection],
    clock: Callable[[], datetime],
    names: list[str],
    on_run: Callable[[Outcome], None] | None = None,
) -> AsyncIOScheduler | None:
    """Start this worker's scheduler in the running event loop (the lifespan's)."""
    if not names:
        return None
    scheduler = AsyncIOScheduler(timezone=dl.CHINA_TZ)

    async def fire(name: str) -> None:
        try:
            outcome = await asyncio.to_thread(run_once, name, get_bind(), settings, clock())
        except Exception:  # noqa: BLE001 - e.g. the database is down: the next fire tries again
            log.exception("scheduled job %s could not run", name)
            return
        if outcome.ran and on_run is not None:
            on_run(outcome)

    started = datetime.now(UTC)
    for name in names:
        job = JOBS[name]
        scheduler.add_job(
            fire,
            job.trigger(settings),
            args=[name],
            id=name,
            name=name,
            next_run_time=started + timedelta(seconds=job.first_run_seconds(settings)),
            coalesce=True,  # a worker that was busy or asleep runs a missed job once, not N times
            max_instances=1,
            misfire_grace_time=3600,
        )
    scheduler.start()
    return scheduler
