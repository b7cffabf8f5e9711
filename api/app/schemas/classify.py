from __future__ import annotations

from pydantic import BaseModel, Field

from app.services.taxonomy import Category, Severity


class ClassifyIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class ClassifyOut(BaseModel):
    category: Category
    category_label: str = Field(description="the category as travellers and agents read it (DESIGN §3)")
    severity: Severity
    department: str
    department_name: str
    authority_level: int
    confidence: float
    reasons: list[str]
