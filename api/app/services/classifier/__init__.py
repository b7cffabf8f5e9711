"""Complaint classifier: category from a spaCy text categoriser, severity from readable rules.

    from app.services.classifier import get_classifier
    result = get_classifier().classify("酒店房间有蟑螂，前台还不给换")
    result.category, result.severity, result.department, result.confidence, result.reasons

`get_classifier()` loads the model once per process (thread-safe) and trains it first when it is
missing or stale (`ensure_model()`). The model lives in `<repo>/models/complaint-classifier/`,
or in `$CLASSIFIER_MODEL_DIR`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from app.services.classifier.model import ensure_model, load_pipeline, read_meta
from app.services.classifier.severity import assess, category_override
from app.services.classifier.text import has_content, normalise
from app.services.taxonomy import CATEGORY_DEPARTMENT, SEVERITY_RULES, Category, Severity

__all__ = ["Classification", "ComplaintClassifier", "ensure_model", "get_classifier"]


@dataclass(frozen=True)
class Classification:
    category: str
    severity: str
    department: str  # taxonomy Department.code, e.g. "security"
    department_name: str  # its Chinese name, e.g. "安全保卫部"
    authority_level: int  # from taxonomy.SEVERITY_RULES: 1 general manager, 2 department head
    confidence: float  # the text categoriser's top score, also when it fell below the threshold
    reasons: tuple[str, ...]  # a tuple so the result stays hashable; rules that fired, low confidence


class ComplaintClassifier:
    def __init__(self, nlp, threshold: float):
        self.nlp = nlp
        self.threshold = threshold

    @classmethod
    def load(cls, target: Path) -> ComplaintClassifier:
        meta = read_meta(target) or {}
        return cls(load_pipeline(target), float(meta.get("threshold", 0.0)))

    def classify(self, text: str) -> Classification:
        clean = normalise(text)
        reasons: list[str] = []
        if not has_content(clean):
            category, confidence = Category.OTHER, 0.0
            reasons.append("no_text: nothing to classify")
        else:
            cats = self.nlp(clean).cats
            label = max(cats, key=cats.get)
            confidence = round(float(cats[label]), 4)
            category = Category(label)
            if confidence < self.threshold and category != Category.OTHER:
                reasons.append(f"low_confidence: {label} {confidence:.2f} < {self.threshold:.2f}")
                category = Category.OTHER
            override = category_override(clean, category)
            if override is not None:
                category, reason = override
                reasons.append(reason)
        severity, fired = assess(clean, category)
        reasons.extend(fired)
        department = CATEGORY_DEPARTMENT[category]
        return Classification(
            category=category.value,
            severity=Severity(severity).value,
            department=department.code,
            department_name=department.name,
            authority_level=SEVERITY_RULES[severity].authority_level,
            confidence=confidence,
            reasons=tuple(reasons),
        )


_lock = threading.Lock()
_instance: ComplaintClassifier | None = None


def get_classifier() -> ComplaintClassifier:
    global _instance
    if _instance is None:
        with _lock:
            if _instance is None:
                _instance = ComplaintClassifier.load(ensure_model())
    return _instance
