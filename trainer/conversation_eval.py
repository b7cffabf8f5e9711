"""Task success of the conversation suite and the held-out conversations, per category.

Starts the ticketing API (fresh SQLite file), the action server and Rasa on free loopback
ports exactly as the test suite does (tests/services.py), plays
tests/conversations/suite.yml and tests/conversations/heldout.yml over the REST channel,
prints the success per category of each file separately and writes
reports/conversations.json (suite: full transcripts and reasons; held-out: only ids,
categories, pass/fail and the kind of check that failed, never what was said).

    . scripts/env.sh && .venv/bin/python -m scripts.eval_conversations [--model models/x.tar.gz]

Without --model (or TEST_MODEL) it uses the model of the current data, training it first
if it does not exist, like the test session. Always exits 0: it measures, it does not gate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import List

from scripts import train_model
from tests.conversations.runner import (
    HELDOUT_PATH,
    SUITE_PATH,
    Result,
    Runner,
    format_summary,
    load,
    summarise,
)
from tests.services import ROOT, Service, action_service, api_service, free_port, rasa_service

RASA_TOKEN = "eval-rasa-token"


def start_services(model: Path, workdir: Path) -> List[Service]:
    # Rasa's port is chosen first, as in tests/conftest.py: the API and the action server send
    # messages for a paused conversation (agents' replies, "please wait" notices) through it.
    rasa_port = free_port()
    rasa_env = {"RASA_URL": f"http://127.0.0.1:{rasa_port}", "RASA_JWT_SECRET": RASA_TOKEN}
    api = api_service(workdir / "api", f"sqlite:///{workdir / 'api' / 'tickets.db'}")
    api.env.update(rasa_env)
    (workdir / "api").mkdir(parents=True, exist_ok=True)
    started: List[Service] = []
    try:
        started.append(api.start())
        api_url = api.health_url.rsplit("/", 1)[0]
        actions = action_service(workdir / "actions", api_url)
        actions.env.update(rasa_env)
        started.append(actions.start())
        action_url = actions.health_url.replace("/health", "/webhook")
        (workdir / "rasa").mkdir(parents=True, exist_ok=True)
        started.append(rasa_service(workdir / "rasa", model, action_url, RASA_TOKEN, rasa_port).start())
    except BaseException:
        stop(started)
        raise
    return started


def stop(services: List[Service]) -> None:
    for service in reversed(services):
        service.stop()


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        type=Path,
        default=os.environ.get("TEST_MODEL"),
        help="model file (default: TEST_MODEL, else the model of the current data)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "conversations.json")
    parser.add_argument("--keep-logs", action="store_true", help="keep the services' logs and print where")
    args = parser.parse_args(argv)

    # A plain kill must still stop the services (they run in their own process groups).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    model = Path(args.model) if args.model else train_model.train()
    workdir = Path(tempfile.mkdtemp(prefix="eval-conversations-"))
    print(f"model {model.name}; starting the API, the action server and Rasa ...", file=sys.stderr)
    services = start_services(model, workdir)
    try:
        api, _, rasa = services
        runner = Runner(rasa.health_url.split("/status")[0], api.health_url.rsplit("/", 1)[0])

        def progress(result: Result) -> None:
            print(
                f"  {'ok  ' if result.passed else 'FAIL'} {result.source:<12} {result.category:<20}"
                f" {result.id if result.source == SUITE_PATH.name else '(held-out)'}",
                file=sys.stderr,
            )

        suite = runner.play_all(load(SUITE_PATH), progress)
        heldout = runner.play_all(load(HELDOUT_PATH), progress)
    finally:
        stop(services)
        if args.keep_logs:
            print(f"service logs in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    suite_table, heldout_table = summarise(suite), summarise(heldout)
    print(format_summary(f"suite ({SUITE_PATH.name}): task success per category", suite_table))
    print(format_summary(f"held-out ({HELDOUT_PATH.name}): task success per category", heldout_table))
    failed = [r for r in suite if not r.passed]
    if failed:
        print("suite failures (first reason):")
        for result in failed:
            print(f"  {result.id}: {result.reason}")
    stale = [r.id for r in suite + heldout if r.stale]
    if stale:
        print(f"stale test data (booking dates no longer fit today): {stale}")

    report = {
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "today_asia_shanghai": runner.today.isoformat(),
        "model": model.name,
        "suite": {"file": SUITE_PATH.name, "summary": suite_table, "results": [r.as_dict() for r in suite]},
        "heldout": {
            "file": HELDOUT_PATH.name,
            "summary": heldout_table,
            "results": [r.as_dict(redact=True) for r in heldout],
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"report: {args.out}")
    return 0
