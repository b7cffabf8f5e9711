"""Emergencies (DESIGN §5): safety advice first, a human at the head of the queue.

The NLU pipeline marks an emergency from any message (`bot/components/emergency.py`:
intent `emergency`, entities `emergency_kind` and `abroad`); this action answers
with the advice that fits, the 24-hour line and the guide's phone when the booking
is known, and opens an urgent handoff. Details are taken afterwards by the agent.

The numbers in the advice are those of the place: China's at home, the named country's
abroad (`data/emergency/numbers.yml`), or "the local police number" when the traveller is
abroad (a foreign place in the message, an outbound trip under way) in a country without
checked numbers. 110 is not the police everywhere. Where the traveller is comes from the
message's place, else the booking: a domestic trip is at home; an outbound one is abroad
only between its departure and return dates. Unknown (no booking, an outbound booking not
under way or without dates): China's numbers and, in one line, what to do abroad.

A complaint about a trip that is over ("我要投诉 TR… 高反严重导游不管", the return date
passed) is no emergency unless the message says it is happening now: it starts the
complaint form instead (the lexicon's `now` and `complaint` words, read from the file).
So is a complaint about something dated before today ("12月6号大理…关在玉石店里两个小时…
我要全额退款") unless a word says it still goes on (the lexicon's `ongoing`).
"""

from __future__ import annotations

import logging
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients.rasa import say_to_paused
from actions.clients.ticketing import TicketingError, get_client
from actions.forms.base import latest_entities, latest_text
from actions.handoff import open_handoff
from actions.settings import get_settings
from actions.utils.parsing import to_simplified
from actions.utils.refund import china_today
from actions.utils.text import date_span

logger = logging.getLogger(__name__)

NUMBERS_FILE = Path(__file__).resolve().parents[1] / "data" / "emergency" / "numbers.yml"
LEXICON_FILE = NUMBERS_FILE.with_name("lexicon.yml")

