"""Pure helpers that turn API data into the Chinese the traveller reads."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, List, Optional

import servicekit

from actions.clients.contract import Booking, Deadline, Flight, ItineraryDay, Ticket, TicketProgress

CHINA_TZ = timezone(timedelta(hours=8))
# '3', '三', '十二', '二十' -> int: the days of a trip, the days before departure.
chinese_number = servicekit.chinese_number


def parse_day_number(text: Optional[str]) -> Optional[int]:
    """'第3天', '第三天', 'day 3', 'D3', '3' -> 3."""
    if not text:
        return None
    match = re.search(r"第\s*([0-9一二两三四五六七八九十]+)\s*[天日]|day\s*(\d+)|\bD(\d+)\b", text, re.I)
    if match:
        return chinese_number(next(g for g in match.groups() if g))
    return chinese_number(text)


def _days(booking: Booking) -> List[ItineraryDay]:
    return list(booking.get("itinerary") or [])


def _flights(booking: Booking) -> List[Flight]:
    return [f for day in _days(booking) for f in day.get("flights") or []]


def _format_flight(f: Flight) -> str:
    return f"{f['number']} {f['from']}→{f['to']}，{f['departure']} 起飞，{f['arrival']} 到达"


def _day_label(day: ItineraryDay) -> str:
    return f"第{day['day']}天" + (f"（{day['date']}）" if day.get("date") else "")


def _meeting(day: ItineraryDay) -> Optional[str]:
    meeting = day.get("meeting")
    if not meeting:
        return None
    return f"{meeting['time']} 在 {meeting['place'] or '待通知'} 集合".strip()


def _pick_days(days: List[ItineraryDay], day: Optional[int]) -> List[ItineraryDay]:
    return days if day is None else [d for d in days if d["day"] == day]


def _guide(booking: Booking) -> Optional[str]:
    name, phone = booking.get("guide_name"), booking.get("guide_phone")
    if not name:
        return None
    return f"导游/领队：{name}" + (f"，电话 {phone}" if phone else "")


def _lines(items: Iterable[str]) -> str:
    return "\n".join(item for item in items if item)


def format_itinerary_answer(booking: Booking, item: Optional[str], day: Optional[int]) -> str:
    """Answer the question asked (meeting, hotel, flight, guide, included) or give an overview."""
    ref = booking["ref"]
    days = _days(booking)
    chosen = _pick_days(days, day)
    if day is not None and not chosen:
        return f"您的行程共 {len(days)} 天，没有第{day}天的安排，请核对一下天数。"

    if item == "meeting":
        picked = chosen if day is not None else chosen[:1]
        lines = [f"{_day_label(d)}：{_meeting(d)}" for d in picked if _meeting(d)]
        return _lines([f"订单 {ref} 的集合信息："] + (lines or ["集合时间地点将由导游提前一天通知您。"]))
    if item == "hotel":
        lines = [f"{_day_label(d)}：{d.get('hotel') or '无住宿（返程日）'}" for d in chosen]
        return _lines([f"订单 {ref} 的住宿安排："] + lines)
    if item in ("return_flight", "outbound_flight"):
        label = "回程" if item == "return_flight" else "去程"
        legs = days[-1:] if item == "return_flight" else days[:1]
        lines = [_format_flight(f) for d in legs for f in (d.get("flights") or [])]
        return _lines([f"订单 {ref} 的{label}航班："] + (lines or [f"本行程不含{label}机票。"]))
    if item == "flight":
        lines = [_format_flight(f) for f in _flights(booking)]
        return _lines([f"订单 {ref} 的航班信息："] + (lines or ["本行程不含机票。"]))
    if item == "guide":
        return _guide(booking) or "导游信息将在出发前一天通过短信发送给您。"
    if item == "included":
        included = "、".join(booking.get("included") or []) or "以合同为准"
        excluded = "、".join(booking.get("excluded") or []) or "以合同为准"
        return f"费用包含：{included}\n费用不含：{excluded}"

    # Overview, or the chosen day in full.
    lines = [
        f"订单 {ref}：{booking['product']}，{booking['departure_date']} 出发，{booking['return_date']} 返回。"
    ]
    for d in chosen[:1] if day is None else chosen:
        lines.append(f"{_day_label(d)}：{d['title']}")
        if _meeting(d):
            lines.append(f"集合：{_meeting(d)}")
        if d.get("hotel"):
            lines.append(f"酒店：{d['hotel']}")
    flights = _flights(booking)
    if day is None and flights:
        lines.append(f"去程航班：{_format_flight(flights[0])}")
    lines.append(_guide(booking) or "")
    if day is None:
        lines.append("想了解某一天的酒店、航班或导游联系方式，直接问我就可以，例如“第二天住哪里”。")
    return _lines(lines)


def _moment(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=CHINA_TZ)
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TZ)


def format_time(value: Any) -> str:
    """An ISO time from the API -> '11月24日 18:00' in China time (travellers read Beijing time)."""
    text = str(value or "")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA_TZ)
    if len(text) <= 10:
        return f"{moment.month}月{moment.day}日"
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def _deadline_items(deadlines: List[Deadline]) -> List[Deadline]:
    """The deadlines the traveller is told about, in the order they fall due (each with the
    API's label: the bot keeps no wording of its own for the steps)."""
    known = [d for d in deadlines if d["label"] and d["due_at"]]
    # ISO times in one zone sort as text; mixed zones are parsed.
    return sorted(known, key=lambda d: _moment(d["due_at"]))


def format_ticket_created(ticket: Ticket) -> str:
    lines = [
        f"您的投诉已受理，投诉单号：{ticket['ticket_no']}（请保存，查询进度时需要）。",
        f"严重程度：{ticket['severity_label']}；负责部门：{ticket['department_name']}。",
    ]
    deadlines = _deadline_items(ticket["deadlines"])
    if deadlines:
        lines.append("我们的处理时限：")
        lines.extend(f"· {d['label']}：{format_time(d['due_at'])} 前" for d in deadlines)
    return _lines(lines)


def format_ticket_progress(ticket: TicketProgress) -> str:
    """The handbooks' progress message: status, measures so far, expected completion, who is responsible."""
    progress = ticket["progress"]
    lines = [f"投诉单 {ticket['ticket_no']} 当前状态：{progress['status_label']}。"]
    measures = [m for m in progress["measures"] if m]
    lines.append("已采取的措施：" + ("；".join(measures) if measures else "正在调查核实，暂无新的处理结果。"))
    if progress.get("expected_completion"):
        lines.append(f"预计完成时间：{format_time(progress['expected_completion'])}")
    if progress.get("delay_reason"):
        lines.append(f"未能按期完成的原因：{progress['delay_reason']}")
    if progress.get("responsible_person"):
        lines.append(f"负责人：{progress['responsible_person']}")
    if ticket.get("escalated"):
        lines.append("由于已超过处理时限，您的投诉已升级由上一级负责人督办。")
    return _lines(lines)
