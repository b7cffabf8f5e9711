"""Runs of the scheduled jobs (app/services/scheduler.py), one row per job and due time.

The row is the claim: every API worker has its own scheduler and fires the same jobs, and
each tries to INSERT (job, slot) before it runs; the unique constraint lets exactly one of
them win, on SQLite and PostgreSQL alike, with no lock held between runs. The row then keeps
what the run did (outcome, counts, error), so "did last night's retention run?" is a query."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow

RUNNING, OK, ERROR = "running", "ok", "error"


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    # The due time this run stands for, e.g. "2026-12-07T08:00+08:00" (a China-time boundary).
    slot: Mapped[str] = mapped_column(String(40))
    worker: Mapped[str] = mapped_column(String(128))  # host:pid of the winner
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default=RUNNING)  # running | ok | error
    result: Mapped[dict] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