# One line per kind, most life-threatening first (the order they are shown in). {police},
# {ambulance}, {fire} and {rescue} (police and ambulance) are the numbers of the place.
ADVICE = {
    # No digits but the number to call: every number in the reply becomes a link in the widget.
    "cardiac": (
        "有人没有呼吸：请立刻拨打{ambulance}，按调度员指导做心肺复苏(CPR)：让人平躺在硬地上，"
        "在胸口正中用力、快速地按压，不要停，直到救护人员接手；附近有AED（自动体外除颤器）请马上取来。"
    ),
    # Out of the water and unresponsive: breathing decides between CPR and the recovery position.
    "rescued": (
        "人已救上岸但没有反应：请立即拨打{ambulance}。没有呼吸或只是偶尔喘一下，马上做心肺复苏(CPR)："
        "在胸口正中用力、快速地按压，不要停，直到救护人员接手；有呼吸但叫不醒，让他侧躺（复原卧位），"
        "清理口鼻里的水和异物，脱掉湿衣服盖上干衣物保暖；不要倒提控水，守在旁边一直观察呼吸。"
    ),
    "fire": "发生火灾：请立即拨打{fire}，用湿毛巾捂住口鼻，沿安全出口撤离，不要乘坐电梯。",
    # A spark from a switch, a lighter or a phone can set off the gas.
    "gas": (
        "闻到煤气味或有烟：请马上离开房间，出门时不要开关电灯和电器、不要点火，也不要在房间里打电话；"
        "顺手能开窗就开窗，有烟就弯腰、用湿毛巾捂住口鼻走安全通道，不要乘电梯；到了安全的地方再拨打{fire}，"
        "并告诉酒店前台；有人头晕、恶心或叫不醒，请拨打{ambulance}。"
    ),
    "water": (
        "有人落水：请立即拨打{rescue}，并呼叫救生员或水上救援；不要下水施救，"
        "向落水者抛救生圈等能漂浮的东西，盯住最后看到人的位置。"
    ),
    "medical": (
        "有人受伤或身体不适：请立即拨打{ambulance}叫救护车，不要随意移动重伤者，尽量让伤者保持清醒和保暖。"
    ),
    "poisoning": (
        "疑似食物中毒：请立即拨打{ambulance}或尽快去最近的医院，症状重的人先送医；"
        "保留吃剩的食物和餐厅单据，马上告诉导游，同餐的其他人也请留意身体情况。"
    ),
    "illness": (
        "有人突发疾病：请立即拨打{ambulance}，或由同伴陪同尽快去最近的医院急诊；"
        "带上证件和正在服用的药，并马上告诉导游。"
    ),
    # Mild altitude sickness asked about: advice only (`advice_only` in the lexicon), the ambulance
    # when it gets worse; severe signs are `medical` or `illness` too, and those hand over.
    "altitude": (
        "高原反应：请马上停下来休息，不要再往高处走，也不要剧烈活动、洗澡或喝酒；多喝温水，可以吸氧"
        "（酒店前台、药店和旅游车上一般都有氧气），并告诉导游。休息后一般会慢慢缓解；如果头痛越来越重、"
        "呕吐不止、呼吸困难、嘴唇发紫或意识模糊，请立即拨打{ambulance}，并尽快转到海拔低的地方就医。"
    ),
    "accident": "发生交通事故：请立即拨打{rescue}，离开车流到安全地带等待救援。",
    "missing": (
        "有人走失：请立即拨打{police}报警，说明走失者的外貌衣着和最后出现的地点，"
        "同时请附近的工作人员或广播协助寻找，并留在原地附近。"
    ),
    "lost": (
        "迷路：请留在原地不要乱走，拨打{police}报警并说明身边的标志物；用微信位置共享把位置发给导游和家人，"
        "节省手机电量，注意保暖，大家不要分开。"
    ),
    "crime": (
        "人身受到威胁：请立即拨打{police}报警，到安全、有人的地方，在房间里就锁好房门，不要与对方正面冲突；"
        "有人受伤请拨打{ambulance}。"
    ),
    # Kept in a shop or on a coach now: the police, no fight with the staff, the guide reached by us.
    "detained": (
        "被限制离开：请保持冷静，不要与店员或导游发生肢体冲突；拨打{police}报警，说清楚店名或所在位置，"
        "以及门被锁、不让离开的情况；把位置发给家人，保留录音、照片和付款记录；我们会马上联系导游和地接社，"
        "让您尽快离开。"
    ),
    "robbed": (
        "遭遇抢劫：人没事就好，请留在安全、有人的地方；尽快拨打{police}报警并开具报案证明（补办证件、"
        "保险理赔都要用），银行卡和手机卡请立即挂失，记下对方的样貌衣着和逃跑方向。"
    ),
    "theft": "财物被盗：请拨打{police}报警并开具报案证明（补办证件、理赔都要用），银行卡请立即挂失。",
    "disaster": (
        "遇到自然灾害：请听从当地政府和救援人员的指挥，尽快转移到安全地带，如有人受伤请拨打{ambulance}。"
    ),
    # The fire brigade frees people from lifts (119 in China); a forced door or a climb out of
    # a car stopped between floors is how people get hurt.
    "lift": (
        "被困电梯：请按电梯里的警铃或对讲按钮求救，打电话告诉酒店前台，并拨打{fire}求助（消防负责电梯救援），"
        "说清楚酒店名称和电梯位置；不要强行扒门，也不要从轿厢顶部或门缝往外爬；"
        "电梯里有通风，不会缺氧，请保持冷静，等救援人员来开门。"
    ),
    "stranded": (
        "被困或滞留：请留在安全、有人的地方，保持手机畅通并节省电量，我们会尽快为您安排后续行程和住宿。"
    ),
    "documents": (
        "证件丢失：请拨打{police}或到附近警察局报案并开具报案证明，凭它到中国驻当地使领馆补办旅行证件，"
        "我们会协助您。"
    ),
    # A cry for help and nothing else: every number, then what happened.
    "help": (
        "有人身危险请立即拨打{police}报警，有人受伤或突发疾病请拨打{ambulance}，遇到火情请拨打{fire}。"
        "方便的话，请告诉我们发生了什么、您现在在哪里。"
    ),
}
# Hong Kong and Macau (numbers.yml's `regions`) have no Chinese consulate: a lost 通行证 is
# reported to their police, and the exit-entry authorities replace it.
IN_REGION = {
    "documents": (
        "证件丢失：请拨打{police}或到附近警察局报案并开具报案证明（补办证件、返回内地都要用），"
        "我们会协助您联系出入境管理部门。"
    ),
}
GENERIC = "如有人身危险，请立即拨打{police}报警或拨打{ambulance}叫救护车。"
ABROAD = (
    "您在境外：请联系中国驻当地使领馆；"
    "外交部全球领事保护与服务应急热线 +86-10-12308（或 +86-10-65612308），24 小时有人接听。"
)
# Where the traveller is, unknown: China's numbers above, and this for abroad. Hong Kong and
# Macau (our tours go there) are not abroad for the consulate, and 110 is not their police.
MAYBE_ABROAD = (
    "如果您现在在境外：请改拨当地报警和急救电话，并联系中国驻当地使领馆；"
    "外交部全球领事保护与服务应急热线 +86-10-12308（或 +86-10-65612308），24 小时有人接听。"
    "在香港、澳门请拨打 999。"
)


