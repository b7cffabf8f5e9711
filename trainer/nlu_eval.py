"""Measures the NLU model and writes a report a trainer can open (make eval).

1. 5-fold cross-validation on data/nlu with the real config.yml (it trains five
   times: the slow part, about as long as five `make train` NLU parts);
2. held-out accuracy: the current model (trained if the data changed) on
   tests/nlu_holdout.yml, phrasings never trained on;
3. reports/nlu/index.html: figures and their change since the previous run,
   per-intent precision/recall/F1 sorted worst first with a bar chart, the
   confusion matrices, the misclassified examples, entity F1.
   reports/nlu/history.json keeps every run's figures.

    python -m scripts.nlu_eval              # everything
    python -m scripts.nlu_eval --no-cv      # held-out only (about a minute): quick look after retraining
    python -m scripts.nlu_eval --reuse-cv   # held-out again, cross-validation results of the last run
    python -m scripts.nlu_eval --report-only  # run nothing, rebuild the page from the last results
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
KEY_ENTITIES = ["booking_ref", "phone", "ticket_no"]
SUMMARY_KEYS = {"accuracy", "macro avg", "weighted avg", "micro avg"}


# ---------------------------------------------------------------- running rasa


def rasa_env() -> Dict[str, str]:
    return {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "RASA_TELEMETRY_ENABLED": "false",
        "PYTHONWARNINGS": "ignore",
    }


def run_rasa(args: List[str], root: Path, log: Path) -> None:
    rasa = Path(sys.executable).parent / "rasa"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run(
            [str(rasa), *args], cwd=root, env=rasa_env(), stdout=out, stderr=subprocess.STDOUT
        )
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:])
        raise SystemExit(f"rasa {' '.join(args[:2])} 失败（完整日志：{log}）：\n{tail}")


def config_with_epochs(root: Path, out: Path, epochs: int) -> Path:
    """A copy of config.yml whose DIET and ResponseSelector train for `epochs` epochs.

    Only for a busy machine: the figures then understate the real model a little,
    and the report says so."""
    from ruamel.yaml import YAML

    yaml = YAML()
    config = yaml.load((root / "config.yml").read_text(encoding="utf-8"))
    for component in config.get("pipeline") or []:
        # Every component that trains for epochs says so in config.yml (DIET, our
        # ResponseSelector subclass); the stock names cover one added without it.
        if "epochs" in component or component.get("name") in ("DIETClassifier", "ResponseSelector"):
            component["epochs"] = epochs
    target = out / "cv-config.yml"
    with target.open("w", encoding="utf-8") as handle:
        yaml.dump(config, handle)
    return target


def cross_validate(root: Path, out: Path, folds: int, epochs: Optional[int] = None) -> float:
    target = out / "cv"
    shutil.rmtree(target, ignore_errors=True)
    config = str(config_with_epochs(root, out, epochs)) if epochs else "config.yml"
    started = time.monotonic()
    run_rasa(
        [
            "test",
            "nlu",
            "--cross-validation",
            "--folds",
            str(folds),
            "--config",
            config,
            "--nlu",
            "data/nlu",
            "--out",
            str(target),
        ],
        root,
        out / "logs" / "cv.log",
    )
    (target / "settings.json").write_text(json.dumps({"folds": folds, "epochs": epochs}), encoding="utf-8")
    return time.monotonic() - started


def trained_model(root: Path) -> Path:
    """The model for the current data (scripts/train_model.py trains only if the data changed)."""
    from scripts import train_model

    return train_model.train(root)


def holdout(root: Path, out: Path, model: Path, holdout_file: Path) -> float:
    target = out / "holdout"
    shutil.rmtree(target, ignore_errors=True)
    started = time.monotonic()
    run_rasa(
        ["test", "nlu", "--nlu", str(holdout_file), "--model", str(model), "--out", str(target)],
        root,
        out / "logs" / "holdout.log",
    )
    return time.monotonic() - started


# ---------------------------------------------------------------- reading results


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def summarise(folder: Path) -> Optional[Dict]:
    """Key figures of one `rasa test nlu` output folder."""
    intents = read_json(folder / "intent_report.json")
    if intents is None:
        return None
    per_intent = {
        name: {k: v for k, v in row.items() if k != "confused_with"}
        for name, row in intents.items()
        if name not in SUMMARY_KEYS and isinstance(row, dict)
    }
    responses = read_json(folder / "response_selection_report.json") or {}
    per_response = {
        name: row for name, row in responses.items() if name not in SUMMARY_KEYS and isinstance(row, dict)
    }
    entities: Dict[str, Dict[str, Dict]] = {}
    for report in sorted(folder.glob("*_report.json")):
        extractor = report.name[: -len("_report.json")]
        if extractor in ("intent", "response_selection"):
            continue
        for entity, row in (read_json(report) or {}).items():
            if entity not in SUMMARY_KEYS and isinstance(row, dict):
                entities.setdefault(entity, {})[extractor] = row
    accuracy = intents.get("accuracy")
    if accuracy is None:  # sklearn writes micro avg instead when labels are missing
        accuracy = (intents.get("micro avg") or {}).get("f1-score")
    return {
        "accuracy": accuracy,
        "macro_f1": (intents.get("macro avg") or {}).get("f1-score"),
        "weighted_f1": (intents.get("weighted avg") or {}).get("f1-score"),
        "intents": per_intent,
        "confused_with": {
            name: row.get("confused_with", {})
            for name, row in intents.items()
            if isinstance(row, dict) and name not in SUMMARY_KEYS
        },
        "responses": per_response,
        "response_accuracy": responses.get("accuracy"),
        "entities": entities,
        "settings": read_json(folder / "settings.json"),
    }


def entity_f1(summary: Optional[Dict], entity: str) -> Dict[str, float]:
    if not summary:
        return {}
    return {
        extractor: round(row.get("f1-score", 0.0), 4)
        for extractor, row in summary.get("entities", {}).get(entity, {}).items()
    }


REGEX_ENTITIES = set(KEY_ENTITIES)  # extended by main() with the data's `- regex:` names


def best_entity_f1(summary: Optional[Dict], entity: str) -> Optional[float]:
    """F1 of the extractor that owns the entity: the regex extractor for entities
    that have a regex in data/nlu (the bot relies on it), DIET for the rest."""
    scores = entity_f1(summary, entity)
    if not scores:
        return None
    if entity in REGEX_ENTITIES and "RegexEntityExtractor" in scores:
        return scores["RegexEntityExtractor"]
    learned = {k: v for k, v in scores.items() if k != "RegexEntityExtractor"}
    return max(learned.values()) if learned else max(scores.values())


def regex_entities(root: Path) -> set:
    import re

    names = set()
    for path in (root / "data" / "nlu").rglob("*.yml"):
        names.update(re.findall(r"^\s*-\s*regex\s*:\s*([\w-]+)", path.read_text(encoding="utf-8"), re.M))
    return names


def record(cv: Optional[Dict], held: Optional[Dict], timings: Dict[str, float]) -> Dict:
    def slim(summary: Optional[Dict]) -> Optional[Dict]:
        if not summary:
            return None
        return {
            "accuracy": summary["accuracy"],
            "macro_f1": summary["macro_f1"],
            "intent_f1": {k: round(v.get("f1-score", 0.0), 4) for k, v in summary["intents"].items()},
            "response_f1": {k: round(v.get("f1-score", 0.0), 4) for k, v in summary["responses"].items()},
            "entity_f1": {e: best_entity_f1(summary, e) for e in KEY_ENTITIES},
        }

    return {
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cv": slim(cv),
        "cv_settings": (cv or {}).get("settings"),
        "holdout": slim(held),
        "seconds": {k: round(v) for k, v in timings.items()},
    }


# ---------------------------------------------------------------- pictures


def cjk_font() -> Optional[str]:
    from matplotlib import font_manager

    wanted = (
        "Noto Sans CJK SC",
        "Noto Sans CJK",
        "WenQuanYi Zen Hei",
        "WenQuanYi Micro Hei",
        "Source Han Sans SC",
        "SimHei",
        "Microsoft YaHei",
        "AR PL UMing CN",
    )
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((w for w in wanted if w in names), None)


def plain_label(label: str, font: Optional[str]) -> str:
    # Without a CJK font, Chinese would render as boxes: keep the ASCII part readable.
    if font or label.isascii():
        return label
    return label.encode("ascii", "backslashreplace").decode("ascii")


def bar_chart(rows: List[Dict], target: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font()
    if font:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    labels = [plain_label(r["name"], font) for r in rows]
    scores = [r["f1"] for r in rows]
    colours = ["#c0392b" if s < 0.8 else "#e67e22" if s < 0.95 else "#27ae60" for s in scores]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.2))
    ax.barh(labels, scores, color=colours)
    ax.set_xlim(0, 1.05)
    ax.invert_yaxis()  # worst at the top, like the table
    for y, score in enumerate(scores):
        ax.text(min(score, 1.0) + 0.01, y, f"{score:.2f}", va="center", fontsize=8)
    ax.set_xlabel("F1")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- html


def cv_folds(cv: Optional[Dict]) -> str:
    return str(((cv or {}).get("settings") or {}).get("folds") or 5)


def fmt(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.3f}"


def change(now: Optional[float], before: Optional[float]) -> Dict[str, Any]:
    """How a figure moved since the previous run, for the template's delta()."""
    if now is None or before is None:
        return {"kind": "new" if now is not None and before is None else ""}
    diff = now - before
    if abs(diff) < 0.0005:
        return {"kind": "same"}
    return {"kind": "up" if diff > 0 else "down", "diff": diff}


