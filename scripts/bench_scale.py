"""`make bench-scale`: the scaled-out setup under load, on one replica and on two (docs/scale.md).

Starts the setup of `make run-scale` on the fault tests' ports (tests/faults/stack.py: two Rasa
replicas on PostgreSQL and Redis, two action servers, the API with its workers, nginx), then:

1. N = 20, 50 and 100 concurrent conversations (make bench's scripted conversations: itinerary,
   policy questions, a complaint to its ticket), each slot running --rounds conversations back
   to back; against one replica directly and through nginx against both, alternated back to
   back at each level (--order, --repeat). p50/p95 per message, messages per second, errors
   (HTTP errors, timeouts, empty replies), and where the CPU went: CPU milliseconds per message
   of every process of the stack, the load generator and this run's PostgreSQL backends, read
   from /proc, beside what the machine spent on other work (the two cores are shared).
2. One long conversation: --turns messages (policy questions and small talk) one after the
   other on one replica; the latency of the first turns against the last (the tracker grows
   with every turn: Rasa issues #3011, #6334).

Bounded and loopback only: fixed scripts, 60 s timeout per request, ports 6050-6099 (not while
`make test-faults` runs). The services reach PostgreSQL directly (the fault tests' proxy would
run in this process, beside the load generator; --pg-proxy puts it back).

    .venv/bin/python -m scripts.bench_scale [--rounds 2] [--turns 300] [--levels 20 50 100]
        [--order 1 2] [--repeat 2] [--client light|httpx] [--pg-proxy]
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
from typing import Dict, List, Optional, Sequence, Tuple

import httpx
import uvloop

from scripts import run_scale
from scripts.bench_chat import OURS, percentile, run_load
from tests.faults.stack import API_DB, TRACKER_DB, Stack

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


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_stat(path: str) -> Optional[Tuple[int, float]]:
    """(process group, CPU seconds in user and kernel mode) from /proc/<path>/stat."""
    try:
        fields = Path(f"/proc/{path}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy (everyone's work, ours and others')."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


class CpuMeter:
    """CPU seconds per part of the stack, from /proc: each service's process group (uvicorn's and
    nginx's workers included), our Redis, this process (the load generator), and the machine's
    PostgreSQL backends serving this run's databases. What the machine spent beyond them is the
    rest: other sessions' work on the shared cores, PostgreSQL's own background processes."""

    def __init__(self, stack: Stack, databases: Sequence[str]) -> None:
        self.groups: Dict[int, str] = {}
        for name, service in stack.services.items():
            if service.process is not None:
                self.groups[service.process.pid] = name
        if stack.redis.process is not None:
            self.groups[stack.redis.process.pid] = "redis"
        self.databases = tuple(databases)

    def part_of(self, pid: int, pgid: int) -> Optional[str]:
        if pid == os.getpid():
            return "load generator"
        if pgid in self.groups:
            return self.groups[pgid]
        return None

    def sample(self) -> Dict[str, float]:
        totals: Dict[str, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            stat = _proc_stat(entry)
            if stat is None:
                continue
            pid, (pgid, seconds) = int(entry), stat
            part = self.part_of(pid, pgid)
            if part is None and any(f" {db} " in _cmdline(pid) for db in self.databases):
                part = "postgresql"
            if part is not None:
                totals[part] = totals.get(part, 0.0) + seconds
                if part.startswith("rasa") and pid == pgid:
                    # The main thread alone (the event loop, holding the GIL for most of its
                    # work) against the whole process: what TensorFlow's pools add beside it.
                    main = _proc_stat(f"{pid}/task/{pid}")
                    if main is not None:
                        totals[f"{part}:main"] = main[1]
        totals["machine"] = machine_busy_seconds()
        return totals

    @staticmethod
    def rest_cores(cpu: Dict[str, float], result: Dict[str, float]) -> float:
        """Cores the machine spent on anything but this stack during a measurement."""
        ours = sum(v for k, v in cpu.items() if k != "machine" and ":" not in k)
        return (cpu["machine"] - ours) / (result["messages"] / result["msg_per_s"])

    @staticmethod
    def delta(before: Dict[str, float], after: Dict[str, float]) -> Dict[str, float]:
        # A PostgreSQL backend that ended between the samples takes its seconds with it (the
        # pools keep theirs open, so this undercounts by little).
        return {k: after[k] - before.get(k, 0.0) for k in after}


async def run_load_light(
    rasa_url: str, scripts: Sequence[Sequence[str]], concurrency: int, rounds: int
) -> Dict[str, float]:
    """rasa_url: one URL, or several separated by spaces: slot i then talks to the i-th modulo
    (each conversation stays on one replica, as a websocket does behind the front)."""
    """scripts.bench_chat.run_load's measurement (N slots, each running its conversations back to
    back; the same errors: HTTP errors, timeouts, empty replies) with aiohttp on uvloop. The load
    generator shares the two cores with what it measures: with httpx (and the fault tests'
    PostgreSQL proxy threads in the same process) it took 3.3-4.2 CPU ms per message, now
    0.6-0.8 ms (CpuMeter, 2026-12-06 14:08-14:21 UTC)."""
    import aiohttp

    targets = [f"{base}/webhooks/rest/webhook" for base in rasa_url.split()]
    latencies: List[float] = []
    errors: List[str] = []
    connector = aiohttp.TCPConnector(limit=concurrency + 5)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def converse(script: Sequence[str], record: bool = True, url: str = targets[0]) -> None:
            sender = f"bench-{uuid.uuid4().hex[:12]}"
            for text in script:
                start = time.perf_counter()
                try:
                    async with session.post(url, json={"sender": sender, "message": text}) as response:
                        response.raise_for_status()
                        if not await response.json():
                            errors.append(f"empty reply to {text!r}")
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                    errors.append(f"{type(exc).__name__} on {text!r}")
                if record:
                    latencies.append(time.perf_counter() - start)

        await converse(scripts[0][:1], record=False)  # warm-up
        errors.clear()

        async def slot(i: int) -> None:
            for r in range(rounds):
                await converse(scripts[(i + r) % len(scripts)], url=targets[i % len(targets)])

        started = time.perf_counter()
        await asyncio.gather(*(slot(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "messages": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "msg_per_s": len(latencies) / elapsed,
        "errors": len(errors),
    }


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


def print_cpu(cpus: Sequence[Tuple[str, int, Dict[str, float], Dict[str, float]]]) -> None:
    """CPU milliseconds per message of each part, and the cores each part kept busy."""
    if not cpus:
        return
    parts = sorted({k for _, _, _, cpu in cpus for k in cpu if k != "machine" and ":" not in k})
    threads = sorted({k for _, _, _, cpu in cpus for k in cpu if ":" in k})
    print("\nCPU ms per message (cores busy), from /proc; 'rest' = the machine's other work")
    for label, n, result, cpu in cpus:
        elapsed = result["messages"] / result["msg_per_s"]
        ours = sum(cpu.get(k, 0.0) for k in parts)
        rest = cpu["machine"] - ours
        cells = [
            f"{k} {cpu.get(k, 0.0) * 1000 / result['messages']:.1f} ({cpu.get(k, 0.0) / elapsed:.2f})"
            for k in parts + threads
        ]
        print(
            f"  {label:<10} N={n:<3} total {ours * 1000 / result['messages']:.1f} ms/msg "
            f"({ours / elapsed:.2f} cores), rest {rest / elapsed:.2f} cores: " + ", ".join(cells)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="conversations per concurrent slot")
    parser.add_argument("--levels", type=int, nargs="+", default=[20, 50, 100])
    parser.add_argument("--turns", type=int, default=300, help="turns of the long conversation (0: none)")
    parser.add_argument(
        "--order",
        type=int,
        nargs="+",
        choices=[1, 2, 3],
        default=[1, 2],
        help="setups, in this order: 1 replica, 2 behind nginx (round robin per message), "
        "3 = 2 replicas with each conversation kept on one (as the widget's websocket is)",
    )
    parser.add_argument("--repeat", type=int, default=2, help="run the setups this many times, back to back")
    parser.add_argument(
        "--client",
        choices=["light", "httpx"],
        default="light",
        help="load generator: aiohttp on uvloop, or make bench's httpx client (as before)",
    )
    parser.add_argument(
        "--pg-proxy",
        action="store_true",
        help="reach PostgreSQL through the fault tests' proxy (threads in this process), as before",
    )
    args = parser.parse_args()
    if args.client == "httpx" and 3 in args.order:
        parser.error("--order 3 needs the light client")
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    model = run_scale.model_path(run_scale.scale_environment())
    stack = Stack(workdir, model, pg_proxy=args.pg_proxy)
    began = datetime.now(timezone.utc)
    print(
        f"bench-scale {began:%Y-%m-%d %H:%M} UTC, model {Path(model).name}; starting the stack…", flush=True
    )
    results: List[Tuple[int, str, int, Dict[str, float]]] = []
    cpus: List[Tuple[str, int, Dict[str, float], Dict[str, float]]] = []
    load = LoadSampler()
    try:
        stack.start()
        load.start()  # from the first request, not while the replicas load their model
        one = stack.rasa_url(0)
        both = stack.front  # nginx: /webhooks/ round robin over both replicas
        meter = CpuMeter(stack, (TRACKER_DB, API_DB))
        urls = {
            1: ("1 replica", one),
            2: ("2 replicas", both),
            3: ("2 sticky", f"{stack.rasa_url(0)} {stack.rasa_url(1)}"),
        }
        # Level by level, the setups back to back (1, 2, 1, 2 with --repeat 2): each pair is
        # measured in the same minute, so the other sessions' load hits both alike.
        for n in args.levels:
            for repeat in range(args.repeat):
                for replicas in args.order:
                    label, url = urls[replicas]
                    before = meter.sample()
                    if args.client == "light":
                        result = uvloop.run(run_load_light(url, OURS, n, args.rounds))
                    else:
                        result = asyncio.run(run_load(url, OURS, n, args.rounds))
                    cpu = CpuMeter.delta(before, meter.sample())
                    result["load1"] = os.getloadavg()[0]
                    result["rest_cores"] = CpuMeter.rest_cores(cpu, result)
                    results.append((repeat, label, n, result))
                    cpus.append((label, n, result, cpu))
                    print(
                        f"  {datetime.now(timezone.utc):%H:%M:%S} {label:<10} N={n:<3} "
                        f"{result['messages']:>5} msgs  "
                        f"p50 {result['p50_ms']:>6.0f} ms  p95 {result['p95_ms']:>6.0f} ms  "
                        f"{result['msg_per_s']:>5.1f} msg/s  errors {result['errors']}  "
                        f"load {result['load1']:.1f}  others' CPU {result['rest_cores']:.2f} cores",
                        flush=True,
                    )
        latencies, long_errors = asyncio.run(long_conversation(one, args.turns))
    finally:
        load.stop()
        stack.stop()
    ended = datetime.now(timezone.utc)

    print(
        f"\nbench-scale {began:%Y-%m-%d %H:%M}-{ended:%H:%M} UTC; "
        f"load average during the requests: {load.summary()}"
    )
    print(
        f"{'setup':<11} {'N':>4} {'msgs':>6} {'p50 ms':>8} {'p95 ms':>8} {'msg/s':>7} {'errors':>6} "
        f"{'load':>5} {'others':>6}"
    )
    for _, label, n, r in results:
        print(
            f"{label:<11} {n:>4} {r['messages']:>6} {r['p50_ms']:>8.0f} {r['p95_ms']:>8.0f} "
            f"{r['msg_per_s']:>7.1f} {r['errors']:>6} {r['load1']:>5.1f} {r['rest_cores']:>6.2f}"
        )
    print("(load: 1-minute load average at the end; others: cores the machine spent on other work)")
    by = {(repeat, label, n): r for repeat, label, n, r in results}
    ratios: Dict[int, List[float]] = {}
    for repeat, n in ((repeat, n) for repeat in range(args.repeat) for n in args.levels):
        single, double = by.get((repeat, "1 replica", n)), by.get((repeat, "2 replicas", n))
        if single and double:
            ratios.setdefault(n, []).append(double["msg_per_s"] / single["msg_per_s"])
            print(
                f"N={n}: two replicas / one: {double['msg_per_s'] / single['msg_per_s']:.2f}x msg/s, "
                f"p95 {double['p95_ms'] / single['p95_ms']:.2f}x"
            )
    for n, values in ratios.items():
        if len(values) > 1:
            print(f"N={n}: median of {len(values)} back-to-back ratios {statistics.median(values):.2f}x")
    print_cpu(cpus)
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
