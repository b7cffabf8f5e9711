from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ClassifierDep
from app.schemas.classify import ClassifyIn, ClassifyOut
from app.services.taxonomy import CATEGORY_LABELS, Category

router = APIRouter(tags=["classify"])


@router.post(
    "/classify",
    summary="Classify a complaint text: category, severity, department, authority level",
    response_model=ClassifyOut,
    description="Open without a token: the answer contains nothing personal.",
)
def classify(body: ClassifyIn, classifier: ClassifierDep) -> ClassifyOut:
    result = classifier.classify(body.text)
    return ClassifyOut(
        category=result.category,
        category_label=CATEGORY_LABELS[Category(result.category)],
        severity=result.severity,
        department=result.department,
        department_name=result.department_name,
        authority_level=result.authority_level,
        confidence=result.confidence,
        reasons=list(result.reasons),
    )