def intent_rows(summary: Dict) -> List[Dict]:
    rows = []
    for name, row in summary["intents"].items():
        confused = summary["confused_with"].get(name) or {}
        rows.append(
            {
                "name": name,
                "precision": row.get("precision", 0.0),
                "recall": row.get("recall", 0.0),
                "f1": row.get("f1-score", 0.0),
                "support": row.get("support", 0),
                "confused": "、".join(f"{k}（{v}）" for k, v in confused.items()),
            }
        )
    return sorted(rows, key=lambda r: (r["f1"], r["name"]))


def _with_changes(rows: List[Dict], previous: Dict[str, float]) -> List[Dict]:
    return [
        {
            **r,
            "css": "bad" if r["f1"] < 0.8 else "warn" if r["f1"] < 0.95 else "",
            "change": change(r["f1"], previous.get(r["name"])),
        }
        for r in rows
    ]


def _errors(errors: List[Dict], limit: int) -> List[Dict]:
    ordered = sorted(
        errors,
        key=lambda e: (e.get("intent") or "", -(e.get("intent_prediction") or {}).get("confidence", 0)),
    )[:limit]
    return [
        {
            "text": e.get("text", ""),
            "intent": str(e.get("intent")),
            "predicted": str((e.get("intent_prediction") or {}).get("name")),
            "confidence": (e.get("intent_prediction") or {}).get("confidence", 0),
        }
        for e in ordered
    ]


