"""Read one traveller message for everything it carries (pure, no tracker).

Travellers do not answer the question asked: "导游态度很差，一直骂人，订单号TR20260001",
"查行程 TR20260001 尾号5678", "11月26日 鼓浪屿" while the booking number is asked,
or a whole complaint with name and phone in one message. `read()` finds every value
of a known shape and what is left over, so the action that fills slots
(`actions/reader.py`) can put each value where it belongs, whatever was asked.

Only explicit expressions count: a date needs a month/day, a weekday or a relative
day; a place needs "在…"; a request needs the traveller to say they want it
("要求退款", "希望你们道歉"). A lone word such as "晚上" or "酒店" in a story is not
taken as the time or place of the complaint: the form asks, offering the guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Tuple

from servicekit import QUESTION

from actions.utils.parsing import (
    FULLWIDTH,
    LABELLED_LAST4,
    canonical,
    parse_booking_ref,
    parse_phone,
    parse_ticket_no,
    to_simplified,
)

_NUM = r"[0-9一二两三四五六七八九十〇零]"
_DATE = (
    rf"(?:{_NUM}{{1,4}}年)?{_NUM}{{1,2}}月(?:{_NUM}{{1,3}}[日号]?|底|初|中旬|上旬|下旬)?"
    rf"|(?<![0-9第]){_NUM}{{1,2}}[日号](?![0-9元块游])"  # "5日游" is a five-day tour
    r"|大前天|前天|昨天|昨晚|今天|今晚|今早|昨早|前晚|当天|那天|上周[一二三四五六日天末]?|这周[一二三四五六日天末]"
    # A vague time is still a time ("就这几天", "就是这周", "前几天", "上个礼拜", "这个月初").
    r"|(?:这|那|前|最近)(?:几|两)天|(?:这|上|本)个?(?:周|星期|礼拜)[一二三四五六日天末]?|(?:这|上|本)个?月(?:初|底|中)?"
    r"|(?:周|星期|礼拜)[一二三四五六日天]"
    rf"|第{_NUM}{{1,2}}天|(?:出发|入住|到达|回程|返程)(?:当天|第{_NUM}{{1,2}}天|那天)"
)
_TIME = (
    rf"(?:凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|半夜|夜里|深夜)?{_NUM}{{1,2}}(?:[点:：]{_NUM}{{0,2}}分?|点半|时)"
    r"|凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|半夜|夜里|深夜|早餐时|午饭时|晚饭时"
)
WHEN = re.compile(rf"(?:{_DATE})(?:\s*(?:的)?\s*(?:{_TIME}))?|(?:{_TIME})")
_STRONG_WHEN = re.compile(_DATE)  # a time of day alone ("晚上") is not enough to place an event
# "在大理古城的酒店里被偷了" -> 大理古城的酒店; stops before what happened there.
WHERE = re.compile(
    r"(?:在|于|到了|去了|位于)(?P<place>[^，,。.！!？?；;\s]{2,10}?)"
    # ... or before who did it ("在丽江导游逼我们购物" -> 丽江).
    r"(?=的时候|时候|时|期间|里面|里|内|上|中|外|旁边|门口|附近|被|把|让|给|跟|和|有|没|不|就|又|都|也|一直|突然|直接|遇到|发生|看到|出现|"
    r"导游|领队|司机|地接|我们|我|他们|大家|"
    r"[，,。.！!？?；;\s]|$)"
)
# Where something said or done over a line happened ("在电话里", "微信上", "网上"): a place.
_CHANNEL = re.compile(r"^(?:电话|微信|网上|线上|网站|短信|热线|客服热线|群)$")
_CHANNEL_SIDE = re.compile(r"里|上|中")
_NOT_PLACE = re.compile(
    r"^(这|那|我|你|他|她|我们|你们|他们|哪|什么|一起|一直|路上|中间|这里|那里|现场|当时|此|其)"
    # A quantity or a duration ("迟到了一个小时", "等到了半天", "到了两点"): no place.
    r"|^(?:[0-9一二两三四五六七八九十百半几]+|好几|十几|几十)(?:个|天|小时|钟头|分钟|分|秒|点|次|趟|晚|夜|周|星期|月|年|块|元|人|位)"
)

# "要求退款", "希望你们道歉", "我要你们赔偿", "给个说法": the traveller states what they want.
_REQUEST_MARKER = (
    r"(?:要求|希望|请求|我要|我们要|我想要|我们想要|想要|必须|务必|请你们|请尽快|麻烦你们|你们得|你们要"
    r"|应该|需要你们|让你们|给我们|给我)"
)
_REQUEST_WORD = (
    r"(?:退款|退钱|退费|退还|退差价|退.{0,6}费用?|退.{0,8}钱|钱.{0,4}退|退.{0,2}(?:回来|给)|赔偿|补偿|赔钱|赔.{0,6}钱|赔付"
    r"|道.?歉|赔礼|说法|交代|解释"
    # "希望以后改进", "希望加强导游培训": a wish that the company does better is a request too.
    r"|整改|处理|解决|改进|改善|提高|提升|加强|培训|换房|换车|换酒店|换导游|换一?[间个家辆]|调换|重新安排|补上|追责|处罚|开除)"
)
# The request ends where the traveller goes on to who they are ("…必须道歉 我姓赵").
_CONTACT_NEXT = r"\s*(?:我姓|我叫|姓名|联系人|联系方式|电话|手机)"
# "我要投诉…吃坏肚子了要求赔偿" (no comma): "我要投诉" is the wish to complain, not the request; the
# request starts at "要求" (else the whole story went into the request and the story was asked again).
REQUEST_CLAUSE = re.compile(
    rf"{_REQUEST_MARKER}(?!投诉|举报|反映|反馈)[^，,。.！!？?；;\n]{{0,30}}?{_REQUEST_WORD}(?:(?!{_CONTACT_NEXT})[^，,。.！!？?；;\n]){{0,30}}"
)
# A clause that is a demand and nothing else, without "要求/希望" ("要赔偿", "给个说法", "道歉",
# "必须全额退款！"): in a story the same words come with who did what ("导游也不道歉").
_DEMAND = re.compile(
    r"(?:我|我们)?(?:就|只|还|必须|一定|坚决)?(?:要|得|需要)?(?:你们)?(?:给|给我|给我们)?(?:个|一个)?"
    rf"(?:全额|全部|马上|立即|立刻|尽快)?{_REQUEST_WORD}(?:损失|费用|团费|差价|一下)?(?:吧|啊|呀)?[!！~～]*"
)
_CLAUSE = re.compile(r"[^\s，,。.！!？?；;、\n]+[!！~～]*")


def _demand(text: str) -> Optional[str]:
    """The clauses that are only a demand ("…阳朔到桂林的路上 TR20260007 要赔偿 我姓赵" -> "要赔偿"),
    the first with those right after it ("退款 道歉")."""
    found = [m for m in _CLAUSE.finditer(text) if _DEMAND.fullmatch(m.group(0))]
    if not found:
        return None
    last = found[0]
    for match in found[1:]:
        following = _CLAUSE.search(text, last.end())
        if not following or following.start() != match.start():
            break
        last = match
    return text[found[0].start() : last.end()].strip()


# Checked in this order: the first that matches is the label.
REQUEST_WORDS: Tuple[Tuple[str, re.Pattern], ...] = (
    (
        "refund",
        re.compile(
            # "退布达拉宫门票钱", "退我们一半的钱": money back, whatever else is asked beside it.
            r"退款|退钱|退费|退团费|退差价|退还|退.{0,6}费|退.{0,8}钱|钱.{0,4}退|退.{0,2}(?:回来|给)"
            r"|refund|money back",
            re.I,
        ),
    ),
    ("compensation", re.compile(r"赔偿|补偿|赔钱|赔.{0,6}钱|赔付|compensat", re.I)),
    ("apology", re.compile(r"道.?歉|赔礼|说法|交代|sorry|apolog", re.I)),
    (
        "fix",
        re.compile(
            r"整改|解决|处理好|换房|换车|换酒店|换导游|换一?[间个家辆]|调换|重新安排|改进|改善|提高|提升|加强|培训|补上|fix",
            re.I,
        ),
    ),
)

_NAME_CHARS = r"[\u4e00-\u9fff·]{2,5}?"
_NAME_END = r"(?=$|[，,。.！!？?；;\s、]|电话|手机|联系|号码|订单|尾号|\d)"
NAME = re.compile(
    rf"(?:我叫|我的名字是|我的名字叫|名字是|名字叫|姓名是|姓名[:：]?|联系人是?[:：]?|叫我|本人|称呼我)\s*(?P<name>{_NAME_CHARS}){_NAME_END}"
)
# "我是王芳" only with a surname: "我是来投诉的" is not a name.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# "我姓赵", "免贵姓李" (the surname alone is what they give): not "导游姓王", nor "姓王的导游".
_SURNAME_PREFIX = r"(?:免贵|我|本人|鄙人)姓"
SURNAME_ONLY = re.compile(
    rf"{_SURNAME_PREFIX}(?P<name>欧阳|司马|诸葛|上官|东方|[{_SURNAMES}])(?=$|[，,。.！!？?；;\s、]|电话|手机|联系|号码|订单|尾号|\d)"
)
NAME_AFTER_WOSHI = re.compile(rf"我是(?P<name>[{_SURNAMES}][\u4e00-\u9fff]{{1,2}}){_NAME_END}")
BARE_NAME = re.compile(rf"^[{_SURNAMES}][\u4e00-\u9fff]{{1,2}}$")
_NOT_NAME = re.compile(r"(先生|女士|小姐)$|^(来|想|要|在|说|不|没|被|第|姓|游客|客人|团员|家长|妈妈|爸爸)")

# Cues for the last four digits of a phone, in Chinese or English ("尾号5678", "后四位数字是5678",
# "phone last 4 digits 6781", "my phone ends with 6781", "ending in 6781", "tail number 6781").
_LAST4_CUE = (
    r"(?:尾号|尾数|(?:最后|末尾|后|末|尾)(?:四|4)(?:位|码|个)(?:数字|数|号码|号|码)?"
    r"|last\s*(?:4|four)(?:\s*digits?)?(?:\s*of\s*(?:my\s*)?(?:phone|mobile|cell)(?:\s*(?:number|no\.?))?)?"
    r"|(?:phone|mobile|cell|number)\s*(?:number|no\.?)?\s*(?:ends?|ending)(?:\s*(?:with|in))?"
    r"|(?:ends?|ending)\s*(?:with|in)|tail\s*(?:number|digits?|no\.?)"
    # "手机后面是2233", "电话号码最后几位6789", "手机号结尾是1234": the end of the phone named.
    r"|(?:手机|电话)(?:号码?)?的?(?:后面|后边|后头|末尾|结尾|最后|后几位)(?:几位|几个)?(?:数字|数|号码|号)?)"
)
_LAST4_MARKED = re.compile(
    _LAST4_CUE
    + r"\s*(?:是|为|is|are|[:：=])?\s*(?P<d>[0-9一二两三四五六七八九零〇幺]{4})(?![0-9年月日号点时分元块])",
    re.I,
)
_BOOKING_SPAN = re.compile(
    r"(?:我的|我们的)?(?:订单号?码?|预订号|单号|booking(?:\s*(?:no|number|ref))?)?\s*(?:是|为|[:：])?\s*TR[\s\-]*\d(?:[\s\-]*\d){7}",
    re.I,
)
# "描述：领队把我们扔在机场…": the label of a form they fill in themselves, not their words.
_STORY_LABEL = re.compile(
    r"(?:^|(?<=[\s，,。.；;]))(?:问题|投诉)?(?:描述|事情经过|经过|具体情况|详细情况|投诉内容)\s*[:：]"
)
_TICKET_SPAN = re.compile(r"(?:投诉)?(?:单号|编号)?\s*(?:是|为|[:：])?\s*C\d{11,14}", re.I)
_PHONE_SPAN = re.compile(
    r"(?:我的)?(?:联系电话|手机号?码?|电话号?码?|联系方式|号码|phone|tel|mobile)?\s*(?:是|为|[:：])?\s*(?:\+?86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d){8}"
)
_LAST4_SPAN = re.compile(
    r"(?:(?:my\s*)?(?:phone|mobile|cell)(?:\s*(?:number|no\.?))?(?:'s)?\s*)?(?:手机|电话)?(?:号码?)?"
    + _LAST4_MARKED.pattern,
    re.I,
)
# "TR20260001 5678", "C20261120001，4321": four digits right after the number they verify are its
# phone digits, as travellers often write them; not a year, an amount or a time ("2026年", "5678元").
_LAST4_BESIDE = re.compile(
    r"(?:TR[\s\-]*\d(?:[\s\-]*\d){7}|C\d{11,14})[\s,，、;；/]+(?P<d>\d{4})(?![\d年月日号点时分:：元块人个次天楼层房室]|\.\d)",
    re.I,
)
# "5678 TR20260001", "8901 TR20260013 第一天酒店": the digits right before the number too; not
# a room, a flight or a date ("房间1203 TR…", "MU5876 TR…").
_LAST4_BEFORE = re.compile(
    r"(?<![0-9A-Za-z.:：\-/房间室号楼层第¥￥$])(?P<d>\d{4})[\s,，、;；/]+(?:TR[\s\-]*\d(?:[\s\-]*\d){7}|C\d{11,14})",
    re.I,
)
_LEFTOVER = re.compile(r"^[\s，,。.！!？?；;：:、]+|[\s，,。.！!？?；;：:、]+$")
_QUESTION = QUESTION

# Words that say "I want to complain" without saying what happened.
_GENERIC = re.compile(
    r"投诉|我要|我想|想要|你们|客服|一下|请问|怎么|如何|可以|吗|呢|啊|了|的|帮我|提交|反映|问题|[\s\W\d]"
    # Hurry ("先说好我很急，马上要登机"): how to be served, not what happened.
    r"|先说好|我?(?:很|好|特别|非常|比较)?(?:急|赶时间)|没(?:什么|啥)?时间|时间(?:不多|很?紧|有限)"
    r"|马上要?(?:登机|上飞机|起飞|出发|走|开会)|快点|抓紧"
)


YES_NO = re.compile(
    r"^(?:(?:好的?|可以|同意|行|嗯+|是的?|对的?|确认|确定|没问题|ok|okay|yes|不同意|不行|不可以|不要|不用|不是|不对|拒绝)[\s，,。.!！~～]*)+$",
    re.I,
)
CONSENT_NO = re.compile(r"不同意|不行|不可以|不愿意|拒绝|不想给|不给")
_YES_FIRST = re.compile(r"^\s*(?:同意|可以|好的?|行|没问题|ok|okay|yes|嗯+|是的|确认)", re.I)


# "不记得了", "忘了", "记不清楚", "想不起来": the traveller cannot say (an answer, not a cancel).
DONT_KNOW = re.compile(
    r"^(?:我|这个|具体|真的|实在|已经|都|也|时间|地点|和|几号|哪天|在哪|是|的)*"
    r"(?:不记得|记不得|记不清|记不太清|不太记得|忘了|忘记了|给忘了|想不起来|"
    r"不清楚|不太清楚|说不清|说不上来|不知道|没注意|没留意|没印象)"
    r"[了啦的楚呢呀啊]*(?:时间|地点|具体|几号|哪天|在哪|当时|那天)?[了啦的呢呀啊]*[\s，,。.!！~～]*$"
)
# At "确定放弃这次投诉吗？": words that say go on ("不，继续吧", "还是要投诉") or drop ("放弃吧").
_GO_ON = re.compile(
    r"(?<![不别没])(?<!不想)(?<!不要)(?<!不用)(?:继续|接着)|还是要?投诉|要投诉|不放弃|别放弃|不要放弃|不取消|别取消|不要取消"
    r"|保留|留着"
)
_GIVE_UP = re.compile(
    r"(?<![不别])放弃|不投诉了|不想投诉|不要投诉|不继续|别继续|不想继续|不用继续|不要了|算了|取消吧|撤销"
)
_BARE_NO = re.compile(r"^\s*(?:不(?![用要想必需])|没有|别|否|no\b|nope)", re.I)
_BARE_YES = re.compile(r"^\s*(?:确定|确认|是的?|对的?|好的?|嗯+|可以|行|ok|okay|yes)[\s，,。.!！~～]*$", re.I)


def drop_reply(text: str) -> Optional[str]:
    """ "keep", "drop" or None: what the words answer to "确定放弃这次投诉吗？", whatever the NLU
    read ("不了，还是继续投诉" reads as `cancel`, "不，继续吧" as nothing sure)."""
    simple = to_simplified(text or "").strip()
    if not simple or simple.startswith("/"):
        return None  # a button: its intent decides
    if _GO_ON.search(simple):
        return "keep"
    if _GIVE_UP.search(simple):
        return "drop"
    if _BARE_NO.match(simple):
        return "keep"  # no to "give it up?"
    if _BARE_YES.match(simple):
        return "drop"
    return None


# Cancelling the trip itself ("这个团我不想去了", "直接退团吧", "取消订单"), not the complaint.
_TRIP_CANCEL = re.compile(
    r"退团(?!费|的钱|款)|退掉.{0,4}团|不想去了|不去了|去不了了|不跟团了"
    r"|取消(?![了过])[^，,。]{0,4}(?:团|行程|订单|预订|旅行|旅游)|cancel.{0,12}(?:trip|tour|booking|order)"
    r"|(?:把|将)[^，,。]{0,4}(?:团|行程|订单|预订)[^，,。]{0,2}(?:退|取消)(?:掉|了)?",
    re.I,
)
# What may stand beside it and still say nothing of what happened ("算了", "那就直接…吧").
_CANCEL_FILLER = re.compile(
    r"算了|好吧|那就|那|直接|就|吧|了|啊|呀|我们|我|也|还是|这个|整个|团|帮我|给我|麻烦|要|想|请|行|嗯|"
    r"\b(?:i|want|would|like|to|please|my|the|just)\b|[\s，,。.！!？?；;、~～]",
    re.I,
)


def trip_cancellation_only(text: str) -> bool:
    """The message asks to cancel the trip and says nothing else ("算了，这个团我也不想去了，直接退团吧"):
    no story of what happened ("导游取消了行程"), which a complaint would keep."""
    simple = to_simplified(text or "")
    if not _TRIP_CANCEL.search(simple):
        return False
    return not _CANCEL_FILLER.sub("", _TRIP_CANCEL.sub("", simple))


# "我没有订单号", "订单号找不到了", "是朋友帮我报的名": the traveller cannot give the booking number.
_NO_BOOKING = re.compile(
    r"(?:没有|没|不知道|找不到|查不到|忘了|忘记了|不记得|记不得|记不住|不清楚)(?:我的|我们的)?"
    r"(?:订单号?|订单编号|单号|预订号|booking)"
    r"|(?:订单号|订单编号|单号|预订号)(?:我)?(?:忘了|忘记了|找不到|不知道|不记得|丢了|没有|没了)"
    r"|(?:朋友|别人|家人|家里人|亲戚|同事|老公|老婆|孩子|儿子|女儿|爸|妈|公司|单位|领导)"
    r"(?:帮|替|给)(?:我|我们)?(?:报|订|买|预订)"
    r"|(?:公司|单位)(?:统一)?(?:报|订)的|不是我(?:本人)?(?:报|订|买)的",
    re.I,
)


def says_no_booking(text: str) -> bool:
    return bool(_NO_BOOKING.search(to_simplified(text or "")))


def without_no_booking(text: str) -> str:
    """`text` without its clauses that say the booking number is missing (they are no story)."""
    clauses = re.split(r"(?<=[，,。.！!？?；;\n])", text or "")
    kept = "".join(c for c in clauses if not says_no_booking(c))
    return re.sub(r"^[\s，,。.、；;]+|[\s，,。.、；;]+$", "", kept)


def consent_in(text: str, intent: Optional[str]) -> Optional[bool]:
    """Yes or no to the personal-data question, if the message says either."""
    if CONSENT_NO.search(text or ""):
        return False
    if "同意" in (text or "") or _YES_FIRST.match(text or "") or intent == "affirm":
        return True
    if intent == "deny":
        return False
    return None


def says_nothing(text: str) -> bool:
    """Only words that say "I want to complain" (or hurry): "我要投诉", "投诉一下，我很急"."""
    return not _GENERIC.sub("", text or "")


def is_descriptive(text: str) -> bool:
    """True when a message already says what happened, so it need not be asked."""
    return len(_GENERIC.sub("", text or "")) >= 6


def is_question(text: str) -> bool:
    return bool(_QUESTION.search(to_simplified(text or "")))


def request_code(text: Optional[str]) -> Optional[str]:
    for code, pattern in REQUEST_WORDS:
        if pattern.search(to_simplified(text or "")):
            return code
    return None


@dataclass
class Reading:
    text: str
    booking_ref: Optional[str] = None
    ticket_no: Optional[str] = None
    phone: Optional[str] = None
    # Only when marked ("尾号5678"), from a whole phone number, or right after the booking or
    # ticket number ("TR20260001 5678").
    phone_last4: Optional[str] = None
    name: Optional[str] = None
    when: Optional[str] = None  # the traveller's own words for the date/time
    where: Optional[str] = None  # a place said with "在…" that reads as a place
    # A place only guessed: "在…" that ran on ("芭提雅钱包" -> "芭提雅"), a known place name or a
    # venue the story names ("三亚", "珠宝店"). Offered to confirm, never taken for granted.
    place_guess: Optional[str] = None
    request_text: Optional[str] = None  # what they ask for, in their words
    rest: str = ""  # the message without the values of fixed shape

    when_where_clause: Optional[str] = None  # "10月4号九寨沟喜来登": a clause that is only a date and a place

    @property
    def when_where(self) -> Optional[str]:
        if self.when_where_clause:
            return self.when_where_clause
        parts = [p for p in (self.when, self.where or self.place_guess) if p]
        return "，".join(parts) or None

    @property
    def when_where_said(self) -> Optional[str]:
        """Said, not guessed: a date-and-place clause, or a date with "在…"."""
        if self.when_where_clause:
            return self.when_where_clause
        return "，".join((self.when, self.where)) if self.when and self.where else None

    @property
    def request_label(self) -> Optional[str]:
        return request_code(self.request_text) if self.request_text else None


# "时间是11月25号晚上", "地点：鼓浪屿的酒店": the name of the field the traveller answers, not its value.
_FIELD_LABEL = re.compile(
    r"(?:^|(?<=[\s，,。.；;]))(?:时间和?地点|时间、地点|时间|日期|地点|地方)\s*(?:是|为|[:：])\s*"
)


def without_field_label(text: str) -> str:
    """`text` without "时间是"/"地点：" before the values (and the commas left around them)."""
    return re.sub(r"^[\s，,。.；;]+|[\s，,。.；;]+$", "", _FIELD_LABEL.sub("", text))


def _when(text: str) -> Optional[str]:
    spans = [m for m in WHEN.finditer(text) if m.group(0).strip()]
    strong = [m for m in spans if _STRONG_WHEN.search(m.group(0))]
    if not strong:
        return None
    # The first explicit date with what directly follows it ("11月26日晚上8点").
    return strong[0].group(0).strip()


# How a place's name ends ("大理古城", "丽江的酒店", "珠宝店", "步行街"): what "在…" caught is a place.
_PLACE_END = re.compile(
    r"(?:市|省|县|区|镇|乡|村|岛|湾|滩|街|路|巷|寺|庙|山|峰|湖|海|江|河|溪|谷|洞|池|泉|瀑布|店|馆|厅|宫|塔|桥|城|楼"
    r"|宾馆|民宿|客栈|旅馆|机场|站|码头|港|景区|景点|公园|乐园|古镇|广场|餐厅|食堂|商场|市场|超市|商城|中心"
    r"|大堂|前台|房间|门口|车|船|飞机|航班|厕所|洗手间|停车场|服务区|度假村|营地|寨|园|场|所)$"
)
# What travellers lose or have taken, which "在芭提雅钱包被偷了" runs on into.
_BELONGING = re.compile(
    r"(?:钱包|手机|护照|证件|身份证|签证|行李箱?|箱子|背包|书包|包包?|相机|现金|钱|东西|首饰|项链|戒指|手表|电脑"
    r"|平板|耳机|充电宝|孩子|小孩|老人|父母|老公|老婆|朋友|同事|家人)$"
)
# A venue the story says they were taken to ("带我们进了个珠宝店", "去了一家购物店"): a guess only.
_VENUE = re.compile(
    r"(?:进|去|到|在|拉到|带到)了?(?:一?[个家间座处])?"
    r"(?P<venue>(?![的了个家间])[\u4e00-\u9fff]{0,4}?(?:店|酒店|宾馆|民宿|客栈|餐厅|饭馆|商场|景区|景点|机场|码头|车站|市场|工厂|厂))"
)
_KNOWN_PLACES_FILE = Path(__file__).resolve().parents[2] / "data" / "dict" / "travel.txt"


@lru_cache(maxsize=1)
def known_places() -> Tuple[str, ...]:
    """The place names (tag `ns`) of the dictionary trainers edit (data/dict/), longest first."""
    try:
        lines = _KNOWN_PLACES_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ()
    entries = (line.split() for line in lines)
    names = {e[0] for e in entries if len(e) >= 3 and e[2] == "ns" and len(e[0]) >= 2}
    return tuple(sorted(names, key=len, reverse=True))


def _known_place_in(text: str) -> Optional[str]:
    found = [(text.find(name), -len(name), name) for name in known_places() if name in text]
    return min(found)[2] if found else None


def plausible_place(place: str) -> bool:
    """A name that reads as a place: one the dictionary knows, or one ending like a place."""
    return place in known_places() or bool(_PLACE_END.search(place))


def _where(text: str) -> Tuple[Optional[str], bool]:
    """The place "在…" names and whether it surely is one; "在芭提雅钱包被偷了" ran on into what
    was stolen: "芭提雅", offered to confirm rather than taken. A place said surely wins over a
    guess said before it ("导游在车上抽烟 12月6号在去大理的路上": the road, not "车上抽烟")."""
    guess: Optional[str] = None
    for match in WHERE.finditer(text):
        place = match.group("place").strip()
        if _CHANNEL.match(place):
            side = _CHANNEL_SIDE.match(text, match.end())
            return place + (side.group(0) if side else ""), True
        if _NOT_PLACE.match(place) or WHEN.fullmatch(place) or re.search(r"\d{4,}", place):
            continue
        if plausible_place(place):
            # "在去大理的路上": the way there is said with its "上".
            side = "上" if place.endswith("路") and text.startswith("上", match.end()) else ""
            return place + side, True
        if guess is None:
            guess = _guessed_place(place)
    if guess is not None:
        return guess, False
    # "在大理的餐厅吃坏肚子了" (nothing after the place that WHERE stops at): the shortest run after
    # "在" that ends like a place is the place said.
    for match in _AT_PLACE.finditer(text):
        place = match.group("place")
        if not _NOT_PLACE.match(place) and not re.search(r"\d{4,}", place):
            return place, True
    return None, False


def _guessed_place(place: str) -> str:
    """What "在…" caught that is no sure place, made shorter: the town before what was stolen
    ("芭提雅钱包" -> "芭提雅"), the vehicle before what was done in it ("车上抽烟" -> "车上")."""
    known = next((name for name in known_places() if place.startswith(name)), None)
    if known:
        return known
    trimmed = _BELONGING.sub("", place)
    if len(trimmed) >= 2 and trimmed != place:
        return trimmed
    inside = re.match(r"^(?P<p>[\u4e00-\u9fff]{1,6}?)(?P<side>[上里内])(?=[\u4e00-\u9fff])", place)
    if inside and _PLACE_END.search(inside.group("p")):
        return inside.group("p") + inside.group("side")
    return place


_AT_PLACE = re.compile(
    r"(?<![现正实存还总好自])在(?P<place>(?:(?![了着过时把被让给吃喝住玩买坐等说])[\u4e00-\u9fff]){1,8}?"
    + _PLACE_END.pattern[:-1]
    + r")"
)


def _place_guess(text: str) -> Optional[str]:
    """A place a story names without "在…" ("三亚…导游带我们进了个珠宝店" -> "三亚珠宝店"): a guess."""
    known = _known_place_in(text)
    venue = next(
        (m.group("venue") for m in _VENUE.finditer(text) if not _NOT_PLACE.match(m.group("venue"))), None
    )
    if known and venue and known not in venue:
        return known + venue
    return venue or known


# "唐亮 13912345678", "韩梅，手机139…": a surname-led name right before the phone number.
NAME_BEFORE_PHONE = re.compile(
    rf"(?:^|(?<=[\s，,。.：:；;!！?？、0-9A-Za-z]))(?P<name>[{_SURNAMES}][\u4e00-\u9fff]{{1,2}})\s*[，,、]?\s*(?:手机号?|电话|phone)?\s*[:：]?\s*(?:\+?86)?1[3-9]\d{{9}}",
    re.I,
)


def _name(text: str) -> Optional[str]:
    for pattern in (NAME, NAME_AFTER_WOSHI, NAME_BEFORE_PHONE, SURNAME_ONLY):
        match = pattern.search(text)
        if match and not _NOT_NAME.search(match.group("name")):
            if pattern is SURNAME_ONLY:
                return _full_name_after(text, match) or match.group("name")
            return match.group("name")
    return None


def _full_name_after(text: str, surname: re.Match) -> Optional[str]:
    """ "我姓唐 叫唐亮", "免贵姓李，名字叫李雪", "我姓王 王芳": the full name said after the surname."""
    family = surname.group("name")
    after = re.match(
        rf"[\s，,、。.]*(?:(?:我?叫|名字[是叫]?|全名[是叫]?|姓名[是:：]?)\s*)?(?P<name>{family}[\u4e00-\u9fff]{{1,2}}){_NAME_END}",
        text[surname.end() :],
    )
    return after.group("name") if after and not _NOT_NAME.search(after.group("name")) else None


_NAME_PREFIX = (
    r"(?:我叫|我的名字[是叫]|名字[是叫]|姓名是?[:：]?|联系人是?[:：]?|叫我|本人|称呼我|我是"
    rf"|{_SURNAME_PREFIX}[{_SURNAMES}]?[\s，,、]*(?:我?叫|名字[是叫]?|全名[是叫]?)?|{_SURNAME_PREFIX})\s*"
)


def _cut(text: str, spans: List[Tuple[int, int]]) -> str:
    """The text with the spans replaced by a comma (so the pieces around stay apart)."""
    out, position = [], 0
    for start, end in sorted(spans):
        if start < position:
            start = position
        if start >= end:
            continue
        # "投诉 订单TR… 鼓浪屿…" -> "投诉，鼓浪屿…", "一次说完：TR…" -> "一次说完：": no stray
        # spaces or doubled marks where a value was cut out (the story is stored in these words).
        head = text[position:start].rstrip()
        out.append(head)
        if not head or not re.search(r"[，,。.！!？?；;：:、]$", head):
            out.append("，")
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    out.append(text[position:])
    return re.sub(r"(?:\s*[，,]\s*){2,}", "，", "".join(out))


def read(text: Optional[str]) -> Reading:
    original = (text or "").strip()
    half = original.translate(FULLWIDTH)
    simple = to_simplified(half)
    reading = Reading(text=original)
    reading.booking_ref = parse_booking_ref(half)
    reading.ticket_no = parse_ticket_no(half)
    reading.phone = parse_phone(half)
    marked = _LAST4_MARKED.search(simple)
    beside = None
    if marked:
        reading.phone_last4 = canonical(marked.group("d"))
    elif reading.phone:
        reading.phone_last4 = reading.phone[-4:]
    elif beside := _LAST4_BESIDE.search(simple) or _LAST4_BEFORE.search(simple):
        reading.phone_last4 = beside.group("d")
    elif beside := LABELLED_LAST4.search(simple):  # "TR20260014 手机5678"
        reading.phone_last4 = beside.group("d")
    # What is left once the numbers (and their labels) are taken out: the story, a place...
    # Spans are found in the simplified text and cut from the traveller's own characters
    # (one to one unless OpenCC changed the length).
    own = original if len(original) == len(simple) else simple
    cuts = [
        m.span()
        for span in (_BOOKING_SPAN, _TICKET_SPAN, _PHONE_SPAN, _LAST4_SPAN, _STORY_LABEL)
        for m in span.finditer(simple)
    ]
    if beside and reading.phone_last4 == beside.group("d"):
        cuts.append(beside.span() if beside.re is LABELLED_LAST4 else beside.span("d"))
    reading.name = _name(simple)
    if reading.name:
        cuts += [m.span() for m in re.finditer(f"(?:{_NAME_PREFIX})?" + re.escape(reading.name), simple)]
    rest = _cut(own, cuts)
    previous = None
    while previous != rest:
        previous, rest = rest, _LEFTOVER.sub("", rest)
    reading.rest = rest
    simple_rest = to_simplified(rest)
    clause = REQUEST_CLAUSE.search(rest) or REQUEST_CLAUSE.search(simple_rest)
    if clause:
        reading.request_text = clause.group(0).strip()
    elif (demand := _demand(simple_rest)) and is_descriptive(simple_rest.replace(demand, "", 1)):
        # A demand beside a story; a short message that is only a request ("不要退款了，赔偿损失")
        # is read whole where it answers. In their own characters where the lengths agree.
        at = simple_rest.find(demand)
        reading.request_text = rest[at : at + len(demand)] if len(rest) == len(simple_rest) else demand
    # "11月27号 土楼 希望以后改进": the request said right after a time and place is no part of it.
    dated = rest.replace(reading.request_text, "，", 1) if reading.request_text else rest
    reading.when_where_clause = next(
        (
            c.strip()
            for c in re.split(r"[，,。.！!？?；;：:\n]", dated)
            if _when(to_simplified(c)) and looks_like_when_where(c)
        ),
        None,
    )
    reading.when = _when(simple_rest)
    place, sure = _where(simple_rest)
    if sure and place in known_places():
        # "在三亚跟团…导游带我们进了个珠宝店": the town said, the venue in the story.
        venue = _place_guess(simple_rest[simple_rest.find(place) + len(place) :])
        if venue and venue not in known_places():
            place, sure = place + venue, False
    reading.where = place if sure else None
    reading.place_guess = None if sure else place or _place_guess(simple_rest)
    return reading


# A yes-word before a typed copy of the offered guess ("是的，10月16号", "对 昨天中午").
_YES_LEAD = re.compile(
    r"^\s*(?:(?:是的|对的|没错|正确|确认|嗯+|对|好的?|是|yes|ok|okay)[\s，,。.!！~～、:：]+|是的|对的|没错)(?P<rest>\S.*)$",
    re.I | re.S,
)
_PUNCT = re.compile(r"[\s，,。.！!？?、：:；;~～]")
_FILLER = re.compile(r"(?:就是|是|的|吧|呀|啊|呢|没错|对|发生)*")


def confirmed_guess(text: str, description: Optional[str]) -> Optional[str]:
    """What "是的，<the offered guess>" typed as words confirms: the guess the story gave, whole,
    when the words are part of it; else the words without the yes-word. None when the message
    does not start with a yes-word followed by a time or place."""
    lead = _YES_LEAD.match(to_simplified(text or ""))
    if not lead:
        return None
    words = (text or "").strip()[-len(lead.group("rest").strip()) :].strip()
    if YES_NO.match(words) or read(words).request_text:
        return None
    guess = read(description or "").when_where
    said, offered = _PUNCT.sub("", to_simplified(words)), _PUNCT.sub("", to_simplified(guess or ""))
    if offered and said and (said in offered or offered in said):
        # "对，就是昨天中午": the guess with filler words is still the guess.
        extra = said.replace(offered, "", 1)
        return guess if said in offered or _FILLER.fullmatch(extra) else words
    return words if looks_like_when_where(words) else None


# "不是 地点是去大理的路上", "不对，是在大巴车上", "不是的 是12月7号": a no to the time and place
# offered, then the right one (not "不是很清楚"); what follows the match is the new value.
NO_THEN_VALUE = re.compile(
    r"^\s*(?:不是的?|不对|错了|都不是)(?:[\s，,。.！!~～]+(?:而是|应该是|其实是|是)?|而是|应该是|其实是)\s*"
)


# Words that tell what happened, not where or when.
_STORY = re.compile(
    r"了|着|过|被|把|很|太|都|没|不|是|有|发现|看到|遇到|碰到|出现|骂|打|抽|吵|坏|差|脏|等|说|让|要|想|给|偷|丢|吃|住|收|退|赔"
)


# "就是这周", "大概前几天": words that only hedge the time ("是" alone is a story word).
_HEDGE = re.compile(r"(?:就|应该|大概|大约|差不多|好像|可能)是?|(?:^|(?<=[\s，,]))是")


def looks_like_when_where(text: str) -> bool:
    """A short answer that is mostly a date and a place ("11月26日 鼓浪屿", "昨天晚上在酒店");
    a story that mentions "那天" is not."""
    simple = to_simplified(text or "")
    if len(simple) > 40 or not (_when(simple) or WHERE.search(simple)):
        return False
    left = re.sub(r"[\W\d_]", "", WHEN.sub("", _HEDGE.sub("", simple)))
    return not _STORY.search(left) and len(left) <= 16
