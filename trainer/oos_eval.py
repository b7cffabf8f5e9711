"""Does the assistant turn away what it was not built for, and still understand the rest?

Loads a trained model in process (rasa's Agent, the full NLU pipeline with our
normaliser, tokenizer and guard) and parses:

1. tests/eval/oos_external.yml: real queries to a general assistant from a public
   corpus nobody on this project wrote (never trained on). Rejected means the model
   says `out_of_scope` or `nlu_fallback`; target >= 0.90.
2. tests/nlu_holdout.yml, out_of_scope block: the same rejection rate on our own
   held-out phrasings.
3. tests/nlu_holdout.yml, every other block: intent accuracy (target >= 0.95). A
   `policy/<key>` example counts as correct only when the ResponseSelector picks the
   same key, as the traveller gets that answer and no other.

Prints the figures and writes reports/oos.json; the held-out sentences are counted
(gold -> predicted), never quoted, so that reading the report cannot steer tuning. Run from the
repository root (the model loads bot.components):

    python -m scripts.eval_oos                        # newest models/*.tar.gz
    python -m scripts.eval_oos --model models/assistant-<fingerprint>.tar.gz
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from trainer.nlu_data import load_nlu_file
from trainer.nlu_eval import fmt, rasa_env

ROOT = Path(__file__).resolve().parent.parent
REJECTED = ("out_of_scope", "nlu_fallback")
OOS_INTENT = "out_of_scope"
RETRIEVAL_INTENT = "policy"
TARGET_EXTERNAL = 0.90
TARGET_IN_SCOPE = 0.95
TOP_WRONG = 15


# ---------------------------------------------------------------- data


def load_external(path: Path) -> List[Tuple[str, str]]:
    """(text, domain) of the external out-of-scope set."""
    from ruamel.yaml import YAML

    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}
    return [(str(row["text"]), str(row.get("domain") or "unknown")) for row in data.get("utterances") or []]


def load_holdout(path: Path) -> List[Tuple[str, str]]:
    """(text without entity annotations, intent incl. retrieval key) of the held-out file."""
    data = load_nlu_file(path, str(path))
    return [(ex.text, ex.intent) for ex in data.examples]


def newest_model(root: Path) -> Path:
    models = sorted((root / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    if not models:
        raise SystemExit(f"no trained model in {root / 'models'} (make train), or pass --model PATH")
    return models[0]


# ---------------------------------------------------------------- parsing


class ModelParser:
    """One loaded model; `label()` is the intent, `policy/<key>` for policy questions."""

    def __init__(self, model: Path) -> None:
        for key, value in rasa_env().items():
            if key != "PYTHONWARNINGS":
                os.environ.setdefault(key, value)
        from rasa.core.agent import Agent
        from rasa.utils.common import configure_logging_and_warnings
        from rasa.utils.log_utils import configure_structlog

        # Rasa logs every parse at debug level through structlog unless told otherwise.
        configure_logging_and_warnings(logging.WARNING)
        configure_structlog(logging.WARNING)

        self.agent = Agent.load(str(model))
        self.known_intents = self._classifier_labels()
        self._loop = asyncio.new_event_loop()

    def _classifier_labels(self) -> set:
        """Intents the model's intent classifier was trained on.

        The domain is no guide: Rasa adds `out_of_scope` to every domain as a default
        intent, trained or not. The labels are read from DIET in the loaded graph
        (private attributes of rasa 3.6); failing that, the domain's own intents."""
        from rasa.nlu.classifiers.diet_classifier import DIETClassifier
        from rasa.nlu.selectors.response_selector import ResponseSelector
        from rasa.shared.core.constants import DEFAULT_INTENTS

        try:
            nodes = self.agent.processor.graph_runner._instantiated_nodes  # type: ignore[attr-defined]
            labels = set()
            for node in nodes.values():
                component = getattr(node, "_component", None)
                if isinstance(component, DIETClassifier) and not isinstance(component, ResponseSelector):
                    labels.update(component.index_label_id_mapping.values())
            if labels:
                return labels
        except AttributeError:
            pass
        intents = set(self.agent.domain.intents) if self.agent.domain else set()
        return intents - set(DEFAULT_INTENTS)

    def parse(self, text: str) -> Dict:
        return self._loop.run_until_complete(self.agent.parse_message(text))

    @staticmethod
    def label(parsed: Dict) -> Tuple[str, float]:
        intent = parsed.get("intent") or {}
        name = intent.get("name") or "nlu_fallback"
        if name == RETRIEVAL_INTENT:
            selected = (parsed.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
            key = (selected.get("response") or {}).get("intent_response_key")
            if key:
                name = key
        return name, float(intent.get("confidence") or 0.0)

    def close(self) -> None:
        self._loop.close()


def predict(parser: ModelParser, texts: Sequence[str]) -> List[Tuple[str, float]]:
    return [parser.label(parser.parse(text)) for text in texts]


# ---------------------------------------------------------------- figures


def is_rejected(label: str) -> bool:
    return label in REJECTED


def is_correct(gold: str, predicted: str) -> bool:
    """Exact label; a held-out `policy` without a key only needs the base intent."""
    if "/" not in gold and gold == RETRIEVAL_INTENT:
        return predicted.split("/")[0] == gold
    return predicted == gold


def rate(hits: int, total: int) -> Optional[float]:
    return hits / total if total else None


def worst_first(counts: Dict[str, List[int]]) -> List[Tuple[str, List[int]]]:
    """{name: [hits, n]} sorted by hit rate, lowest first."""
    return sorted(counts.items(), key=lambda kv: (rate(*kv[1]) or 0.0, kv[0]))


def external_figures(rows: List[Tuple[str, str]], predictions: List[Tuple[str, float]]) -> Dict:
    per_domain: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    wrong: Counter = Counter()
    wrong_examples: Dict[str, List[str]] = defaultdict(list)
    misses = []
    for (text, domain), (label, confidence) in zip(rows, predictions):
        per_domain[domain][1] += 1
        if is_rejected(label):
            per_domain[domain][0] += 1
            continue
        wrong[label] += 1
        if len(wrong_examples[label]) < 3:
            wrong_examples[label].append(text)
        misses.append(
            {"text": text, "domain": domain, "predicted": label, "confidence": round(confidence, 4)}
        )
    rejected = sum(hits for hits, _ in per_domain.values())
    return {
        "n": len(rows),
        "rejected": rejected,
        "rejection_rate": rate(rejected, len(rows)),
        "by_prediction": dict(Counter(label for label, _ in predictions).most_common()),
        "per_domain": {
            d: {"n": n, "rejected": hits, "rate": rate(hits, n)} for d, (hits, n) in worst_first(per_domain)
        },
        "top_wrong_intents": [
            {"intent": label, "count": count, "examples": wrong_examples[label]}
            for label, count in wrong.most_common(TOP_WRONG)
        ],
        "not_rejected": misses,
    }


def holdout_figures(
    rows: List[Tuple[str, str]], predictions: List[Tuple[str, float]], known_intents: set
) -> Dict:
    oos = [(text, label) for (text, gold), (label, _) in zip(rows, predictions) if gold == OOS_INTENT]
    in_scope = [
        (text, gold, label, conf)
        for (text, gold), (label, conf) in zip(rows, predictions)
        if gold != OOS_INTENT
    ]
    per_intent: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    # Held-out sentences stay unread: what went wrong is counted (gold -> predicted), never
    # quoted, so that nobody tunes the data on them.
    confusions: Dict[str, int] = defaultdict(int)
    for _text, gold, label, _confidence in in_scope:
        per_intent[gold][1] += 1
        if is_correct(gold, label):
            per_intent[gold][0] += 1
        else:
            confusions[f"{gold} -> {label}"] += 1
    correct = sum(hits for hits, _ in per_intent.values())
    known = [(gold, label) for _, gold, label, _ in in_scope if gold.split("/")[0] in known_intents]
    falsely_rejected = sum(1 for _, _, label, _ in in_scope if is_rejected(label))
    oos_rejected = sum(1 for _, label in oos if is_rejected(label))
    return {
        "out_of_scope": {
            "n": len(oos),
            "rejected": oos_rejected,
            "rejection_rate": rate(oos_rejected, len(oos)),
            "not_rejected_as": dict(Counter(lbl for _, lbl in oos if not is_rejected(lbl))),
        },
        "in_scope": {
            "n": len(in_scope),
            "correct": correct,
            "accuracy": rate(correct, len(in_scope)),
            # Intents the model was trained on: shows a model that predates new intents fairly.
            "accuracy_known_intents": rate(sum(is_correct(g, p) for g, p in known), len(known)),
            "n_known_intents": len(known),
            "falsely_rejected": falsely_rejected,
            "false_rejection_rate": rate(falsely_rejected, len(in_scope)),
            "per_intent": {
                g: {"n": n, "correct": hits, "accuracy": rate(hits, n)}
                for g, (hits, n) in worst_first(per_intent)
            },
            "confusions": dict(sorted(confusions.items(), key=lambda item: -item[1])),
        },
    }


# ---------------------------------------------------------------- output


def verdict(value: Optional[float], target: float) -> str:
    if value is None:
        return ""
    return "  (target met)" if value >= target else f"  (target >= {target:.2f} NOT met)"


def print_report(model: Path, external: Optional[Dict], held: Optional[Dict], unknown: List[str]) -> None:
    print(f"\n== Out-of-scope evaluation: model {model.name} ==")
    if unknown:
        print(f"note: the model does not know these intents yet: {', '.join(sorted(unknown))}")
    if external:
        print(
            f"\n(a) external out-of-scope rejection (out_of_scope or nlu_fallback): "
            f"{fmt(external['rejection_rate'])}  [{external['rejected']}/{external['n']}]"
            f"{verdict(external['rejection_rate'], TARGET_EXTERNAL)}"
        )
        print("    per domain (worst first):")
        for domain, row in external["per_domain"].items():
            print(f"      {domain:<12} {fmt(row['rate'])}  [{row['rejected']}/{row['n']}]")
        print(f"    {TOP_WRONG} most frequent wrong intents:")
        for row in external["top_wrong_intents"]:
            print(f"      {row['intent']:<28} {row['count']:>4}   e.g. {' / '.join(row['examples'][:2])}")
    if held:
        oos, ins = held["out_of_scope"], held["in_scope"]
        print(
            f"\n(b) held-out out_of_scope rejection: {fmt(oos['rejection_rate'])}  "
            f"[{oos['rejected']}/{oos['n']}]"
        )
        print(
            f"\n(c) held-out in-scope intent accuracy (policy keys must match): {fmt(ins['accuracy'])}  "
            f"[{ins['correct']}/{ins['n']}]{verdict(ins['accuracy'], TARGET_IN_SCOPE)}"
        )
        print(
            f"    on intents this model was trained on: {fmt(ins['accuracy_known_intents'])}  "
            f"[{ins['n_known_intents']} examples]"
        )
        print(
            f"    in-scope examples rejected (out_of_scope/nlu_fallback): "
            f"{fmt(ins['false_rejection_rate'])}  [{ins['falsely_rejected']}]"
        )
        print("    per intent (worst first):")
        for intent, row in ins["per_intent"].items():
            print(f"      {intent:<28} {fmt(row['accuracy'])}  [{row['correct']}/{row['n']}]")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--model", type=Path, default=None, help="default: the newest models/*.tar.gz")
    parser.add_argument(
        "--external", type=Path, default=None, help="default: <root>/tests/eval/oos_external.yml"
    )
    parser.add_argument("--holdout", type=Path, default=None, help="default: <root>/tests/nlu_holdout.yml")
    parser.add_argument("--out", type=Path, default=None, help="default: <root>/reports/oos.json")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    model = (args.model or newest_model(root)).resolve()
    external_file = (args.external or root / "tests" / "eval" / "oos_external.yml").resolve()
    holdout_file = (args.holdout or root / "tests" / "nlu_holdout.yml").resolve()
    out = (args.out or root / "reports" / "oos.json").resolve()

    external_rows = load_external(external_file) if external_file.exists() else []
    holdout_rows = load_holdout(holdout_file) if holdout_file.exists() else []
    print(f"loading {model} …", flush=True)
    started = dt.datetime.now()
    model_parser = ModelParser(model)
    try:
        external = (
            external_figures(external_rows, predict(model_parser, [t for t, _ in external_rows]))
            if external_rows
            else None
        )
        held = (
            holdout_figures(
                holdout_rows, predict(model_parser, [t for t, _ in holdout_rows]), model_parser.known_intents
            )
            if holdout_rows
            else None
        )
    finally:
        model_parser.close()
    gold_intents = {g.split("/")[0] for _, g in holdout_rows} | {OOS_INTENT}
    unknown = sorted(gold_intents - model_parser.known_intents)

    print_report(model, external, held, unknown)
    summary = {
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round((dt.datetime.now() - started).total_seconds(), 1),
        "model": model.name,
        "intents_unknown_to_model": unknown,
        "targets": {"external_rejection": TARGET_EXTERNAL, "in_scope_accuracy": TARGET_IN_SCOPE},
        "external": {
            "file": str(external_file.relative_to(root))
            if external_file.is_relative_to(root)
            else str(external_file),
            **(external or {}),
        },
        "holdout": {
            "file": str(holdout_file.relative_to(root))
            if holdout_file.is_relative_to(root)
            else str(holdout_file),
            **(held or {}),
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nsummary: {out}")
    return 0