@lru_cache(maxsize=1)
def country_numbers(path: Path = NUMBERS_FILE) -> Dict[str, Any]:
    """The trainers' numbers file: `home`, `abroad` (country unknown), `countries` and `regions`
    (Hong Kong, Macau: their own numbers, no consulate line)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw.setdefault("regions", {})
    for entry in [*raw["countries"].values(), *raw["regions"].values()]:
        entry["pattern"] = _place_pattern(entry["words"])
    return raw


def _place_pattern(words: str) -> "re.Pattern[str]":
    """A country's place words; an English one only as a whole word ("Male" is not in "female",
    "uk" not in "Phuket"), a Chinese one anywhere (Chinese has no spaces between words)."""
    fenced = [
        f"(?<![a-z]){word}(?![a-z])" if re.match(r"[a-z]", word, re.I) else word for word in words.split("|")
    ]
    return re.compile("|".join(fenced), re.I)


def country_in(text: str) -> Optional[str]:
    """The country (or region) a message names (the one named first), if its numbers are known."""
    raw = country_numbers()
    found = [
        (match.start(), name)
        for name, entry in [*raw["countries"].items(), *raw["regions"].items()]
        for match in [entry["pattern"].search(text or "")]
        if match
    ]
    return min(found)[1] if found else None


def numbers_for(abroad: bool, country: Optional[str]) -> Dict[str, str]:
    raw = country_numbers()
    if country:
        return raw["regions"].get(country) or raw["countries"][country]
    return raw["abroad"] if abroad else raw["home"]


def _fill(template: str, numbers: Dict[str, str]) -> str:
    # A number stands between spaces ("拨打 110 报警"), words do not ("拨打当地报警电话报警");
    # no space is left next to Chinese punctuation.
    padded = {
        key: f" {numbers[key]} " if numbers[key][:1].isdigit() else numbers[key]
        for key in ("police", "ambulance", "fire", "rescue")
    }
    return re.sub(r" (?=[，。；、）])|(?<=[，。；、）]) ", "", template.format(**padded))


def emergency_kinds(tracker: Tracker) -> List[str]:
    kinds = latest_entities(tracker, "emergency_kind")
    return [kind for kind in ADVICE if kind in kinds]


# After advice that opens no handoff: how to reach a person (already waiting for one: that).
ADVICE_ONLY_CLOSING = "需要人工客服帮忙的话，请回复“转人工”。"
WAITING = "您已在等待人工客服，客服会在这里直接回复您。"


def advice_text(
    kinds: List[str],
    abroad: bool,
    line: str,
    guide: Optional[Dict[str, Any]],
    country: Optional[str] = None,
    maybe_abroad: bool = False,
) -> str:
    """`maybe_abroad`: where the traveller is is unknown (China's numbers, and the abroad line).
    Advice that opens no handoff (mild altitude sickness) has no alarm line first, no lines for
    abroad unless the traveller is known to be there, and says how to reach a person."""
    abroad = abroad or bool(country)
    numbers = numbers_for(abroad, country)
    region = country in country_numbers()["regions"]
    advice = {**ADVICE, **IN_REGION} if region else ADVICE
    only = advice_only(kinds)
    lines = [] if only else ["请先确保自身和身边人员的安全！"]
    lines += [_fill(advice[kind], numbers) for kind in kinds] or [_fill(GENERIC, numbers)]
    if region:
        pass  # Hong Kong and Macau: their own numbers above, no Chinese consulate to call
    elif abroad:
        lines.append(ABROAD)
    elif maybe_abroad and not only:
        lines.append(MAYBE_ABROAD)
    lines.append(f"本公司 24 小时紧急救援电话：{line}")
    if guide and guide.get("phone"):
        lines.append(f"您的导游{guide.get('name') or ''}：{guide['phone']}")
    if only:
        lines.append(ADVICE_ONLY_CLOSING)
    return "\n".join(lines)


def advice_only(kinds: List[str]) -> bool:
    """Every kind is one whose advice opens no urgent handoff (the lexicon's `advice_only`): nobody
    is in danger yet (DESIGN §5: urgent is health or safety in danger now)."""
    return bool(kinds) and set(kinds) <= set(_lexicon_raw().get("advice_only") or [])


async def _booking(tracker: Tracker) -> Optional[Dict[str, Any]]:
    # The booking number given in this conversation: its guide's work phone may save minutes.
    ref = tracker.get_slot("booking_ref") or tracker.get_slot("verified_booking")
    if not ref:
        return None
    try:
        # Guide, tour type and the trip's dates (where the traveller is); no grant needed.
        return dict(await get_client().emergency_contact(ref))
    except TicketingError:
        logger.info("booking not available for the emergency reply")
        return None


def trip_stage(booking: Optional[Dict[str, Any]], today: Optional[date] = None) -> Optional[str]:
    """pre_trip, in_trip or post_trip from the booking's dates (China's today); None without them."""
    try:
        start = date.fromisoformat(str((booking or {})["departure_date"])[:10])
        end = date.fromisoformat(str((booking or {})["return_date"])[:10])
    except (KeyError, TypeError, ValueError):
        return None
    today = today or china_today()
    return "pre_trip" if today < start else "post_trip" if today > end else "in_trip"


def whereabouts(abroad_said: bool, booking: Optional[Dict[str, Any]], today: Optional[date] = None) -> str:
    """abroad, home or unknown. An outbound traveller is at home before departure and after
    return; no booking, or no dates, is unknown."""
    if abroad_said:
        return "abroad"
    if not booking:
        return "unknown"
    if booking.get("tour_type") == "domestic":
        return "home"
    stage = trip_stage(booking, today)
    return "abroad" if stage == "in_trip" else "home" if stage else "unknown"


async def emergency_advice(tracker: Tracker, booking: Optional[Dict[str, Any]] = None) -> Text:
    booking = booking if booking is not None else await _booking(tracker)
    text = (tracker.latest_message or {}).get("text") or ""
    country = country_in(text)
    where = whereabouts(bool(latest_entities(tracker, "abroad")) or bool(country), booking)
    guide = {"name": booking.get("guide_name"), "phone": booking.get("guide_phone")} if booking else None
    outbound = (booking or {}).get("tour_type") == "outbound"
    return advice_text(
        emergency_kinds(tracker),
        where == "abroad",
        get_settings().emergency_line,
        guide,
        country,
        # An outbound traveller at home before departure may be on their way: the abroad line too.
        maybe_abroad=where == "unknown" or (where == "home" and outbound),
    )


@lru_cache(maxsize=1)
def _lexicon_raw(path: Path = LEXICON_FILE) -> Dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _cues() -> Dict[str, "re.Pattern[str]"]:
    raw = _lexicon_raw()
    return {key: re.compile(raw[key], re.I) for key in ("now", "complaint", "ongoing")}


# A day before today named without a date; calendar dates are read by `date_span`.
_EARLIER_DAY = re.compile(
    r"昨天|昨晚|昨日|前天|前晚|上周|上星期|上礼拜|上个月|去年"
    r"|(?<![a-z])(yesterday|last (night|week|month))(?![a-z])",
    re.I,
)


def dated_before_today(text: str, today: Optional[date] = None) -> bool:
    """The message dates what happened before today ("12月6号大理", "昨天"); a date is read in
    this year (a later one is the future, not last year's)."""
    simple = to_simplified(text)
    if _EARLIER_DAY.search(simple):
        return True
    span = date_span(simple)
    if not span:
        return False
    today = today or china_today()
    month, _, day = span[0].rstrip("日").rpartition("月")
    try:
        said = date(today.year, int(month) if month else today.month, int(day))
    except ValueError:
        return False
    return said < today


def complaint_about_past_trip(
    tracker: Tracker, booking: Optional[Dict[str, Any]], today: Optional[date] = None
) -> bool:
    """A complaint about what is over: not an emergency. Over is a trip whose return date has
    passed, with no word that it is happening now; or something the message dates before today
    ("12月6号…关在店里两个小时不让走…我要全额退款"), with no word that it still goes on ("现在还被
    关在店里"): "急" and "！！" are in angry complaints too. Someone not breathing is always now;
    so is anything without a complaint word ("我妈晕倒了" after the trip may be at home today)."""
    if "cardiac" in emergency_kinds(tracker):
        return False
    text = latest_text(tracker)
    cues = _cues()
    if not cues["complaint"].search(text):
        return False
    if trip_stage(booking, today) == "post_trip" and not cues["now"].search(text):
        return True
    return dated_before_today(text, today) and not cues["ongoing"].search(text)


async def start_complaint(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> List[EventType]:
    """The complaint form, with what the message told (the reader keeps nothing of an emergency)."""
    from actions.complaint import ActionPrefillComplaint  # complaint -> reader -> emergency: no cycle
    from actions.reader import complaint_slots_of

    events: List[EventType] = []
    if (tracker.active_loop or {}).get("name") != "complaint_form":
        events += await ActionPrefillComplaint().run(dispatcher, tracker, domain)
    events += [SlotSet(name, value) for name, value in complaint_slots_of(tracker).items()]
    return events + [FollowupAction("complaint_form")]


async def emergency_reply(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    dispatcher.utter_message(text=await emergency_advice(tracker))


async def raise_waiting_handoff(tracker: Tracker) -> None:
    """An emergency written while the conversation waits for an agent (the bot is paused):
    the queue raises it to urgent and the advice reaches the traveller through the API.
    If the API is down the advice still goes out, straight through Rasa, with the duty line
    in place of the queue (the agent may already be in the chat: the wording fits both)."""
    advice = await emergency_advice(tracker)
    channel = tracker.get_latest_input_channel() or "rest"
    if advice_only(emergency_kinds(tracker)):
        # Nobody in danger yet (mild altitude sickness): the advice, the queue stays as it is.
        say_to_paused(tracker.sender_id, channel, advice.replace(ADVICE_ONLY_CLOSING, WAITING))
        return
    notice = advice + "\n已通知人工客服优先处理您的会话，请留在这里，客服会在这里直接回复您。"
    if await open_handoff(tracker, CollectingDispatcher(), "emergency", notice=notice):
        return
    fallback = (
        advice + "\n在线客服系统暂时连接不上，请直接拨打上面的24小时紧急电话，我们的值班人员会立即处理。"
    )
    say_to_paused(tracker.sender_id, channel, fallback)


class ActionEmergency(Action):
    def name(self) -> Text:
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        booking = await _booking(tracker)
        loop = (tracker.active_loop or {}).get("name")
        if loop in (None, "complaint_form") and complaint_about_past_trip(tracker, booking):
            return await start_complaint(dispatcher, tracker, domain)
        dispatcher.utter_message(text=await emergency_advice(tracker, booking))
        if loop is None and advice_only(emergency_kinds(tracker)):
            return [ActiveLoop(None), SlotSet("requested_slot", None)]  # nobody in danger yet: no handoff
        # Whatever form was open stops: the agent takes the details.
        events: List[EventType] = [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            SlotSet("cancel_pending", None),
        ]
        return events + await open_handoff(tracker, dispatcher, "emergency", tracker.get_slot("ticket_no"))
