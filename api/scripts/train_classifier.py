"""Train the complaint classifier if its data or code changed (`make train`).

cd api && .venv/bin/python -m scripts.train_classifier           # only when stale
cd api && .venv/bin/python -m scripts.train_classifier --force   # always
cd api && .venv/bin/python -m scripts.train_classifier --cv      # also 5-fold cross-validation (~1 min):
                                                                 # accuracy and the low-confidence threshold
"""

from __future__ import annotations

import argparse

from app.services.classifier.data import model_dir
from app.services.classifier.model import ensure_model, is_current, read_meta, train_and_save


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
