"""Train the complaint classifier if its data or code changed (`make train`).

api/.venv/bin/python api/scripts/train_classifier.py           # only when stale
api/.venv/bin/python api/scripts/train_classifier.py --force   # always
api/.venv/bin/python api/scripts/train_classifier.py --cv      # also 5-fold cross-validation (~1 min):
                                                               # accuracy and the low-confidence threshold
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # make `app` importable from anywhere

from app.services.classifier.model import ensure_model, is_current, model_dir, read_meta, train_and_save


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--force", action="store_true", help="retrain even if the model is up to date")
    parser.add_argument(
        "--cv", action="store_true", help="cross-validate on the training data first (implies --force)"
    )
    args = parser.parse_args()
    target = model_dir()
    if args.force or args.cv:
        train_and_save(target, cv=args.cv)
    elif is_current(target):
        print(f"complaint classifier up to date: {target}")
    else:
        ensure_model(log=print)
    meta = read_meta(target) or {}
    print(f"low-confidence threshold: {meta.get('threshold')}")


if __name__ == "__main__":
    main()
