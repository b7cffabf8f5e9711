"""The trainers' NLU report page (trainer/templates/nlu_report.html) from summaries shaped
like Rasa's output: figures, changes, colours, errors, entities — and traveller text escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer import nlu_eval


def summary(accuracy: float, f1_book: float, errors_text: str) -> dict:
    return {
        "accuracy": accuracy,
        "macro_f1": 0.9,
        "intents": {
            "greet": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 12},
            "ask_tipping": {"precision": 0.8, "recall": 0.7, "f1-score": f1_book, "support": 4},
        },
        "confused_with": {"ask_tipping": {"thank": 2}},
        "responses": {"policy/refund": {"precision": 1.0, "recall": 0.9, "f1-score": 0.95, "support": 10}},
        "entities": {"booking_ref": {"RegexEntityExtractor": {"f1-score": 1.0}}},
        "errors_text": errors_text,
    }


@pytest.fixture
def report(tmp_path: Path, monkeypatch) -> Path:
    # Rasa's per-run error files, as `rasa test nlu` writes them.
    hostile = "<script>alert(1)</script>小费给多少"
    (tmp_path / "holdout").mkdir()
    (tmp_path / "holdout" / "intent_errors.json").write_text(
        json.dumps(
            [
                {
                    "text": hostile,
                    "intent": "ask_tipping",
                    "intent_prediction": {"name": "thank", "confidence": 0.61},
                },
                {
                    "text": "给导游小费",
                    "intent": "ask_tipping",
                    "intent_prediction": {"name": "thank", "confidence": 0.4},
                },
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(nlu_eval, "bar_chart", lambda rows, target, title: target.write_bytes(b""))
    monkeypatch.setattr(
        nlu_eval,
        "entity_f1",
        lambda s, entity: {"RegexEntityExtractor": 1.0} if s and entity == "booking_ref" else {},
    )
    held = summary(0.93, 0.72, hostile)
    previous = {
        "time": "2026-12-01T00:00:00",
        "holdout": {"accuracy": 0.95, "intent_f1": {"ask_tipping": 0.5}},
    }
    current = {"time": "2026-12-06T08:00:00"}
    return nlu_eval.write_html(tmp_path, None, held, previous, current, error_limit=1)


def test_figures_changes_and_colours(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "生成时间 2026-12-06T08:00:00" in page and "与上一次（2026-12-01T00:00:00）比较" in page
    # accuracy fell 0.95 -> 0.93; ask_tipping rose 0.5 -> 0.72 and is red (< 0.8)
    assert '<td>0.930</td><td><span class="down">-0.020</span></td>' in page
    assert '<td>ask_tipping</td><td class="bad">0.720</td><td><span class="up">+0.220</span></td>' in page
    assert "thank（2）" in page and "policy/refund" in page
    assert "交叉验证（" not in page  # no CV run, no CV section


def test_errors_are_escaped_and_limited(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;小费给多少" in page
    assert "判错的例句（2 条）" in page and "只显示前 1 条，共 2 条" in page
    assert "给导游小费" not in page  # beyond the limit (sorted by confidence, highest first)


def test_a_missing_name_fails_instead_of_a_blank_cell() -> None:
    with pytest.raises(Exception, match="undefined"):
        nlu_eval.render_report(time="t")
