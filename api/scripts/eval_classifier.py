"""Measure the complaint classifier (`make eval`).

Prints per-category precision/recall/F1 and macro-F1 on data/complaints/heldout.yml (never trained on),
severity accuracy and urgent recall, the share of the real negative hotel reviews in
../shared/eval-external/ classified accommodation or safety (evaluation only, never training data),
and in-process classify() latency p50/p95.

    cd api && .venv/bin/python -m scripts.eval_classifier [--errors]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections import Counter

from app.services.classifier import get_classifier
from app.services.classifier.data import REPO_ROOT, load_heldout
from app.services.classifier.model import CATEGORIES
from app.services.taxonomy import Category, Severity

EXTERNAL = REPO_ROOT.parent / "shared" / "eval-external" / "chnsenticorp_hotel_negative.csv"
TARGETS = {"macro_f1": 0.90, "urgent_recall": 1.0, "external_share": 0.85, "p95_ms": 20.0}


def mark(ok: bool) -> str:
    return "ok " if ok else "LOW"


def category_report(pairs: list[tuple[str, str]]) -> float:
    tp, fp, fn, support = Counter(), Counter(), Counter(), Counter()
    for true, pred in pairs:
        support[true] += 1
        if true == pred:
            tp[true] += 1
        else:
            fp[pred] += 1
            fn[true] += 1
    print(f"{'category':18} {'prec':>6} {'recall':>6} {'F1':>6} {'n':>4}")
    f1s = []
    for label in CATEGORIES:
        p = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        r = tp[label] / support[label] if support[label] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        f1s.append(f1)
        print(f"{label:18} {p:6.3f} {r:6.3f} {f1:6.3f} {support[label]:4d}")
    macro = sum(f1s) / len(f1s)
    accuracy = sum(t == p for t, p in pairs) / len(pairs)
    print(
        f"{'macro-F1':18} {macro:20.3f}   "
        f"[{mark(macro >= TARGETS['macro_f1'])} target >= {TARGETS['macro_f1']}]"
    )
    print(f"{'accuracy':18} {accuracy:20.3f}")
    return macro


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--errors", action="store_true", help="list the held-out examples that were misclassified"
    )
    args = parser.parse_args()

    clf = get_classifier()
    heldout = load_heldout()
    results = [(ex, clf.classify(ex.text)) for ex in heldout]
    print(
        f"== held-out complaints: {len(heldout)} (data/complaints/heldout.yml), threshold {clf.threshold:.2f}"
    )
    category_report([(ex.category, res.category) for ex, res in results])

    sev_ok = sum(ex.severity == res.severity for ex, res in results)
    print(f"\n== severity accuracy: {sev_ok / len(results):.3f} ({sev_ok}/{len(results)})")
    for sev in Severity:
        gold = [res.severity for ex, res in results if ex.severity == sev]
        predicted = [ex.severity for ex, res in results if res.severity == sev]
        recall = sum(s == sev for s in gold) / len(gold) if gold else 0.0
        precision = sum(s == sev for s in predicted) / len(predicted) if predicted else 0.0
        note = (
            f"   [{mark(recall >= TARGETS['urgent_recall'])} target {TARGETS['urgent_recall']}]"
            if sev == Severity.URGENT
            else ""
        )
        print(
            f"{sev.value:8} recall {recall:.3f} ({sum(s == sev for s in gold)}/{len(gold)})  "
            f"precision {precision:.3f}{note}"
        )

    if args.errors:
        print("\n== misclassified held-out examples")
        for ex, res in results:
            if ex.category != res.category or ex.severity != res.severity:
                print(
                    f"- {ex.text}\n  gold {ex.category}/{ex.severity}  "
                    f"got {res.category}/{res.severity} {res.confidence:.2f} {list(res.reasons)}"
                )

    print(f"\n== external check: real negative hotel reviews ({EXTERNAL.name})")
    if not EXTERNAL.exists():
        print(f"skipped: {EXTERNAL} not found")
    else:
        with EXTERNAL.open(encoding="utf-8", newline="") as f:
            reviews = [row["review"] for row in csv.DictReader(f) if row.get("review")]
        counts = Counter(clf.classify(text).category for text in reviews)
        share = (counts[Category.ACCOMMODATION] + counts[Category.SAFETY]) / len(reviews)
        print(
            f"reviews: {len(reviews)}; accommodation or safety: {share:.3f}   "
            f"[{mark(share >= TARGETS['external_share'])} target >= {TARGETS['external_share']}]"
        )
        print("by category: " + ", ".join(f"{c} {n}" for c, n in counts.most_common()))

    texts = [ex.text for ex in heldout] * 5
    timings = []
    for text in texts:
        started = time.perf_counter()
        clf.classify(text)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"\n== classify() latency in-process over {len(timings)} calls: p50 {p50:.2f} ms, p95 {p95:.2f} ms   "
        f"[{mark(p95 < TARGETS['p95_ms'])} target p95 < {TARGETS['p95_ms']:.0f} ms]"
    )


if __name__ == "__main__":
    main()
