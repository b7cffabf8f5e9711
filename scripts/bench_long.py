"""One long conversation inside a real Rasa agent, turn by turn and phase by phase (issue 17).

`make bench-scale` measures a 300-turn conversation over HTTP; this narrower script says where
a turn's time goes as the conversation grows. It loads the model into a Rasa `Agent` in this
process with the scale setup's endpoints (deploy/endpoints.scale.yml: PostgreSQL tracker store,
Redis lock store) and the server's own patches (bot/patches.py), starts one action server of
its own (port 6210), and sends --turns messages through `Agent.handle_message` as the REST
channel does. Per turn it records the total and the time in: the tracker store's retrieve and
save, NLU, the policies' predictions, the custom-action calls (HTTP round trip and the action
server's work). --profile also runs cProfile over the last turns.

    .venv/bin/python -m scripts.bench_long [--turns 300] [--endpoints deploy/endpoints.scale.yml]
        [--profile] [--model models/….tar.gz]

Loopback only; a database of its own (travel_bench_long_tracker, dropped and created again).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import os
import pstats
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import wraps
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import httpx

from scripts import run_scale

ROOT = Path(__file__).resolve().parents[1]
ACTION_PORT = 6210
TRACKER_DB = "travel_bench_long_tracker"
SCRIPT = ("退款怎么算", "行李额是多少", "航班延误了怎么办", "你好", "签证要多久", "谢谢")
WINDOW = 5

phases: Dict[str, float] = defaultdict(float)


def timed(name: str, fn: Callable) -> Callable:
    """Wraps an async function so that its wall time adds to phases[name]."""

    @wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            phases[name] += time.perf_counter() - started

    return wrapper


def timed_sync(name: str, fn: Callable) -> Callable:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            phases[name] += time.perf_counter() - started

    return wrapper


def instrument() -> None:
    """Timers around Rasa's phases (after bot.patches, so their versions are measured)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import FailSafeTrackerStore

    # The wrapper Rasa puts around every store: whichever store endpoints name is measured.
    FailSafeTrackerStore.retrieve = timed("store.retrieve", FailSafeTrackerStore.retrieve)
    FailSafeTrackerStore.save = timed("store.save", FailSafeTrackerStore.save)
    MessageProcessor.parse_message = timed("nlu", MessageProcessor.parse_message)
    MessageProcessor._predict_next_with_tracker = timed_sync(
        "policies", MessageProcessor._predict_next_with_tracker
    )
    RemoteAction.run = timed("custom actions", RemoteAction.run)


@contextmanager
def action_server(env: Dict[str, str]) -> Iterator[None]:
    args = [sys.executable, "-m", "actions.server", "--port", str(ACTION_PORT), "--actions", "actions"]
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / "bench-long-actions.log", "ab")
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{ACTION_PORT}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError("the action server did not start")
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


async def converse(agent: Any, turns: int, profile_from: int) -> List[Dict[str, float]]:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    sender = f"bench-long-{uuid.uuid4().hex[:10]}"
    rows: List[Dict[str, float]] = []
    profiler = cProfile.Profile()
    for turn in range(turns):
        phases.clear()
        output = CollectingOutputChannel()
        if turn == profile_from:
            profiler.enable()
        started = time.perf_counter()
        await agent.handle_message(UserMessage(SCRIPT[turn % len(SCRIPT)], output, sender))
        total = time.perf_counter() - started
        if not output.messages:
            print(f"turn {turn + 1}: no reply", file=sys.stderr)
        rows.append(dict(phases, total=total))
    profiler.disable()
    if profile_from < turns:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
        print(f"\ncProfile of turns {profile_from + 1}-{turns} (cumulative):\n{text.getvalue()}")
    return rows


def report(rows: List[Dict[str, float]]) -> None:
    names = ["total", "store.retrieve", "store.save", "nlu", "policies", "custom actions"]
    first, last = rows[1 : 1 + WINDOW], rows[-WINDOW:]
    print(f"\n{'phase (median ms)':<18} {'turns 2-6':>10} {'last 5':>10} {'ratio':>7}")
    for name in names:
        a = statistics.median(r.get(name, 0.0) for r in first) * 1000
        b = statistics.median(r.get(name, 0.0) for r in last) * 1000
        print(f"{name:<18} {a:>10.1f} {b:>10.1f} {b / a if a else float('nan'):>7.2f}")
    print(
        "every 50 turns, total ms: "
        + ", ".join(f"{rows[i]['total'] * 1000:.0f}" for i in range(0, len(rows), 50))
    )


async def run(args: argparse.Namespace, env: Dict[str, str]) -> List[Dict[str, float]]:
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints

    endpoints = AvailableEndpoints.read_endpoints(args.endpoints)
    agent = await load_agent(model_path=args.model, endpoints=endpoints)
    return await converse(agent, args.turns, args.turns - WINDOW if args.profile else args.turns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--endpoints", default=str(run_scale.ENDPOINTS))
    parser.add_argument("--model", default=None)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    env = run_scale.scale_environment()
    env.update(
        TRACKER_DB_NAME=TRACKER_DB,
        ACTION_SERVER_URL=f"http://127.0.0.1:{ACTION_PORT}/webhook",
        DATABASE_URL="sqlite:///unused",  # only the tracker database is ours here
    )
    os.environ.update(env)
    args.model = args.model or run_scale.model_path(env)
    run_scale.ensure_databases(env, drop=True)

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    # As `rasa run` without --debug: INFO (Rasa's debug logs print every state of the tracker).
    configure_logging_and_warnings(logging.INFO)
    configure_structlog(logging.INFO)

    from bot import patches, serve

    patches.apply()
    serve.install()
    instrument()
    print(
        f"bench-long {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, model {Path(args.model).name}, "
        f"endpoints {args.endpoints}, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    with action_server(env):
        rows = asyncio.run(run(args, env))
    report(rows)


if __name__ == "__main__":
    main()
