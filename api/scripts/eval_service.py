"""The service figures the handbooks set targets for, on the API's database (issue 16):
share of deadlines met (overall and per step, target 100 %) and mean satisfaction out of 100
(target 90), computed by the supervisors' report (app/services/report.py) for the last DAYS
China days. The database is DATABASE_URL (the demo run's var/tickets.db by default).

    cd api && .venv/bin/python -m scripts.eval_service [--days 365]
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.db import make_engine
from app.services import deadlines as dl
from app.services import report

LABELS = dl.DEADLINE_LABELS  # the one table the API and the console show


def percent(share: float | None) -> str:
    return "  n/a" if share is None else f"{share * 100:5.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    now = datetime.now(UTC)
    end = dl.china_today(now)
    start = end - timedelta(days=args.days - 1)
    print(
        f"Service figures, {start} .. {end} (China dates), {engine.url.render_as_string(hide_password=True)}"
    )
    if not inspect(engine).has_table("tickets"):
        print("  no ticket database yet (start the API once: make run)")
        return
    with Session(engine) as session:
        tickets, handoffs, staff = report.load(session, start=start, end=end)
    figures = report.build(tickets, handoffs, start=start, end=end, granularity="month", now=now, staff=staff)
    engine.dispose()
    print(f"  tickets: {figures['total']}")
    steps = figures["deadlines"]
    met = sum(step["met"] for step in steps)
    decided = met + sum(step["breached"] for step in steps)
    print(
        f"  deadlines met: {percent(met / decided if decided else None)} of {decided} decided (target 100 %)"
    )
    for step in steps:
        if step["met"] or step["breached"] or step["open"]:
            print(
                f"    {LABELS.get(step['step'], step['step']):<12} {percent(step['met_share'])}"
                f"  met {step['met']}, breached {step['breached']}, open {step['open']}"
            )
    satisfaction = figures["satisfaction"]
    score = "n/a" if satisfaction["score"] is None else f"{satisfaction['score']:.1f}/100"
    print(
        f"  mean satisfaction: {score} from {satisfaction['count']} ratings, "
        f"{satisfaction['low']} low (target {satisfaction['target']}/100)"
    )


if __name__ == "__main__":
    main()
