"""`python -m app.cli migrate` - run the migrations and seed demo data without starting the server."""

from __future__ import annotations

import argparse
import logging

from app.bootstrap import prepare_database
from app.core.config import get_settings
from app.core.db import get_engine


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    parser.add_argument("command", choices=["migrate"])
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    prepare_database(get_engine(), get_settings())


if __name__ == "__main__":
    main()
