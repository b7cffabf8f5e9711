"""Benchmark the ticketing API over real HTTP: ticket-creation throughput and /classify latency,
on SQLite and on PostgreSQL, each against a fresh database and a real uvicorn server.

    cd api && .venv/bin/python -m scripts.bench [--tickets 600] [--concurrency 8] [--classify 300]

Targets (issue 3): >= 300 tickets/s on SQLite, /classify p95 < 20 ms. Loops are bounded.
PostgreSQL is skipped (with a note) when 127.0.0.1:5432 does not answer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from tests.live import LiveServer  # api/tests: run from api/ as `python -m scripts.bench`

TOKEN = "bench-service-token"
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEXTS = [
    "导游在车上骂人，态度非常恶劣",
    "航班延误了六个小时，旅行社没有任何安排",
    "酒店房间有蟑螂，空调也坏了，前台不给换",
    "到了景点被拉去购物店，不买不让走",
    "我的行李箱在转机时丢了，里面有药",
    "退团的钱一直没退，已经一个月了",
    "孩子在酒店泳池摔伤了，现在还在医院",
    "我的身份证号和手机号被泄露了，天天接到推销电话",
    "行程里说好的玉龙雪山没去，直接换成了别的",
    "团餐太差了，好几个人吃完拉肚子",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bench_tickets(url: str, total: int, concurrency: int, classify: bool) -> float:
    per_worker = total // concurrency

    def worker(w: int) -> int:
        made = 0
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            for i in range(per_worker):
                body = {
                    "booking_ref": "TR20260001",
                    "name": "张伟",
                    "phone": "13812345678",
                    "channel": "rest",
                    "description": TEXTS[(w + i) % len(TEXTS)],
                    "conversation_id": f"bench-{w}-{i}",
                }
                if not classify:
                    body |= {"category": "accommodation", "severity": "general"}
                response = client.post("/tickets", json=body, headers={"Idempotency-Key": f"{uuid.uuid4()}"})
                if response.status_code != 201:
                    raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
                made += 1
        return made

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        made = sum(pool.map(worker, range(concurrency)))
    return made / (time.perf_counter() - started)


def bench_classify(url: str, requests: int) -> tuple[float, float]:
    latencies = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(20):  # warm-up
            client.post("/classify", json={"text": TEXTS[i % len(TEXTS)]})
        for i in range(requests):
            started = time.perf_counter()
            response = client.post("/classify", json={"text": TEXTS[i % len(TEXTS)] + ("！" * (i % 3))})
            latencies.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return statistics.median(latencies), percentile(latencies, 95)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report cost independent of load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(name: str, database_url: str, args) -> None:
    env = {"API_SERVICE_TOKEN": TOKEN, "APP_ENV": "test"}
    with LiveServer(database_url, env, workers=args.workers) as server:
        pid = server.process.pid
        p50, p95 = bench_classify(server.url, args.classify)
        before = cpu_seconds(pid)
        with_model = bench_tickets(server.url, args.tickets, args.concurrency, classify=True)
        cpu_with_model = (cpu_seconds(pid) - before) / args.tickets * 1000
        before = cpu_seconds(pid)
        stored_only = bench_tickets(server.url, args.tickets, args.concurrency, classify=False)
        cpu_stored = (cpu_seconds(pid) - before) / args.tickets * 1000
    cpu = (lambda ms: f"   server CPU {ms:5.2f} ms/ticket") if args.workers == 1 else (lambda ms: "")
    print(f"{name:10s} tickets/s (classified by the model): {with_model:7.1f}{cpu(cpu_with_model)}")
    print(f"{name:10s} tickets/s (category given):           {stored_only:7.1f}{cpu(cpu_stored)}")
    print(f"{name:10s} /classify latency ms: p50 {p50:5.1f}  p95 {p95:5.1f}  (n={args.classify})")
    if args.workers == 1:
        print(
            f"{name:10s} (one worker with a whole core would manage about "
            f"{1000 / cpu_with_model:.0f} tickets/s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--classify", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    args.tickets = max(args.concurrency, min(args.tickets, 20000))
    args.classify = max(1, min(args.classify, 20000))
    print(
        f"ticket API benchmark: {args.tickets} tickets with {args.concurrency} concurrent clients; "
        f"{args.classify} sequential /classify calls; {args.workers} uvicorn worker(s); "
        f"{os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.1f}"
    )

    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            run("sqlite", f"sqlite:///{folder}/bench.db", args)
    if args.only in (None, "postgresql"):
        schema = f"api_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        try:
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception as error:  # noqa: BLE001
            print(f"postgresql skipped: {error.__class__.__name__}: {str(error).splitlines()[0]}")
            return
        try:
            run("postgresql", f"{PG_URL}?options=-csearch_path%3D{schema}", args)
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
