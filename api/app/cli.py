"""`python -m app.cli migrate` - run the migrations and seed demo data without starting the server.
`python -m app.cli retention` - run the retention job once (`make retention`; app/services/retention.py)."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import UTC, datetime

from sqlalchemy import Engine

from app.bootstrap import prepare_database
from app.core.config import Settings, get_settings
from app.core.db import make_engine


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    parser.add_argument("command", choices=["migrate", "retention"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)  # the command's own, as the app has its own
    try:
        if args.command == "migrate":
            prepare_database(engine, settings)
        else:
            _retention(engine, settings)
    finally:
        engine.dispose()


def _retention(engine: Engine, settings: Settings) -> None:
    from app.bootstrap import migrate
    from app.core.servicekit import install_log_masking
    from app.services.masking import mask_log_line
    from app.services.retention import run_job

    install_log_masking(mask_log_line)
    with engine.begin() as connection:  # the job needs the current schema (anonymised_at)
        migrate(connection)
    report = run_job(engine, settings, now=datetime.now(UTC))
    print(json.dumps(report.as_dict()))


if __name__ == "__main__":
    main()
