"""The ticketing API: `uvicorn app.main:app --app-dir api`."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from app.api.middleware import BodySizeLimit
from app.api.routes import (
    alerts,
    auth,
    bookings,
    canned,
    classify,
    console,
    disruptions,
    handoffs,
    health,
    labels,
    report,
    stats,
    tickets,
)
from app.core.clients import AppClients
from app.core.config import Settings, get_settings
from app.core.db import get_session, make_engine, make_sessionmaker
from app.core.servicekit import install_log_masking
from app.services.masking import mask_log_line

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger(__name__)


def install_log_filter() -> None:
    """Mask personal data in every log line (run at every start-up; idempotent)."""
    # On every handler (root, uvicorn's own, any third party's such as httpx): a filter on
    # a logger misses the records of its child loggers and of every other logger.
    # One filter, with the API's richer mask (names after cue words, ID and card numbers...).
    install_log_masking(mask_log_line)


@asynccontextmanager
async def _running(app: FastAPI, settings: Settings, engine: Engine):
    """What runs beside the requests, on the app's engine: migrations and seeding first, the
    classifier warmed, then the scheduled jobs and the notifier's retries until shutdown."""
    if settings.migrate_on_startup:
        from app.bootstrap import prepare_database

        prepare_database(engine, settings)
    if settings.warm_classifier:
        # Load (and if needed train) the model now, not on the first traveller's request.
        from app.api.deps import get_classifier

        await run_in_threadpool(get_classifier)
    # Scheduled jobs (app/services/scheduler.py): APScheduler in every worker, each due time
    # claimed in job_runs so one worker runs it; the clock is the app's own (tests override
    # get_now). Jobs other than retention run on the app's own database only.
    from app.api.deps import get_now
    from app.services import notifier
    from app.services import scheduler as jobs

    def clock():
        return app.dependency_overrides.get(get_now, get_now)()

    def on_run(outcome: jobs.Outcome) -> None:
        if outcome.job == jobs.RETENTION and outcome.result is not None:
            app.state.retention_runs.append(outcome.result)

    own_database = get_session not in app.dependency_overrides
    job_scheduler = jobs.start(
        settings,
        lambda: engine,
        clock,
        jobs.enabled_jobs(settings, app_database=own_database),
        on_run,
    )
    # Notices to travellers (app/services/notifier.py): every worker retries what is due;
    # a row is claimed before it is sent, so workers never send one twice.
    # It runs on the app's own database: an app given another session (the API tests)
    # delivers through its requests only.
    notice_task = None
    if own_database:
        sessions, clients = app.state.sessions, app.state.clients
        notice_task = asyncio.create_task(
            notifier.run_periodically(
                lambda: notifier.periodic_notifier(sessions, clients), clock, settings.notifier_retry_seconds
            )
        )
    try:
        yield
    finally:
        if notice_task is not None:
            notice_task.cancel()
            with suppress(asyncio.CancelledError):
                await notice_task
        if job_scheduler is not None:
            job_scheduler.shutdown(wait=False)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        install_log_filter()
        # The Rasa secret goes through the same start-up check as the others (servicekit),
        # now rather than at the first handoff.
        settings.check_rasa_secret()
        # The app's own engine, from the settings it was created with: two apps in one process
        # (tests, or an embedding) each use their own database. Requests get their sessions
        # from app.state.sessions (core/db.get_session).
        engine = make_engine(settings.sqlalchemy_url)
        _app.state.engine = engine
        _app.state.sessions = make_sessionmaker(engine)
        try:
            async with _running(_app, settings, engine):
                yield
        finally:
            _app.state.clients.close()  # Rasa, typing relay, WeChat: built from these settings
            engine.dispose()

    app = FastAPI(
        title="旅游客服投诉工单 API (ticketing service)",
        version="0.1.0",
        description=(
            "Complaint tickets, bookings and the complaint classifier of the travel customer-service "
            "assistant. The bot authenticates with the service token; agents and supervisors with "
            "a token from POST /auth/login."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    # Clients of Rasa and WeChat, built from these settings on first use (core/clients.py).
    app.state.clients = AppClients(settings)
    app.state.retention_runs = []  # reports of this process's retention runs (tests read them)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for module in (
        health,
        classify,
        auth,
        bookings,
        tickets,
        stats,
        handoffs,
        console,
        labels,
        canned,
        report,
        disruptions,
        alerts,
    ):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def index():
        page = STATIC / "index.html"
        if not page.is_file():
            return JSONResponse({"detail": "demo page not installed"}, status_code=404)
        return FileResponse(page)

    # check_dir=False: the folder belongs to the web page and may appear after start-up.
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    return app


app = create_app()
