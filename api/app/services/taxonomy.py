"""The complaint taxonomy fixed by the company's handbooks (DESIGN §3).

Codes are part of the contract with the bot and with external checks: never rename them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Category(StrEnum):
    SERVICE_ATTITUDE = "service_attitude"
    ITINERARY = "itinerary"
    TRANSPORT = "transport"
    BAGGAGE = "baggage"
    ACCOMMODATION = "accommodation"
    MEALS = "meals"
    SHOPPING = "shopping"
    BILLING = "billing"
    SAFETY = "safety"
    PRIVACY = "privacy"
    OTHER = "other"


class Severity(StrEnum):
    URGENT = "urgent"
    MAJOR = "major"
    GENERAL = "general"


class Stage(StrEnum):
    PRE_TRIP = "pre_trip"
    IN_TRIP = "in_trip"
    POST_TRIP = "post_trip"


@dataclass(frozen=True)
class Department:
    code: str
    name: str  # shown to travellers and agents


QUALITY = Department("quality", "服务质量管理部")
OPERATIONS = Department("operations", "业务运营部")
FINANCE = Department("finance", "财务与审计部")
SECURITY = Department("security", "安全保卫部")
LEGAL = Department("legal", "法律与合规部")
CUSTOMER_SERVICE = Department("customer_service", "客户服务部")

CATEGORY_LABELS: dict[Category, str] = {
    Category.SERVICE_ATTITUDE: "服务态度",
    Category.ITINERARY: "行程与合同履约",
    Category.TRANSPORT: "交通",
    Category.BAGGAGE: "行李",
    Category.ACCOMMODATION: "住宿",
    Category.MEALS: "餐饮",
    Category.SHOPPING: "购物与自费项目",
    Category.BILLING: "价格与退款",
    Category.SAFETY: "安全",
    Category.PRIVACY: "个人信息",
    Category.OTHER: "其他",
}

CATEGORY_DEPARTMENT: dict[Category, Department] = {
    Category.SERVICE_ATTITUDE: QUALITY,
    Category.ITINERARY: OPERATIONS,
    Category.TRANSPORT: OPERATIONS,
    Category.BAGGAGE: OPERATIONS,
    Category.ACCOMMODATION: OPERATIONS,
    Category.MEALS: OPERATIONS,
    Category.SHOPPING: QUALITY,
    Category.BILLING: FINANCE,
    Category.SAFETY: SECURITY,
    Category.PRIVACY: LEGAL,
    Category.OTHER: CUSTOMER_SERVICE,
}


@dataclass(frozen=True)
class SeverityRule:
    label: str
    colour: str  # queue colour in the agent console
    authority_level: int  # 1 = general manager, 2 = department head
    first_response: timedelta | None  # None: immediately, handed to a human agent
    resolution: timedelta | None  # None: the working-day process decides


SEVERITY_RULES: dict[Severity, SeverityRule] = {
    Severity.URGENT: SeverityRule("紧急", "red", 1, None, timedelta(hours=24)),
    Severity.MAJOR: SeverityRule("重大", "red", 1, timedelta(hours=24), timedelta(hours=48)),
    Severity.GENERAL: SeverityRule("一般", "yellow", 2, timedelta(hours=24), None),
}

# The scenic-area manual's process, in working days after the previous step.
PROCESS_WORKING_DAYS: tuple[tuple[str, int], ...] = (
    ("investigated", 1),
    ("plan_made", 2),
    ("resolved", 3),
    ("followed_up", 1),
)

# In-trip disruptions need an alternative plan within one hour.
IN_TRIP_DISRUPTION_CATEGORIES = frozenset({Category.TRANSPORT, Category.ITINERARY})
ALTERNATIVE_PLAN_WITHIN = timedelta(hours=1)


# Who wrote a line of a handoff transcript (the console's labels and the ticket's transcript note).
SENDER_LABELS = {"traveller": "旅客", "bot": "机器人", "agent": "客服", "system": "系统", "note": "内部备注"}
