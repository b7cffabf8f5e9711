"""`make bench-scale`: the scaled-out setup under load, on one replica and on two (docs/scale.md).

Starts the setup of `make run-scale` on the fault tests' ports (tests/faults/stack.py: two Rasa
replicas on PostgreSQL and Redis, two action servers, the API with its workers, nginx), then:

1. N = 20, 50 and 100 concurrent conversations (make bench's scripted conversations: itinerary,
   policy questions, a complaint to its ticket), each slot running --rounds conversations back
   to back; once against one replica directly, once through nginx against both. p50/p95 per
   message, messages per second, errors (HTTP errors, timeouts, empty replies).
2. One long conversation: --turns messages (policy questions and small talk) one after the
   other on one replica; the latency of the first turns against the last (the tracker grows
   with every turn: Rasa issues #3011, #6334).

Bounded and loopback only: fixed scripts, 60 s timeout per request, ports 6050-6099 (not while
`make test-faults` runs).

    .venv/bin/python -m scripts.bench_scale [--rounds 2] [--turns 300] [--levels 20 50 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import httpx

from scripts import run_scale
from scripts.bench_chat import OURS, run_load
from tests.faults.stack import Stack

LONG_SCRIPT: Sequence[str] = ("退款怎么算", "行李额是多少", "航班延误了怎么办", "你好", "签证要多久", "谢谢")
WINDOW = 5  # turns averaged at each end of the long conversation


async def long_conversation(rasa_url: str, turns: int) -> Tuple[List[float], int]:
    """Per-turn latency (s) of one conversation of `turns` messages; errors."""
    sender = f"bench-long-{uuid.uuid4().hex[:10]}"
    latencies: List[float] = []
    errors = 0
    async with httpx.AsyncClient(timeout=60) as client:
        for turn in range(turns):
            text = LONG_SCRIPT[turn % len(LONG_SCRIPT)]
            started = time.perf_counter()
            try:
                response = await client.post(
                    f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
                )
                response.raise_for_status()
                if not response.json():
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - started)
    return latencies, errors


class LoadSampler:
    """The machine's 1-minute load average every few seconds: the figures' context (the 2 cores
    are shared with other work; a run on a busy machine says so)."""

    def __init__(self, every: float = 5.0) -> None:
        self.samples: List[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.samples.append(os.getloadavg()[0])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def summary(self) -> str:
        if not self.samples:
            return "no samples"
        return (
            f"min {min(self.samples):.1f}, median {statistics.median(self.samples):.1f}, "
            f"max {max(self.samples):.1f} on {os.cpu_count()} cores"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="conversations per concurrent slot")
    parser.add_argument("--levels", type=int, nargs="+", default=[20, 50, 100])
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    model = run_scale.model_path(run_scale.scale_environment())
    stack = Stack(workdir, model)
    began = datetime.now(timezone.utc)
    print(
        f"bench-scale {began:%Y-%m-%d %H:%M} UTC, model {Path(model).name}; starting the stack…", flush=True
    )
    results: List[Tuple[str, int, Dict[str, float]]] = []
    load = LoadSampler()
    try:
        stack.start()
        load.start()  # from the first request, not while the replicas load their model
        one = stack.rasa_url(0)
        both = stack.front  # nginx: /webhooks/ round robin over both replicas
        for label, url in (("1 replica", one), ("2 replicas", both)):
            for n in args.levels:
                result = asyncio.run(run_load(url, OURS, n, args.rounds))
                results.append((label, n, result))
                print(
                    f"  {label:<10} N={n:<3} {result['messages']:>5} msgs  p50 {result['p50_ms']:>6.0f} ms  "
                    f"p95 {result['p95_ms']:>6.0f} ms  {result['msg_per_s']:>5.1f} msg/s  errors {result['errors']}",
                    flush=True,
                )
        latencies, long_errors = asyncio.run(long_conversation(one, args.turns))
    finally:
        load.stop()
        stack.stop()
    ended = datetime.now(timezone.utc)

    print(
        f"\nbench-scale {began:%Y-%m-%d %H:%M}-{ended:%H:%M} UTC; load average during the requests: {load.summary()}"
    )
    print(f"{'setup':<11} {'N':>4} {'msgs':>6} {'p50 ms':>8} {'p95 ms':>8} {'msg/s':>7} {'errors':>6}")
    for label, n, r in results:
        print(
            f"{label:<11} {n:>4} {r['messages']:>6} {r['p50_ms']:>8.0f} {r['p95_ms']:>8.0f} "
            f"{r['msg_per_s']:>7.1f} {r['errors']:>6}"
        )
    by = {(label, n): r for label, n, r in results}
    for n in args.levels:
        single, double = by.get(("1 replica", n)), by.get(("2 replicas", n))
        if single and double:
            print(
                f"N={n}: two replicas / one: {double['msg_per_s'] / single['msg_per_s']:.2f}x msg/s, "
                f"p95 {double['p95_ms'] / single['p95_ms']:.2f}x"
            )
    if len(latencies) >= 2 * WINDOW:
        first = statistics.median(latencies[1 : 1 + WINDOW])  # turn 1 warms the conversation up
        last = statistics.median(latencies[-WINDOW:])
        print(
            f"long conversation, {len(latencies)} turns on one replica ({long_errors} errors): "
            f"turns 2-{1 + WINDOW} median {first * 1000:.0f} ms, turns {len(latencies) - WINDOW + 1}-"
            f"{len(latencies)} median {last * 1000:.0f} ms, ratio {last / first:.2f} (target <= 1.5)"
        )
        print(
            "  every 50 turns (ms): "
            + ", ".join(f"{latencies[i] * 1000:.0f}" for i in range(0, len(latencies), 50))
        )


if __name__ == "__main__":
    main()
