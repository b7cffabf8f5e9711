"""Refund deduction from the cancellation schedule in data/policies/refund_schedule.yml."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional

import yaml

from actions.utils.text import CHINA_TZ

SCHEDULE_FILE = Path(__file__).resolve().parents[2] / "data" / "policies" / "refund_schedule.yml"


@dataclass(frozen=True)
class Deduction:
    tour_type_label: str
    days_before: int
    percent: Optional[int]  # None: only costs actually incurred
    amount: Optional[int]  # CNY, None when percent is None
    refund: Optional[int]
    source: str
    clause: str


@lru_cache(maxsize=4)
def load_schedules(path: Path = SCHEDULE_FILE) -> Dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["schedules"]


def compute_deduction(
    tour_type: str, price: int, days_before: int, schedules: Optional[Dict[str, Any]] = None
) -> Deduction:
    """The deduction for cancelling `days_before` calendar days before departure."""
    if days_before < 0:
        raise ValueError("the trip has already started")
    schedule = (schedules or load_schedules())[tour_type]
    percent: Optional[int] = None
    if days_before < schedule["free_from_days"]:
        for bracket in schedule["brackets"]:
            if bracket["to_days"] <= days_before <= bracket["from_days"]:
                percent = bracket["percent"]
                break
        else:
            raise ValueError(f"no bracket for {days_before} days in the {tour_type} schedule")
    amount = None if percent is None else round(price * percent / 100)
    return Deduction(
        tour_type_label=schedule["label"],
        days_before=days_before,
        percent=percent,
        amount=amount,
        refund=None if amount is None else price - amount,
        source=schedule["source"],
        clause=schedule["clause"],
    )


def china_today(now: Optional[datetime] = None) -> date:
    """Today in Beijing, whatever the server's zone (between 00:00 and 08:00 Beijing
    time a UTC server still has yesterday, which is one bracket off)."""
    return (now or datetime.now(timezone.utc)).astimezone(CHINA_TZ).date()


def days_until(departure: str, today: Optional[date] = None) -> int:
    return (date.fromisoformat(str(departure)[:10]) - (today or china_today())).days


def bracket_line(tour_type: str, days_before: int, schedules: Optional[Dict[str, Any]] = None) -> str:
    """The one line of the schedule that applies ("出发前7天退团…")."""
    schedule = (schedules or load_schedules())[tour_type]
    d = compute_deduction(tour_type, 100, days_before, schedules)
    when = "出发当天" if days_before == 0 else f"出发前{days_before}天"
    if d.percent is None:
        return (
            f"{schedule['label']}：{when}退团，不按比例扣款，"
            "只扣除已实际发生且无法退回的费用（如签证费、已出票的机票）。"
        )
    return (
        f"{schedule['label']}：{when}退团，扣除团费的 {d.percent}%"
        "（实际损失更高时按实际损失，但不超过团费总额）。"
    )


def schedule_line(tour_type: str, schedules: Optional[Dict[str, Any]] = None) -> str:
    """The whole schedule of one kind of trip in a line ("团队出境旅游：出发前30天及以上…")."""
    schedule = (schedules or load_schedules())[tour_type]
    example = "（如签证费、已出票的机票）" if tour_type == "outbound" else ""
    parts = [f"出发前{schedule['free_from_days']}天及以上只扣已实际发生的费用{example}"]
    for bracket in schedule["brackets"]:
        high, low = bracket["from_days"], bracket["to_days"]
        when = "出发当天" if high == 0 else (f"{high}天" if high == low else f"{high}–{low}天")
        parts.append(f"{when}扣团费{bracket['percent']}%")
    return f"{schedule['label']}：" + "；".join(parts) + "（实际损失更高时按实际损失，但不超过团费总额）。"


def format_deduction(ref: str, price: int, d: Deduction) -> str:
    head = f"按您的订单 {ref}（{d.tour_type_label}，团费 {price} 元），距出发还有 {d.days_before} 天："
    if d.percent is None:
        body = "现在退团不按比例扣款，只扣除已实际发生且无法退回的费用，其余全额退还。"
    else:
        body = (
            f"现在退团需扣除团费的 {d.percent}%，即 {d.amount} 元，预计可退 {d.refund} 元"
            "（实际损失更高时按实际损失扣，但不超过团费总额）。"
        )
    return f"{head}\n{body}\n依据：{d.source}，{d.clause}。"


@dataclass(frozen=True)
class InTripDeduction:
    tour_type_label: str
    first_day_percent: int  # the day-of-departure percentage the formula starts from
    tour_days: int
    days_travelled: int  # today included: the traveller has had today's services
    amount: int
    refund: int


def in_trip_deduction(
    tour_type: str,
    price: int,
    tour_days: int,
    days_travelled: int,
    schedules: Optional[Dict[str, Any]] = None,
) -> InTripDeduction:
    """Clause 15.2 (refund_schedule.yml, in_trip_formula): price x day-of-departure percent
    + (price - that) / tour days x days already travelled."""
    first = compute_deduction(tour_type, price, 0, schedules)
    if first.amount is None or first.percent is None or tour_days < 1:
        raise ValueError(f"no day-of-departure percentage for {tour_type}")
    days = min(max(days_travelled, 0), tour_days)
    amount = min(price, round(first.amount + (price - first.amount) * days / tour_days))
    return InTripDeduction(
        tour_type_label=first.tour_type_label,
        first_day_percent=first.percent,
        tour_days=tour_days,
        days_travelled=days,
        amount=amount,
        refund=price - amount,
    )