def _entities(cv: Optional[Dict], held: Optional[Dict], previous: Optional[Dict]) -> List[Dict]:
    rows = []
    for entity in KEY_ENTITIES + sorted(
        {e for s in (cv, held) if s for e in s["entities"]} - set(KEY_ENTITIES)
    ):
        for label, summary, prev_key in (("交叉验证", cv, "cv"), ("留出集", held, "holdout")):
            scores = entity_f1(summary, entity)
            if not scores:
                continue
            before = ((previous or {}).get(prev_key) or {}).get("entity_f1", {}).get(entity)
            best = best_entity_f1(summary, entity)
            rows.append(
                {
                    "entity": entity,
                    "label": label,
                    "value": fmt(best),
                    "change": change(best, before) if entity in KEY_ENTITIES else {"kind": ""},
                    "detail": "，".join(f"{k} {v:.3f}" for k, v in sorted(scores.items())),
                }
            )
    return rows


def render_report(**context: Any) -> str:
    """The report page from trainer/templates/nlu_report.html (autoescaped)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a name missing from the context fails, not a blank cell
    )
    return env.get_template("nlu_report.html").render(**context)


def write_html(
    out: Path,
    cv: Optional[Dict],
    held: Optional[Dict],
    previous: Optional[Dict],
    current: Dict,
    error_limit: int = 300,
) -> Path:
    prev_cv = (previous or {}).get("cv") or {}
    prev_ho = (previous or {}).get("holdout") or {}
    figures = [
        (
            "留出集意图准确率（模型没见过的说法）",
            held and held["accuracy"],
            prev_ho.get("accuracy"),
            "≥ 0.95",
        ),
        ("留出集 macro-F1", held and held["macro_f1"], prev_ho.get("macro_f1"), ""),
        (f"交叉验证 macro-F1（{cv_folds(cv)} 折）", cv and cv["macro_f1"], prev_cv.get("macro_f1"), ""),
        ("交叉验证准确率", cv and cv["accuracy"], prev_cv.get("accuracy"), ""),
    ]
    for entity in KEY_ENTITIES:
        figures.append(
            (
                f"留出集实体 F1：{entity}",
                best_entity_f1(held, entity),
                (prev_ho.get("entity_f1") or {}).get(entity),
                "≥ 0.95",
            )
        )
    sections = []
    for label, summary, prev, folder in (
        ("交叉验证（训练数据分 5 份轮流测试）", cv, prev_cv, "cv"),
        ("留出集（tests/nlu_holdout.yml）", held, prev_ho, "holdout"),
    ):
        if not summary:
            continue
        rows = intent_rows(summary)
        chart = f"{folder}_intent_f1.png"
        bar_chart(rows, out / chart, f"Intent F1 ({folder})")
        responses = sorted(
            (
                {
                    "name": k,
                    "precision": v.get("precision", 0.0),
                    "recall": v.get("recall", 0.0),
                    "f1": v.get("f1-score", 0.0),
                    "support": v.get("support", 0),
                }
                for k, v in summary["responses"].items()
            ),
            key=lambda r: (r["f1"], r["name"]),
        )
        matrix = f"{folder}/intent_confusion_matrix.png"
        errors = read_json(out / folder / "intent_errors.json") or []
        sections.append(
            {
                "label": label,
                "chart": chart,
                "rows": _with_changes(rows, prev.get("intent_f1") or {}),
                "responses": _with_changes(responses, prev.get("response_f1") or {}),
                "confusion_matrix": matrix if (out / matrix).exists() else None,
                "errors": _errors(errors, error_limit),
                "errors_total": len(errors),
            }
        )
    page = render_report(
        time=current["time"],
        previous_time=(previous or {}).get("time"),
        figures=[
            {"label": label, "value": fmt(now), "change": change(now, before), "goal": goal}
            for label, now, before, goal in figures
        ],
        cv_epochs=((cv or {}).get("settings") or {}).get("epochs"),
        sections=sections,
        entities=_entities(cv, held, previous),
    )
    target = out / "index.html"
    target.write_text(page, encoding="utf-8")
    return target


# ---------------------------------------------------------------- main


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="NLU evaluation report (make eval)")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--out", type=Path, default=None, help="report folder (default: <root>/reports/nlu)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="cross-validation only: train DIET/ResponseSelector this many epochs instead of "
        "config.yml's (a busy machine; the report notes it)",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--no-cv", action="store_true", help="skip cross-validation (held-out only)")
    group.add_argument("--reuse-cv", action="store_true", help="reuse the last cross-validation results")
    group.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: rebuild the report from the last cv/ and holdout/ results",
    )
    parser.add_argument("--holdout", type=Path, default=None, help="default: <root>/tests/nlu_holdout.yml")
    parser.add_argument("--model", type=Path, default=None, help="default: the model for the current data")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    out = (args.out or root / "reports" / "nlu").resolve()
    out.mkdir(parents=True, exist_ok=True)
    timings: Dict[str, float] = {}
    REGEX_ENTITIES.update(regex_entities(root))

    if not (args.no_cv or args.reuse_cv or args.report_only):
        print(f"交叉验证（{args.folds} 折，要训练 {args.folds} 次，请耐心等待）…", flush=True)
        timings["cross_validation"] = cross_validate(root, out, args.folds, args.epochs)
    if args.no_cv:
        shutil.rmtree(out / "cv", ignore_errors=True)  # an old CV must not pass for this data
    holdout_file = (args.holdout or root / "tests" / "nlu_holdout.yml").resolve()
    held = summarise(out / "holdout") if args.report_only else None
    if holdout_file.exists() and not args.report_only:
        started = time.monotonic()
        model = (args.model or trained_model(root)).resolve()
        timings["train_if_needed"] = time.monotonic() - started
        print(
            "留出集测试："
            f"{holdout_file.relative_to(root) if holdout_file.is_relative_to(root) else holdout_file}"
            f"，模型 {model.name}",
            flush=True,
        )
        timings["holdout"] = holdout(root, out, model, holdout_file)
        held = summarise(out / "holdout")
    cv = summarise(out / "cv")

    history_path = out / "history.json"
    history = read_json(history_path) or []
    previous = history[-1] if history else None
    current = record(cv, held, timings)
    page = write_html(out, cv, held, previous, current)
    history.append(current)
    history_path.write_text(json.dumps(history, ensure_ascii=False, indent=1), encoding="utf-8")

    prev_ho = (previous or {}).get("holdout") or {}
    prev_cv = (previous or {}).get("cv") or {}

    def line(label: str, now: Optional[float], before: Optional[float]) -> str:
        change = "" if now is None or before is None else f"  ({now - before:+.3f})"
        return f"{label:<44} {fmt(now)}{change}"

    print("\n== NLU figures ==")
    if held:
        print(line("held-out intent accuracy", held["accuracy"], prev_ho.get("accuracy")))
        print(line("held-out macro-F1", held["macro_f1"], prev_ho.get("macro_f1")))
    if cv:
        epochs = (cv.get("settings") or {}).get("epochs")
        note = f", {epochs} epochs" if epochs else ""
        print(
            line(
                f"cross-validation macro-F1 ({cv_folds(cv)}-fold{note})",
                cv["macro_f1"],
                prev_cv.get("macro_f1"),
            )
        )
        print(line("cross-validation accuracy", cv["accuracy"], prev_cv.get("accuracy")))
    for entity in KEY_ENTITIES:
        source = held or cv
        label = "held-out" if held else "cv"
        print(
            line(
                f"{label} entity F1 {entity}",
                best_entity_f1(source, entity),
                ((prev_ho if held else prev_cv).get("entity_f1") or {}).get(entity),
            )
        )
    print(f"report: {page}")
    return 0
