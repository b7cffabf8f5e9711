"""Pure helpers that turn API data into the Chinese the traveller reads."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import servicekit

from actions.clients.contract import Booking, Deadline, Flight, ItineraryDay, Ticket, TicketProgress
from actions.utils.parsing import to_simplified

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


# Days said relative to today, by their canonical word (the day_number slot holds that word:
# the trip day depends on the date the question is answered, in China).
RELATIVE_DAYS = {"昨天": -1, "今天": 0, "明天": 1, "后天": 2, "大后天": 3}
# A weekday is relative to today too ("我们周三几点集合": the coming Wednesday, today included;
# "下周一": Monday of next week; "这周一": this week's, even if past). The slot holds it as said,
# canonically ("周三", "下周一", "本周一"); the date is worked out when it is answered.
_WEEKDAY = re.compile(
    r"(?P<week>下个?|这个?|本)?(?<![一两二三四五六七八九十几每上])(?:周|星期|礼拜)(?P<d>[一二三四五六日天1-7])"
)
_WEEKDAY_INDEX = {d: i for i, d in enumerate("一二三四五六日")} | {"天": 6}
_WEEKDAY_INDEX |= {str(i + 1): i for i in range(7)}
_WEEKDAY_WORD = re.compile(r"^(下|本)?周([一二三四五六日])$")


def _weekday_span(text: str) -> Optional[Tuple[str, int, int]]:
    m = _WEEKDAY.search(text)
    if not m:
        return None
    week = m.group("week") or ""
    prefix = "下" if week.startswith("下") else "本" if week else ""
    return f"{prefix}周{'一二三四五六日'[_WEEKDAY_INDEX[m.group('d')]]}", m.start(), m.end()


def is_relative_day(word: Any) -> bool:
    """A day said relative to today: "明天" or a weekday ("周三")."""
    return isinstance(word, str) and (word in RELATIVE_DAYS or bool(_WEEKDAY_WORD.match(word)))


def day_offset(word: str, today: date) -> int:
    """Days from `today` to the relative day `word` ("明天" 1; "周三" on a Monday 2)."""
    if word in RELATIVE_DAYS:
        return RELATIVE_DAYS[word]
    m = _WEEKDAY_WORD.match(word)
    target = _WEEKDAY_INDEX[m.group(2)] if m else today.weekday()
    if m and m.group(1) == "下":
        return 7 - today.weekday() + target
    if m and m.group(1) == "本":
        return target - today.weekday()
    return (target - today.weekday()) % 7


_RELATIVE = (
    ("大后天", re.compile(r"大后天")),
    # "出发后天气怎么样" is the weather; "以后天天…" is no day.
    ("后天", re.compile(r"(?<![以之然大])后天(?!气)")),
    ("明天", re.compile(r"明天|明日|明早|明晚|明儿|(?<![a-z])tomorrow(?![a-z])", re.I)),
    ("今天", re.compile(r"今天|今日|今晚|今早|今夜|今儿|(?<![a-z])(?:today|tonight)(?![a-z])", re.I)),
    ("昨天", re.compile(r"昨天|昨日|昨晚|(?<![a-z])yesterday(?![a-z])", re.I)),
)
# Answers that do not change with the day: a relative day asked with them needs no explaining.
DAY_FREE_ITEMS = {
    "guide",
    "return_flight",
    "outbound_flight",
    "included",
    "meals",
    "travellers",
    "price",
    "recommend",
}
# Asked with no day during the trip, these mean today's (the overview, None, too); flights
# without a day stay the whole list (outbound and return).
_TODAYS_ITEMS = {"meeting", "hotel", None}
# Words only the answer to these items holds: a second answer to the same question (a clause
# of the message read on its own) is not given, nor declined, once one was said.
ANSWER_MARKS = {"travellers": "出行人数", "price": "订单总金额", "recommend": "我没法为您推荐"}
# "出发要带什么", "需要准备哪些证件": the booking holds no packing list; the departure notice
# (出团通知, sent before departure) does, so the itinerary answer points to it.
PACKING_QUESTION = re.compile(
    r"带(?:上|好)?(?:什么|啥|哪些|些什么|点什么|多少现金)|准备(?:好)?(?:什么|啥|哪些|些什么|点什么)"
    r"|(?:需要|要|得|该|应该|必须|用不用|要不要)(?:携带|准备|带上?)(?!我们|大家|你们|他们|团|队|孩子|小孩|老人|家人|朋友)"
    r"|证件|身份证|护照|行李清单|物品清单|出团通知"
    r"|(?<![a-z])(?:what (?:to|should (?:i|we)|do (?:i|we) need to) (?:bring|pack|prepare)|packing)(?![a-z])",
    re.I,
)
PACKING_NOTE = (
    "要带的证件和物品以出团通知为准：出发前我们会把出团通知发给您，上面列有需要携带的证件、物品和注意事项；"
    "没收到或有具体问题，可以问导游，或回复“转人工”。"
)


def packing_note(texts: Iterable[str]) -> Optional[str]:
    """The departure notice's line when one of the traveller's messages asks what to bring."""
    return PACKING_NOTE if any(PACKING_QUESTION.search(t or "") for t in texts) else None


# "要提前多久到", "需要早点到吗", "几点到机场合适": when to be there, which the meeting time says
# (with the usual margin); asked after the meeting point it is no refund question ("提前").
ARRIVE_EARLY = re.compile(
    r"提前(?:多久|多长时间|多少时间|多少分钟|几个?(?:小时|钟头|钟|分钟)|几点)"
    r"|(?:要|需要|得|该|应该|用不用|要不要|需不需要|是不是要|最好)(?:提前|早点|早些|早一点|早一些|早)"
    r"(?:到(?!机场.{0,3}退)|去|出门|过去|出发|吗|嘛|么|呢|$)"
    r"|(?:几点|什么时候|啥时候)(?:到|去|出门)(?:机场|集合|车站|高铁站|火车站|码头)"
    r"|几点出门|(?:几点|什么时候|啥时候)(?:到|去)(?:比较|最)?(?:好|合适)"
)
ARRIVE_EARLY_NOTE = "请按上面的集合时间到达集合地点，建议提前 15–30 分钟到，方便找到领队、办理手续。"
ARRIVE_EARLY_FLYING = (
    "如果不参加集合、自行去机场，国内航班请至少提前 2 小时、国际航班至少提前 3 小时到达机场。"
)
# "几点到北京", "什么时候落地", "几点能到": when the flight lands (not "几点到机场": the meeting).
ARRIVAL_TIME = re.compile(
    r"(?:几点|什么时候|啥时候|几时|多久)(?:能|可以|才|会|就)?回?(?:到|落地|降落|抵达|到达)"
    r"(?!机场|集合|车站|码头|酒店|景区|景点|账|帐)"
    r"|(?:落地|到达|抵达|降落)(?:时间|是几点|几点)"
    r"|^(?:那)?(?:到了?|抵达)[\u4e00-\u9fff]{2,5}?(?:是|大概|大约|差不多)?几点(?:了|呢|啊|呀)?[?？]?$"
)
_RETURNING = re.compile(r"回|返|到家")


def asks_arrival_time(text: str) -> Optional[str]:
    """The flight item a question about landing asks ("几点到北京": outbound_flight, "几点回到
    广州": return_flight); None when it asks none, or when to be at the meeting ("要提前多久到")."""
    simple = to_simplified(text or "")
    if ARRIVE_EARLY.search(simple) or not ARRIVAL_TIME.search(simple):
        return None
    return "return_flight" if _RETURNING.search(simple) else "outbound_flight"


def asks_when_to_arrive(text: str) -> bool:
    return bool(ARRIVE_EARLY.search(to_simplified(text or "")))


def arrival_note(texts: Iterable[str], booking: Booking) -> Optional[str]:
    """The margin to keep before the meeting when one of the traveller's messages asks it (and
    before a flight, for a trip that flies)."""
    if not any(asks_when_to_arrive(t) for t in texts):
        return None
    return ARRIVE_EARLY_NOTE + (ARRIVE_EARLY_FLYING if _flights(booking) else "")


# "我的行程单发我一份", "完整行程给我看看", "每天的安排": every day of the trip, not day 1's overview.
WHOLE_ITINERARY = re.compile(
    r"行程单|行程表|日程表|完整(?:的)?(?:行程|安排)|全部(?:的)?(?:行程|安排)|整个(?:的)?(?:行程|安排)"
    r"|所有(?:的)?(?:行程|安排)|详细(?:的)?(?:行程|安排)|全程(?:的)?(?:行程|安排)|每(?:一)?天(?:的)?(?:行程|安排)"
    r"|几天(?:都|分别)(?:去|干|玩)|每天(?:都)?(?:去|玩|干|做)(?:哪|什么|啥)|都(?:去|玩)(?:哪些|什么)(?:地方|景点)"
    r"|行程(?:发|给)(?:我|一份)"
)
# "有没有自由活动时间", "哪天可以自己逛": the days whose programme names free time.
FREE_TIME = re.compile(r"自由活动|自由时间|自由行动|自由购物|自由安排|自己逛|自由行")
FREE_TIME_THING = "自由"


def free_time_answer(booking: Booking) -> str:
    """The days whose programme has free time, or that none is written in it."""
    days = [d for d in _days(booking) if FREE_TIME_THING in (d.get("title") or "")]
    if not days:
        return (
            f"订单 {booking['ref']} 的行程里没有单独写明自由活动时间，"
            "每天的具体安排以出团通知为准，也可以问导游。"
        )
    lines = [f"订单 {booking['ref']} 的行程中安排了自由活动的日子："]
    lines += [f"{_day_label(d)}：{d['title']}" for d in days]
    return _lines(lines)


def whole_itinerary(booking: Booking) -> str:
    """Every day of the trip, one line each (its programme and hotel), under the booking's line."""
    lines = [
        f"订单 {booking['ref']}：{booking['product']}，{booking['departure_date']} 出发，"
        f"{booking['return_date']} 返回。每天的安排："
    ]
    for d in _days(booking):
        hotel = f"；住 {d['hotel']}" if d.get("hotel") else ""
        lines.append(f"{_day_label(d)}：{d['title']}{hotel}")
    lines.append(_guide(booking) or "")
    lines.append("想了解某一天的集合、航班等细节，直接问我就可以，例如“第二天几点集合”。")
    return _lines(lines)


# "有早餐吗", "含不含午餐", "晚饭自理吗", "包餐吗", "中午管饭吗": the meals, answered from what the
# booking's fee includes ("早点集合" is early, not breakfast).
MEAL_QUESTION = re.compile(
    r"早餐|早饭|含早|包早|餐费|午餐|午饭|中饭|中餐|晚餐|晚饭|正餐|用餐|餐食|餐标|伙食|包餐|含餐|管饭|包吃|吃饭|饭钱|饭费"
    r"|(?<![a-z])(?:breakfast|lunch|dinner|meals?)(?![a-z])",
    re.I,
)
# Discontent, even when phrased as a question ("晚餐太差了，能退钱吗", "怎么这么慢？", "凭什么不赔"):
# a complaint, not a request for information about the meals or the policy just answered.
DISCONTENT = re.compile(
    r"投诉|complain|太差|太慢|太少|太贵|太难吃|难吃|不好吃|吃不饱|不干净|不卫生|太过分|差劲|离谱|坑人|骗|垃圾"
    r"|凭什么|怎么这么|怎么还|为什么还|不满|气死|恶心|要求.{0,10}(?:赔|退|道歉)|给个说法|退钱",
    re.I,
)
# "费用包含哪些，有早餐吗" asks the whole list too; "含不含午餐" only the meals.
_FEES_ASKED = re.compile(r"费用|团费|自费|(?:包含|包括|含)(?:哪些|什么)")
# What in the booking's included and excluded lists is about meals.
_MEAL_ITEM = re.compile(r"餐|饭|伙食")


def with_meals(
    queries: Sequence[Tuple[Optional[str], Any]], texts: Iterable[str]
) -> List[Tuple[Optional[str], Any]]:
    """The questions read from a message, with the meals when it asks about them: they take the
    place of the day's overview (no item) and of the fee list read from "含不含" alone."""
    asked = [t for t in texts if MEAL_QUESTION.search(to_simplified(t or ""))]
    if not asked:
        return list(queries)
    whole_list = any(_FEES_ASKED.search(MEAL_QUESTION.sub("", to_simplified(t))) for t in asked)
    kept = [(item, day) for item, day in queries if item and (item != "included" or whole_list)]
    return kept if ("meals", None) in kept else kept + [("meals", None)]


# A day of the trip (3) or a day relative to today ("明天").
DayRef = Union[int, str, None]


def relative_day_span(text: str) -> Optional[Tuple[str, int, int]]:
    """The first relative day in simplified `text`: ('明天', start, end) for "明早几点集合"."""
    found = [(m.start(), -len(m.group(0)), word, m.end()) for word, p in _RELATIVE for m in p.finditer(text)]
    weekday = _weekday_span(text)
    if weekday:
        found.append((weekday[1], -(weekday[2] - weekday[1]), weekday[0], weekday[2]))
    if not found:
        return None
    start, _, word, end = min(found)
    return word, start, end


def relative_day(text: Optional[str]) -> Optional[str]:
    """'今晚住哪' -> '今天', '明早' -> '明天', '后天呢' -> '后天' (simplified text)."""
    span = relative_day_span(text or "")
    return span[0] if span else None


# The trip's last day, the day of the journey home ("那回程呢", "回来那天几点集合", "最后一天").
LAST_DAY = "最后一天"
_LAST_DAY = re.compile(
    r"最后一天|最后那天|最后1天|最后的?一天|(?:回程|返程|回来|回去|回国|返回|走)的?那天|回程日|返程日"
    r"|(?:回程|返程)(?!.{0,6}(?:航班|飞机|机票|班机))"
)
# A calendar date ("12月9号", "12/9", "9号"): "6日游", "2号门", "4号柜台" are no dates.
_NUM = r"[0-9]{1,2}|[一二三四五六七八九十]{1,3}"
_DATE = re.compile(
    rf"(?<![0-9A-Za-z./\-第])(?:(?P<m>{_NUM})\s*月\s*(?P<d>{_NUM})\s*(?:日|号)?"
    r"|(?P<m2>[0-9]{1,2})\s*[/／]\s*(?P<d2>[0-9]{1,2})(?![0-9/])"
    r"|(?P<d3>[0-9]{1,2})\s*(?:日|号))(?![0-9]|游|团|线|门|柜|台|楼|车|座|房|口|厅|馆|位|航站|人)"
)
_DATE_VALUE = re.compile(r"^(?:(\d{1,2})月)?(\d{1,2})日$")


def date_span(text: str) -> Optional[Tuple[str, int, int]]:
    """The first calendar date in simplified `text`, as the slot holds it: ('12月9日', start, end);
    a day of the month alone is '9日'. Impossible dates are none."""
    for m in _DATE.finditer(text):
        said_month = m.group("m") or m.group("m2")
        month = chinese_number(said_month) if said_month else None
        day = chinese_number(m.group("d") or m.group("d2") or m.group("d3") or "")
        if day and 1 <= day <= 31 and (month is None or 1 <= month <= 12):
            return (f"{month}月" if month else "") + f"{day}日", m.start(), m.end()
    return None


def last_day_span(text: str) -> Optional[Tuple[str, int, int]]:
    found = _LAST_DAY.search(text)
    return (LAST_DAY, found.start(), found.end()) if found else None


def day_ref(value: Optional[str]) -> DayRef:
    """A day_number slot value -> 3 for '3' / '第三天', '明天' for a relative day, '最后一天' for
    the last day and '12月9日' for a calendar date (both read against the booking)."""
    if value and (value == LAST_DAY or _DATE_VALUE.match(value)):
        return value
    return relative_day(value) or parse_day_number(value)


def _date_label(day: date, today: date) -> str:
    return (f"{day.year}年" if day.year != today.year else "") + f"{day.month}月{day.day}日"


class TripDay(NamedTuple):
    number: int  # day of the trip: below 1 before departure, past the last day after return
    within: bool
    note: str


def locate_day(booking: Booking, word: str, today: date) -> TripDay:
    """'明天' in China on `today` -> day 4, '您的行程12月5日出发，明天（12月8日）是第4天。'; a day
    outside the trip says so ("…还没有开始行程", "…已于10月18日结束")."""
    when = today + timedelta(days=day_offset(word, today))
    start, end = _trip_dates(booking)
    number = (when - start).days + 1
    said = f"{word}（{_date_label(when, today)}）"
    if when < start:
        return TripDay(number, False, f"您的行程出发日是{_date_label(start, today)}，{said}还没有开始行程。")
    if when > end:
        return TripDay(number, False, f"您这个行程已于{_date_label(end, today)}结束，{said}没有行程安排了。")
    return TripDay(number, True, f"您的行程{_date_label(start, today)}出发，{said}是第{number}天。")


def resolve_day(booking: Booking, ref: str, today: date) -> TripDay:
    """Any day said in words (relative, the last day, a calendar date) as a day of this trip."""
    if is_relative_day(ref):
        return locate_day(booking, ref, today)
    start, end = _trip_dates(booking)
    total = (end - start).days + 1
    if ref == LAST_DAY:
        return TripDay(total, True, f"您行程的最后一天（返程日）是第{total}天（{_date_label(end, today)}）。")
    said = _DATE_VALUE.match(ref)
    month, day = (int(said.group(1)) if said and said.group(1) else None), (int(said.group(2)) if said else 0)
    dates = [start + timedelta(days=i) for i in range(total)]
    match = next((d for d in dates if d.day == day and (month is None or d.month == month)), None)
    if match is None:
        return TripDay(
            0,
            False,
            f"{ref}不在您这次行程的日期内（{_date_label(start, today)}出发，{_date_label(end, today)}返回），"
            "没有这一天的安排。",
        )
    number = (match - start).days + 1
    return TripDay(number, True, f"{_date_label(match, today)}是您行程的第{number}天。")


# "熱氣球是哪天", "什么时候去格雷梅", "哪天坐船游洱海": which day of the trip has something in its
# programme. The question words go; what is left is looked for in each day's programme.
_WHICH_DAY = re.compile(r"(?:是|在)?(?:哪一?天|第几天|什么时候|啥时候|几号|哪日|边日|几时)")
_NOT_THE_THING = re.compile(
    r"[\s，,。.？?！!~～、：:]|请问|我们|咱们|那个|这个|那天|这天|当天|那|呢|吗|啊|呀|的|去|玩|坐|有|安排|行程|项目|是"
)


def asks_which_day(text: str) -> Optional[str]:
    """What "熱氣球是哪天" asks the day of ("热气球"); None when it asks no day of a thing."""
    simple = to_simplified(text or "")
    if not _WHICH_DAY.search(simple):
        return None
    thing = _NOT_THE_THING.sub("", _WHICH_DAY.sub("", simple))
    return thing if len(thing) >= 2 else None


def days_with(booking: Booking, thing: str) -> List[int]:
    """The days whose programme names `thing` (or, for a long one, its first four characters)."""
    keys = {thing, thing[:4]} if len(thing) > 4 else {thing}
    return [d["day"] for d in _days(booking) if any(k in (d.get("title") or "") for k in keys)]


def _trip_dates(booking: Booking) -> Tuple[date, date]:
    start = date.fromisoformat(str(booking["departure_date"])[:10])
    end = (
        date.fromisoformat(str(booking["return_date"])[:10])
        if booking.get("return_date")
        else start + timedelta(days=max(len(_days(booking)), 1) - 1)
    )
    return start, end


def _days(booking: Booking) -> List[ItineraryDay]:
    return list(booking.get("itinerary") or [])


def _flights(booking: Booking) -> List[Flight]:
    return [f for day in _days(booking) for f in day.get("flights") or []]


def _format_flight(f: Flight) -> str:
    return f"{f['number']} {f['from']}→{f['to']}，{f['departure']} 起飞，{f['arrival']} 到达"


def _day_label(day: ItineraryDay) -> str:
    return f"第{day['day']}天" + (f"（{day['date']}）" if day.get("date") else "")


def _minutes(clock: Any) -> Optional[int]:
    found = re.match(r"^\s*(\d{1,2}):(\d{2})", str(clock or ""))
    return int(found.group(1)) * 60 + int(found.group(2)) if found else None


# A meeting after the day's first flight leaves is the evening before ("22:50" for a 01:50 flight);
# one this long or more before the flight across midnight is no such evening (data at odds).
_EVE_BEFORE_FLIGHT = 8 * 60


def _eve_flight(day: ItineraryDay) -> Optional[Flight]:
    """The day's first flight when its meeting is on the evening before it, else None."""
    meeting, flights = day.get("meeting") or {}, day.get("flights") or []
    met = _minutes(meeting.get("time"))
    leaves = _minutes(flights[0].get("departure")) if flights else None
    if met is None or leaves is None or met <= leaves or 24 * 60 - met + leaves > _EVE_BEFORE_FLIGHT:
        return None
    return flights[0]


def _meeting(day: ItineraryDay) -> Optional[str]:
    """ "08:30 在 …大堂 集合"; the evening before an early flight is said with its date, or
    "第1天（2027-04-10）：22:50" reads as meeting after the flight left."""
    meeting = day.get("meeting")
    if not meeting:
        return None
    said = f"{meeting['time']} 在 {meeting['place'] or '待通知'} 集合".strip()
    flight = _eve_flight(day)
    if flight is None:
        return said
    eve = "出发前一晚" if day.get("day") == 1 else "前一天晚上"
    if not day.get("date"):
        return f"{eve} {said}（航班 {flight['number']} 当天 {flight['departure']} 起飞）"
    leaves = date.fromisoformat(str(day["date"])[:10])
    before = leaves - timedelta(days=1)
    return (
        f"{before.month}月{before.day}日（{eve}）{said}"
        f"（航班 {flight['number']} {leaves.month}月{leaves.day}日 {flight['departure']} 起飞）"
    )


def _pick_days(days: List[ItineraryDay], day: Optional[int]) -> List[ItineraryDay]:
    return days if day is None else [d for d in days if d["day"] == day]


def _guide(booking: Booking) -> Optional[str]:
    name, phone = booking.get("guide_name"), booking.get("guide_phone")
    if not name:
        return None
    return f"导游/领队：{name}" + (f"，电话 {phone}" if phone else "")


def _lines(items: Iterable[str]) -> str:
    return "\n".join(item for item in items if item)


def format_itinerary_answer(
    booking: Booking, item: Optional[str], day: DayRef, today: Optional[date] = None
) -> str:
    """Answer the question asked (meeting, hotel, flight, guide, included) or give an overview;
    `day` is a day of the trip or a relative day ("明天"), resolved against `today` in China."""
    return _lines(_answer(booking, item, day, today))


def itinerary_answers(
    booking: Booking,
    queries: Sequence[Tuple[Optional[str], DayRef]],
    today: Optional[date] = None,
) -> List[str]:
    """One message per question asked, in the order asked ("第三天住哪 导游电话多少" gets both);
    a relative day is explained once, and an answer already given is not given again."""
    messages: List[str] = []
    explained: set = set()
    for item, day in queries or [(None, None)]:
        note, *body = _answer(booking, item, day, today)
        lines = ([] if note in explained else [note]) + body
        explained.add(note)
        text = _lines(lines)
        if text and text not in messages:
            messages.append(text)
    return messages


def _china_today() -> date:
    from actions.utils.refund import china_today  # refund imports this module

    return china_today()


def _answer(booking: Booking, item: Optional[str], day: DayRef, today: Optional[date]) -> List[str]:
    """The note on the day ('' if none), then the answer's lines."""
    if isinstance(day, str):
        day = day_ref(day)
    if day is None and item in _TODAYS_ITEMS:
        return _answer_undated(booking, item, today or _china_today())
    if isinstance(day, str) and not is_relative_day(day):  # the last day, a calendar date
        if item in DAY_FREE_ITEMS:
            return _answer(booking, item, None, today)
        located = resolve_day(booking, day, today or _china_today())
        if not located.within:
            return [located.note]
        ended, *body = _answer(booking, item, located.number, today)
        return ([ended] if ended else []) + [located.note] + body
    if isinstance(day, str):  # a relative day
        if item in DAY_FREE_ITEMS:
            return _answer(booking, item, None, today)
        today = today or _china_today()
        located = locate_day(booking, day, today)
        if located.within:
            return [located.note] + _answer(booking, item, located.number, today)[1:]
        days = _days(booking)
        if item == "meeting" and located.number < 1 and days and _meeting(days[0]):
            # Before departure, where and when to be on the first day is what they need.
            when = _day_label(days[0]) if _eve_flight(days[0]) else f"出发当天（{_day_label(days[0])}）"
            return [located.note, f"{when}：{_meeting(days[0])}"]
        if item == "flight" and located.number < 1:
            return [located.note] + _answer_day(booking, "outbound_flight", None).split("\n")
        # Outside the trip no day is given: an ended trip never shows day 1's meeting point.
        return [located.note]
    note = ""
    if day is not None and item not in DAY_FREE_ITEMS:
        # "第2天住哪" after the trip: the record, said to be one (as without a day).
        today = today or _china_today()
        end = _trip_dates(booking)[1]
        if today > end:
            note = f"您这个行程已于{_date_label(end, today)}结束，以下是当时的安排，供您参考："
    return [note] + _answer_day(booking, item, day).split("\n")


def _answer_undated(booking: Booking, item: Optional[str], today: date) -> List[str]:
    """ "几点集合" with no day: during the trip it is today's (day 1 would send them back to the
    airport); before departure day 1's; after the trip, the record, said to be one."""
    start, end = _trip_dates(booking)
    if today < start:
        return [""] + _answer_day(booking, item, None).split("\n")
    if today > end:
        ended = f"您这个行程已于{_date_label(end, today)}结束。"
        if item == "meeting":
            # Kept as a record, like the hotels: "集合地点在哪" after the trip is often for a claim.
            return [ended.rstrip("。") + "，以下是当时的集合安排，供您参考："] + _answer_day(
                booking, item, None
            ).split("\n")
        return [ended] + _answer_day(booking, item, None).split("\n")
    number = (today - start).days + 1
    note = f"今天（{_date_label(today, today)}）是行程第{number}天。"
    return [note] + _answer_day(booking, item, number).split("\n")


def _answer_day(booking: Booking, item: Optional[str], day: Optional[int]) -> str:
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
        # With its day and date: "我们哪天回国" asks the date as much as the flight.
        lines = [f"{_day_label(d)}：{_format_flight(f)}" for d in legs for f in (d.get("flights") or [])]
        return _lines([f"订单 {ref} 的{label}航班："] + (lines or [f"本行程不含{label}机票。"]))
    if item == "flight" and day is not None:
        return _day_flights(ref, days, chosen[0])
    if item == "flight":
        lines = [_format_flight(f) for f in _flights(booking)]
        return _lines([f"订单 {ref} 的航班信息："] + (lines or ["本行程不含机票。"]))
    if item == "guide":
        return _guide(booking) or "导游信息将在出发前一天通过短信发送给您。"
    if item == "travellers":
        count = booking.get("travellers")
        if not count:
            return f"订单 {ref} 的记录里没有出行人数，请以合同或下单确认单为准，也可以转人工客服帮您核实。"
        return f"订单 {ref} 登记的出行人数：{count} 人。"
    if item == "price":
        price = booking.get("price_cny")
        if price is None:
            return f"订单 {ref} 的记录里没有订单总金额，请以合同或付款凭证为准，也可以转人工客服帮您核实。"
        return f"订单 {ref} 的订单总金额：{price} 元（实际付款以合同和付款凭证为准）。"
    if item == "recommend":
        guide = _guide(booking)
        return _lines(
            [
                "抱歉，附近的餐厅、景点、购物等推荐不在我的服务范围内，我没法为您推荐。",
                f"当地吃住玩的建议可以问问您的导游（{guide.replace('导游/领队：', '')}）。" if guide else "",
            ]
        )
    if item == "meals":
        return _meals(booking)
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
        if day is not None:  # the return day's plan is mostly its flight
            lines.extend(f"航班：{_format_flight(f)}" for f in d.get("flights") or [])
    flights = _flights(booking)
    if day is None and flights:
        lines.append(f"去程航班：{_format_flight(flights[0])}")
    lines.append(_guide(booking) or "")
    if day is None:
        lines.append("想了解某一天的酒店、航班或导游联系方式，直接问我就可以，例如“第二天住哪里”。")
    return _lines(lines)


def _meals(booking: Booking) -> str:
    """The meals, from the fee's included and excluded items: the booking lists no meals per day,
    so the day's own meals are the itinerary sheet's (出团通知) or the guide's to say."""
    included = [i for i in booking.get("included") or [] if _MEAL_ITEM.search(i)]
    excluded = [i for i in booking.get("excluded") or [] if _MEAL_ITEM.search(i)]
    guide = _guide(booking)
    ask = f"，也可以问{guide.replace('导游/领队：', '导游')}" if guide else ""
    lines = [f"订单 {booking['ref']} 的用餐："]
    if not included and not excluded:
        return _lines(lines + [f"订单记录的费用包含项目里没有写用餐，是否含餐请以合同和行程单为准{ask}。"])
    if included:
        lines.append("团费包含：" + "、".join(included))
    if excluded:
        lines.append("团费不含：" + "、".join(excluded))
    meant = [
        "早餐包含在团费里" if any(re.search("早餐|早饭", i) for i in included) else "",
        "午餐、晚餐按行程所列的正餐包含" if any("正餐" in i for i in included) else "",
    ]
    if any(meant):
        lines.append("也就是说：" + "；".join(m for m in meant if m) + "。")
    return _lines(
        lines + [f"行程单上没有列出的餐需要自理；某一天具体含哪几餐，以行程单（出团通知）为准{ask}。"]
    )


def _day_flights(ref: str, days: List[ItineraryDay], chosen: ItineraryDay) -> str:
    """The flights of one day; on a day without one, the next flight of the trip."""
    own = chosen.get("flights") or []
    if own:
        return _lines([f"订单 {ref} {_day_label(chosen)}的航班："] + [_format_flight(f) for f in own])
    later = next((d for d in days if d["day"] > chosen["day"] and d.get("flights")), None)
    lines = [f"抱歉，{_day_label(chosen)}没有航班安排。"]
    if later is None:
        return _lines(lines + ["之后的行程也没有航班了。"])
    kind = "回程航班" if later is days[-1] else "航班"
    lines.append(f"您接下来的{kind}在{_day_label(later)}：")
    return _lines(lines + [_format_flight(f) for f in later["flights"]])


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
