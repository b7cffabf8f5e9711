"""Emergencies (DESIGN §5): safety advice first, a human at the head of the queue.

The NLU pipeline marks an emergency from any message (`bot/components/emergency.py`:
intent `emergency`, entities `emergency_kind` and `abroad`); this action answers
with the advice that fits, the 24-hour line and the guide's phone when the booking
is known, and opens an urgent handoff. Details are taken afterwards by the agent.

The numbers in the advice are those of the place: China's at home, the named country's
abroad (`data/emergency/numbers.yml`), or "the local police number" when the traveller is
abroad (a foreign place in the message, an outbound booking) in a country without checked
numbers. 110 is not the police everywhere.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients.rasa import say_to_paused
from actions.clients.ticketing import TicketingError, get_client
from actions.forms.base import latest_entities
from actions.handoff import open_handoff
from actions.settings import get_settings

logger = logging.getLogger(__name__)

NUMBERS_FILE = Path(__file__).resolve().parents[1] / "data" / "emergency" / "numbers.yml"

# One line per kind, most life-threatening first (the order they are shown in). {police},
# {ambulance}, {fire} and {rescue} (police and ambulance) are the numbers of the place.
ADVICE = {
    "fire": "发生火灾：请立即拨打{fire}，用湿毛巾捂住口鼻，沿安全出口撤离，不要乘坐电梯。",
    "water": (
        "有人落水：请立即拨打{rescue}，并呼叫救生员或水上救援；不要下水施救，"
        "向落水者抛救生圈等能漂浮的东西，盯住最后看到人的位置。"
    ),
    "medical": (
        "有人受伤或身体不适：请立即拨打{ambulance}叫救护车，不要随意移动重伤者，尽量让伤者保持清醒和保暖。"
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
        "人身受到威胁：请立即拨打{police}报警，到安全、有人的地方，在房间里就锁好房门，不要与对方正面冲突。"
    ),
    "theft": "财物被盗：请拨打{police}报警并开具报案证明（补办证件、理赔都要用），银行卡请立即挂失。",
    "disaster": (
        "遇到自然灾害：请听从当地政府和救援人员的指挥，尽快转移到安全地带，如有人受伤请拨打{ambulance}。"
    ),
    "stranded": (
        "被困或滞留：请留在安全、有人的地方，保持手机畅通并节省电量，我们会尽快为您安排后续行程和住宿。"
    ),
    "documents": (
        "证件丢失：请尽快到当地警察局报案并开具报案证明，凭它到中国驻当地使领馆补办旅行证件，我们会协助您。"
    ),
}
GENERIC = "如有人身危险，请立即拨打{police}报警或拨打{ambulance}叫救护车。"
ABROAD = (
    "您在境外：请联系中国驻当地使领馆；"
    "外交部全球领事保护与服务应急热线 +86-10-12308（或 +86-10-65612308），24 小时有人接听。"
)


@lru_cache(maxsize=1)
def country_numbers(path: Path = NUMBERS_FILE) -> Dict[str, Any]:
    """The trainers' numbers file: `home`, `abroad` (country unknown) and `countries`."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in raw["countries"].values():
        entry["pattern"] = re.compile(entry["words"], re.I)
    return raw


def country_in(text: str) -> Optional[str]:
    """The country a message names (the one named first), if its numbers are known."""
    found = [
        (match.start(), name)
        for name, entry in country_numbers()["countries"].items()
        for match in [entry["pattern"].search(text or "")]
        if match
    ]
    return min(found)[1] if found else None


def numbers_for(abroad: bool, country: Optional[str]) -> Dict[str, str]:
    raw = country_numbers()
    if country:
        return raw["countries"][country]
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


def advice_text(
    kinds: List[str],
    abroad: bool,
    line: str,
    guide: Optional[Dict[str, Any]],
    country: Optional[str] = None,
) -> str:
    abroad = abroad or bool(country)
    numbers = numbers_for(abroad, country)
    lines = ["请先确保自身和身边人员的安全！"]
    lines += [_fill(ADVICE[kind], numbers) for kind in kinds] or [_fill(GENERIC, numbers)]
    if abroad:
        lines.append(ABROAD)
    lines.append(f"本公司 24 小时紧急救援电话：{line}")
    if guide and guide.get("phone"):
        lines.append(f"您的导游{guide.get('name') or ''}：{guide['phone']}")
    return "\n".join(lines)


async def _booking(tracker: Tracker) -> Optional[Dict[str, Any]]:
    # The booking number given in this conversation: its guide's work phone may save minutes.
    ref = tracker.get_slot("booking_ref") or tracker.get_slot("verified_booking")
    if not ref:
        return None
    try:
        return await get_client().emergency_contact(ref)  # guide and tour type only: no grant needed
    except TicketingError:
        logger.info("booking not available for the emergency reply")
        return None


async def emergency_advice(tracker: Tracker) -> Text:
    booking = await _booking(tracker)
    abroad = bool(latest_entities(tracker, "abroad")) or (booking or {}).get("tour_type") == "outbound"
    guide = {"name": booking.get("guide_name"), "phone": booking.get("guide_phone")} if booking else None
    country = country_in((tracker.latest_message or {}).get("text") or "")
    return advice_text(emergency_kinds(tracker), abroad, get_settings().emergency_line, guide, country)


async def emergency_reply(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    dispatcher.utter_message(text=await emergency_advice(tracker))


async def raise_waiting_handoff(tracker: Tracker) -> None:
    """An emergency written while the conversation waits for an agent (the bot is paused):
    the queue raises it to urgent and the advice reaches the traveller through the API.
    If the API is down the advice still goes out, straight through Rasa, with the duty line
    in place of the queue (the agent may already be in the chat: the wording fits both)."""
    advice = await emergency_advice(tracker)
    notice = advice + "\n已通知人工客服优先处理您的会话，请留在这里，客服会在这里直接回复您。"
    if await open_handoff(tracker, CollectingDispatcher(), "emergency", notice=notice):
        return
    channel = tracker.get_latest_input_channel() or "rest"
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
        await emergency_reply(dispatcher, tracker)
        # Whatever form was open stops: the agent takes the details.
        events: List[EventType] = [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            SlotSet("cancel_pending", None),
        ]
        return events + await open_handoff(tracker, dispatcher, "emergency", tracker.get_slot("ticket_no"))
