"""Train the Rasa model only when its inputs changed.

The model is named by a fingerprint of everything that shapes it (config,
domain, training data, jieba dictionary, custom NLU components), so `make run`,
`make test` and CI train once per change and reuse the file otherwise.

    python scripts/train_model.py            # train if needed, print the model path
    python scripts/train_model.py --path     # only print the path the model has / would have
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUTS = [
    "config.yml",
    "domain.yml",
    "data/nlu",
    "data/rules",
    "data/stories",
    "data/dict",
    "data/emergency",
    "bot/components",
    "bot/policies.py",
]
KEEP = 3  # older models kept for quick rollback


def fingerprint(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix == ".pyc" or "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def model_path(root: Path = ROOT) -> Path:
    return root / "models" / f"assistant-{fingerprint(root)}.tar.gz"


def train(root: Path = ROOT) -> Path:
    target = model_path(root)
    if target.exists():
        print(f"model up to date: {target.relative_to(root)}", file=sys.stderr)
        return target
    print(f"training {target.relative_to(root)} (data changed or no model yet)", file=sys.stderr)
    rasa = Path(sys.executable).parent / "rasa"
    subprocess.run(
        [
            str(rasa),
            "train",
            "--fixed-model-name",
            target.name[: -len(".tar.gz")],
            "--out",
            str(target.parent),
        ],
        cwd=root,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false"},
    )
    older = sorted(target.parent.glob("assistant-*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in older[KEEP:]:
        stale.unlink()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", action="store_true", help="print the model path without training")
    args = parser.parse_args()
    print(model_path() if args.path else train())


if __name__ == "__main__":
    main()
