"""Severity from explicit, readable rules (DESIGN §3 severity table) plus the predicted category.

Each rule has a name, the severity it sets and a regex over normalised (simplified, half-width) text.
A match preceded by a negation in the same clause ("没有受伤", "幸好没被偷", "差点被抢") does not count.
Rules marked `needs_ongoing` fire only when the text also says the harm is still going on now;
rules marked `not_if_past` do not fire when the text places the event in the past ("昨晚", "上个月") and
says nothing of it still going on.
Trainers edit RULES; tests in api/tests/test_classifier.py check that each one fires and that negations hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core import servicekit
from app.services.taxonomy import Category, Severity

_CN_NUM = "零一二两三四五六七八九十百几"
_NEGATION = re.compile(
    r"(没有|没|未|无|不是|并非|不会|不用|幸好|好在|还好|幸亏|避免|防止|以免|担心|怕|万一|\bif\b|\bno\b|\bnot\b|\bnever\b)",
    re.IGNORECASE,
)
# "A near miss" words reach further back: "差点被飞车党抢包".
_NEAR_MISS = re.compile(r"(差点|差一点|险些|几乎)")
_CLAUSE_BREAK = re.compile(r"[，。！？；,.!?;\n]")
# "Still going on / needs help now": turns harm into an emergency. "现在" counts unless it says what can
# no longer be done or that it is over ("现在没法出境", "现在已经没事了").
ONGOING = re.compile(
    r"(现在(?!(没法|无法|不能|已经|才|没事|好了|好多了|恢复|补办))|正在|还在|仍在|仍然|此刻|马上|立刻|赶紧|赶快|"
    r"快来|快叫|快帮|快救|快点|急需|急!|救命|求救|求求|帮帮|救护车|120|急救|(今天|今晚|今天晚上|马上)就要|"
    r"还没(找到|回来|上来|醒)|一直没回来|叫不醒|还要继续|继续(开|走)|没人(来)?(救|管|接)|天(已经)?黑了|"
    r"已经[\d零一二两三四五六七八九十几半]+个?(多)?(小时|钟头)|"
    r"right now|still|urgent|emergency|help)",
    re.IGNORECASE,
)
# The emergency is over: what was urgent is now serious harm already done (major).
RESOLVED = re.compile(
    r"(后来找到|已经找到|找回来了|被[^，,。]{0,4}找到了|已经没事|已经出院|脱离危险|已经脱险|平安回来|平安无事|已经回到酒店|已经解决|"
    r"(?<!没)(?<!未)(?<!不)(?<!没有)(?<!无法)(扑灭|灭掉|灭了|熄灭))"
)
# The event is told as past: "昨晚", "上个月", "当时" ... (unless the text also says it is still going on).
PAST = re.compile(
    r"(昨天|昨晚|昨夜|前天|前几天|上次|上周|上个?星期|上个月|去年|那天|那次|当时|之前|以前|回国后|回来后|事后|后来)"
)


@dataclass(frozen=True)
class Rule:
    name: str
    severity: Severity
    pattern: re.Pattern
    needs_ongoing: bool = False
    only_for: frozenset[Category] | None = None  # None: any category
    unless_before: re.Pattern | None = None  # skip a match whose clause so far matches this
    not_if_past: bool = False  # skip when the text tells of the past and not of anything going on
    unless_text: re.Pattern | None = None  # skip when the text matches this anywhere
    needs_text: re.Pattern | None = None  # fire only when the text matches this somewhere

    def find(self, text: str, category: Category) -> str | None:
        """The first un-negated match, or None."""
        if self.only_for is not None and category not in self.only_for:
            return None
        if self.needs_ongoing and not _ongoing(text):
            return None
        if self.not_if_past and PAST.search(text) and not _ongoing(text):
            return None
        if self.unless_text is not None and self.unless_text.search(text):
            return None
        if self.needs_text is not None and not self.needs_text.search(text):
            return None
        for m in self.pattern.finditer(text):
            if _negated(text, m.start()):
                continue
            if self.unless_before is not None and self.unless_before.search(_clause_before(text, m.start())):
                continue
            return m.group(0)
        return None


def _clause_before(text: str, start: int) -> str:
    return _CLAUSE_BREAK.split(text[max(0, start - 10) : start])[-1]


def _negated(text: str, start: int) -> bool:
    clause = _clause_before(text, start)
    return bool(_NEGATION.search(clause[-5:]) or _NEAR_MISS.search(clause[-9:]))


def _ongoing(text: str) -> bool:
    # Only a negation right before the marker counts ("不是还在"); "司机说没事还在继续开" is still ongoing.
    return any(not _NEGATION.search(text[max(0, m.start() - 2) : m.start()]) for m in ONGOING.finditer(text))


# Put before a verb inside a pattern: "护照没丢" and "药没有丢" are not losses.
_NOT = r"(?<!没)(?<!未)(?<!不)(?<!没有)"
# A gap of up to N characters inside one sentence that denies nothing: "追尾了，幸好没人受伤" is no injury.
_NO_DENIAL = r"(?:(?!没|无|未|不|幸好|好在|还好|幸亏)[^。!?！？]){{0,{}}}"


def _r(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


_PERSON = (
    r"(孩子|小孩|小朋友|儿子|女儿|宝宝|老人|老爷子|老太太|爸|妈|父亲|母亲|爷爷|奶奶|外婆|外公|老公|老婆|丈夫|妻子|"
    r"阿姨|叔叔|大爷|大妈|大叔|姐姐|妹妹|哥哥|弟弟|同伴|同行|朋友|团友|团员|游客|队友|家人|同事|同学|他|她)"
)
_INJURY = (
    r"(受伤|受了伤|骨折|骨裂|流血|出血|缝了?[\d" + _CN_NUM + r"]*针|"
    r"磕破|磕断|撞断|摔断|摔破|摔倒|跌倒|摔了一跤|撞到了?头|砸到|砸中|被电(到|了|击)|触电|脑震荡|住院|"
    r"住了?[\d一二两三四五六七八九十几]+天(的)?院|进了?医院|"
    r"送医|送到医院|送进医院|急诊|溺水|呛水|昏迷|休克|晕倒|injured|injury|hospital)"
)
# "不舒服" alone is as often "uncomfortable" (seats, beds) as "unwell": only with a body part.
# "划伤/刮伤/压伤" of a person; "箱子被划伤" is damaged luggage.
_HURT = r"[摔撞划割咬踢砸烫烧扭蛰蜇刺抓挫压夹碰弄打刮擦灼冻]伤"
_OBJECT_BEFORE = re.compile(
    r"(箱|行李|包|车身|车漆|漆|手机|电脑|相机|屏幕|镜头|家具|外壳|衣服|鞋|桌|椅|地板)[^，,。]{0,3}$"
)
_ILLNESS = (
    r"(食物中毒|中毒|上吐下泻|拉肚子|腹泻|呕吐|发烧|发高烧|高烧|过敏|高原反应|中暑|(身体|肚子|胃)不舒服|食物过敏|"
    r"肚子疼|sick|food poisoning)"
)
_GROUP = (
    r"(几个人|多人|好几个|一家人|全家|全团|大家|团里|[\d" + _CN_NUM + r"]+(个|位|名)?(人|团员|团友|游客)|"
    r"[家全][\d" + _CN_NUM + r"]+口|several|all of us)"
)


def _many_people(text: str) -> str | None:
    """'Many travellers affected': a whole group, or 15 or more people named by number ('十几' is not)."""
    m = re.search(
        r"(全团|整个团|整团|全车|全体(团员|游客)?|所有团员|所有游客|所有人|一车人|一整车"
        r"|whole group|all passengers)",
        text,
        re.IGNORECASE,
    )
    if m and not _negated(text, m.start()):
        return m.group(0)
    for m in re.finditer(
        r"([\d"
        + _CN_NUM
        + r"]+)(多|来)?(个|位|名)?(人|游客|团员|团友|旅客|乘客|客人|客户|顾客|people|travell?ers)",
        text,
        re.IGNORECASE,
    ):
        if _cn_number(m.group(1)) >= 15 and not _negated(text, m.start()):
            return m.group(0)
    return None


def _cn_number(s: str) -> int:
    """Small Chinese/Arabic numbers as people counts: '三十' 30, '十几' 13, '二十六' 26, '40' 40."""
    if s.isdigit():
        return int(s)
    digits = {**servicekit.CHINESE_DIGITS, "几": 3}  # 十几 people: a dozen and some
    if "百" in s:
        return 100
    if "十" in s:
        tens, _, ones = s.partition("十")
        return digits.get(tens, 1) * 10 + digits.get(ones, 0) if tens else 10 + digits.get(ones, 0)
    return digits.get(s[-1:], 0) if s else 0


# --- detention (forced shopping with detention) ---------------------------------------------
_DURATION = r"[\d" + _CN_NUM + r"半]+(个)?(多)?(小时|钟头|钟|hours?)"
# Who is kept: travellers, never a thing ("空调被关了", "门被锁了").
_KEPT = r"(我们|我|大家|游客|团员|团友|旅客|客人|全团|全车人|一车人|一家人|全家|老人|孩子|所有人|人)"
# Where: a shop, factory or showroom of a shopping stop.
_SHOP = (
    r"((?<![酒饭旅客])店|商场|商店|购物点|购物中心|卖场|工厂|厂里|展厅|展馆|展销|门市|商城|市场|"
    r"玉器|珠宝|乳胶|茶叶)"
)
# Leaving: "走" only as going away ("不让我们走近路" is a route, "不让走VIP通道" a lane).
_LEAVE = (
    r"(走(?=$|[了啊呀吧呢啦人，,。!?！？\s])|离开(?!座位|位子|座|队伍|视线)|"
    r"出(来|去|门|店|厂)(?![^，,。!?！？]{0,1}(玩|逛|吃|买|转|拍|活动|散步|走走|看看))|回酒店|回车上|上车走)"
)
_DETENTION = _r(
    # not allowed to leave: "不让我们出来", "谁都不许出去", "别想走", "不放我们走"
    r"((不让|不准|不许|不给|不放|别想|休想|不肯放)" + _KEPT + r"?(都)?" + _LEAVE + "|"
    r"出不去|走不了(?=[^。!?！？]{0,12}(店|买|消费))|不放人|不放我们|软禁|扣留|扣押|"
    # kept inside: "被关在玉器店里", "把我们锁在乳胶店里", "被关了两个小时", "珠宝店关了两个小时"
    r"关在(?!门外|外面|外边|屋外|房间外)|(关|锁|困)(在|进)[^，,。!?！？]{0,6}" + _SHOP + "|"
    r"把"
    + _KEPT
    + r"(都|全)?(关|锁|困|扣|留)(在|进|起来|了|着)(?!门外|外面|外边)|"
    + _KEPT
    + r"(都|也|又|就|全)?被[^，,。!?！？]{0,6}(关|困)(了|着|起来|住)(?!门外|在门外|外面)|"
    r"被(关|锁|困)(了|着)?"
    + _DURATION
    + "|"
    + _SHOP
    + r"(?:(?!空调|灯|电|水|网|门)[^。!?！？]){0,12}(关|锁|困)(了|着)?(我们|大家)?"
    + _DURATION
    + "|"
    r"(关|锁)(着|住)(我们|大家|游客|团员|人)|堵(着|住|在)(门|门口|出口|大门)|"
    # a price for leaving: "不买就不让走", "不消费不准离开", "不买够五千块不让上车", "不买就别想走"
    r"(不买|买不够|不消费|没买|不够[\d一二两三四五六七八九十百千万]+|不买够)[^，,。!?！？]{0,10}"
    r"(不让|不准|不许|别想|休想|不开车|不发车|不放|走不了|不回来接|不让上车)|"
    r"(凑够|凑齐|买够|买到|消费满|完成)[^，,。!?！？]{0,8}(再走|才(让|能|可以|准|放)[^，,。!?！？]{0,3}(走|离开|出))|"
    r"locked (us|me|them|everyone) in|"
    r"(wouldn'?t|would not|did ?n[o']t|refused to) let (us|me|them) (leave|go|out)|"
    r"not allowed to leave|kept (us|me|them) (in|inside)|held (us|me|them) (in|inside|there))"
)
# Doors locked or blocked, for detention only where the text is about buying.
_LOCKED = _r(
    r"(锁(了|上|住)?[^，,。不没]{0,3}门|(车|店|大|铁|卷帘)门锁(了|上|住)|把[^，,。]{0,4}(?<!房)门(锁|关)(?!好)|反锁|不开门|"
    r"拦着不让(?!进)|拦(着|住)(我们|大家|门|出口)|守(着|在)(门口|出口|大门))"
)
_SHOPPING_CONTEXT = _r(
    r"(购物|买东西|不买|没买|消费|推销|业绩|进店|(?<![酒饭旅客])店(里|内|员|家)|商场|售货|珠宝|玉器|乳胶|茶叶|shop)"
)


RULES: tuple[Rule, ...] = (
    # --- urgent: harm still going on now, someone missing, traveller stranded
    Rule(
        "missing_person",
        Severity.URGENT,
        _r(
            r"(走失|走丢|走散|失联|失踪|下落不明|不知去向|missing|"
            + _PERSON
            + r"[^。!?！？]{0,12}"
            + _NOT
            + r"(不见了|找不到(?!地方|房|酒店|车|路)|联系不上|没回来|没上来|没找到|打不通|关机"
            + r"|被[^，,。]{0,3}(卷走|冲走)))"
        ),
        # A lost suitcase "联系不上" its finder is no emergency; a person missing is, whatever else the
        # text says.
        only_for=frozenset(Category) - {Category.BAGGAGE, Category.BILLING, Category.PRIVACY},
    ),
    Rule(
        "stranded",
        Severity.URGENT,
        _r(
            r"(滞留|被困|困在|回不去|回不了家|露宿|流落街头|没地方住|找不到地方住|无处可去|没有地方住|"
            r"不知道(去哪|该去哪|住哪|怎么回去)|(在|睡)(机场|车站|码头|街上|路边)(过夜|睡)|"
            r"没(有)?(人|车)[^，,。]{0,4}(接|送)[^，,。]{0,4}回去|stranded)"
        ),
    ),
    Rule(
        "no_room_now",
        Severity.URGENT,
        _r(r"(没房|没有房|无房|订不到房|满房|没有我们的(订单|预订)|根本没有这家)"),
        needs_ongoing=True,
    ),
    Rule(
        "abandoned_now",
        Severity.URGENT,
        _r(
            r"(扔在|丢在|甩在|放在[^，,。]{0,8}(就走|停车场|路边|半路|服务区)|丢下|扔下|撇下|被遗弃|不管我们|不带我们|就跑了|都跑了)"
        ),
        needs_ongoing=True,
    ),
    Rule(
        "ongoing_danger",
        Severity.URGENT,
        _r(
            r"(着火|起火|失火|火灾|浓烟|爆炸|漏电|溺水|呛水|落水|掉进(水|海|河|湖)|卷走|冲走|坠落|持刀|围住|围攻|拦住|"
            r"打架|殴打|打人|砸|泥石流|塌方|山体滑坡|地震|洪水|雪崩|封路|刹车[^，,。]{0,3}(失灵|坏)|失控|爆胎|侧翻|翻车|"
            r"打瞌睡|疲劳驾驶|酒驾|醉驾|超速|危险|害怕|fire|danger)"
        ),
        needs_ongoing=True,
    ),
    # A fire, an intruder at the door, a crash with people hurt: reported as it happens, the danger is now
    # (no "现在" needed), unless the text tells it as past ("昨晚酒店着火了") or as over ("火已经灭了").
    Rule(
        "fire_now",
        Severity.URGENT,
        _r(r"(着了?火|起火|失火|火灾|烧起来|冒出?火苗|on fire)"),
        not_if_past=True,
    ),
    Rule(
        "intruder_now",
        Severity.URGENT,
        _r(
            r"((陌生|不认识|可疑|醉酒|喝醉|醉汉|醉鬼|男的|男人|有人)[^，,。!?！？]{0,8}"
            r"(一直|不停|反复|还在|正在|又在|又来|拼命|使劲|老是|一晚上)[^，,。!?！？]{0,8}"
            r"(敲|砸|撬|踹|踢|拍|推|拧|扭|拽)[^，,。!?！？]{0,6}门|"
            r"(一直|不停|还在|正在)[^，,。!?！？]{0,3}(跟踪|尾随|跟着|盯着)(我|我们|孩子|女儿|她)|"
            r"(被|有)[^，,。!?！？]{0,6}(跟踪|尾随)[^。!?！？]{0,10}(一直|还在|现在|正在))"
        ),
        not_if_past=True,
        # Staff knocking (cleaning, selling) is an annoyance, not a threat.
        unless_text=_r(r"(推销|打扫|保洁|清洁|查房|送餐|外卖|服务员|前台)"),
    ),
    Rule(
        "accident_injured",
        Severity.URGENT,
        _r(
            r"((车祸|撞车|追尾|翻车|侧翻|相撞|出了?事故|交通事故|被车撞|撞上了)"
            + _NO_DENIAL.format(12)
            + r"(受伤|受了伤|伤了|伤者|流血|出血|昏迷|被困|卡在|压在)|"
            r"(受伤|流血|出血)" + _NO_DENIAL.format(8) + r"(车祸|撞车|追尾|翻车|侧翻|相撞|事故))"
        ),
        not_if_past=True,
    ),
    Rule(
        "unconscious",
        Severity.URGENT,
        _r(r"(叫不醒|昏迷|不省人事|没有意识|没意识|昏过去|没有呼吸|没了呼吸|心脏骤停|休克|unconscious)"),
    ),
    Rule(
        "medical_emergency",
        Severity.URGENT,
        _r(
            r"(呼吸困难|喘不上气|喘不过气|抽搐|心脏|胸口疼|胸痛|发紫|倒下|倒在地上|大出血|流血不止|"
            + _HURT
            + "|"
            + _INJURY[1:-1]
            + "|"
            + _ILLNESS[1:-1]
            + ")"
        ),
        needs_ongoing=True,
    ),
    Rule(
        "medicine_needed_now",
        Severity.URGENT,
        _r(
            r"((药|胰岛素|medicine)[^。!?！？]{0,12}" + _NOT + r"(丢|遗失|不见|找不到|没了|没到)|"
            r"(丢|遗失|不见|找不到|没到)[^。!?！？]{0,12}(药|胰岛素|medicine))"
        ),
        needs_ongoing=True,
    ),
    Rule(
        "detained_now",
        Severity.URGENT,
        _r(r"(困在|关在|扣留|扣押|软禁|不让走|不让离开|不放人|出不去|不开门|锁上|关上门|把门关)"),
        needs_ongoing=True,
    ),
    # --- major: serious harm already done, many affected, media or legal threats
    Rule("injury", Severity.MAJOR, _r(_INJURY)),
    Rule("injury", Severity.MAJOR, _r(_HURT), unless_before=_OBJECT_BEFORE),
    Rule(
        "theft",
        Severity.MAJOR,
        _r(
            r"(被偷|被盗|偷走|偷了|被扒|被小偷|小偷偷|被扒手|被抢|抢劫|抢走|不翼而飞|被人拿走|回来就没了|"
            r"抢[^，,。!?！？]{0,2}(手机|包|钱|相机)|盗刷|被[^，,。!?！？]{0,3}顺走|"
            r"(保险箱|保险柜|行李箱|箱子|包里|房间里)[^。!?！？]{0,8}(现金|钱|首饰|项链|手表|金|戒指)"
            r"[^。!?！？]{0,4}(少了|不见了|没了)|stolen|robbed|theft)"
        ),
    ),
    Rule(
        "lost_passport",
        Severity.MAJOR,
        _r(
            r"((护照|证件|身份证|签证|港澳通行证|passport)[^。!?！？]{0,10}"
            + _NOT
            + r"(丢|遗失|不见|找不到|被偷|被抢|lost)|"
            r"(丢|遗失|不见|找不到|lost)[^。!?！？]{0,8}(护照|证件|passport)|"
            # withheld: guides collect passports for check-in; keeping them is the harm
            r"(护照|证件|身份证|passport)[^。!?！？]{0,10}(收走|扣|拿走|没收|押)[^。!?！？]{0,8}"
            r"(不还|没还|不给|不肯还|不退|还不回来)|"
            r"(扣|收走|拿走|没收|押)(着|了|下)?[^。!?！？]{0,6}(护照|证件|身份证|passport)[^。!?！？]{0,16}"
            r"(不还|没还|不给|不肯还|还不回来))"
        ),
    ),
    Rule(
        "lost_medicine",
        Severity.MAJOR,
        _r(
            r"((药|胰岛素|medicine)[^。!?！？]{0,12}" + _NOT + r"(丢|遗失|不见|找不到)|"
            r"(丢|遗失|不见|找不到)[^。!?！？]{0,12}(药|胰岛素|medicine)|"
            # taken away and not given back (a fee or a pharmacy is no medicine)
            r"(药|胰岛素|medicine)(?!费|钱|店|房)[^。!?！？]{0,8}(被扣|扣下|没收|收走|拿走)[^。!?！？]{0,8}"
            r"(不还|没还|不给|还不回来|没拿回来))"
        ),
    ),
    Rule("food_poisoning", Severity.MAJOR, _r(r"(食物中毒|集体中毒|food poisoning)")),
    Rule(
        "several_ill",
        Severity.MAJOR,
        _r(_GROUP + r"[^。!?！？]{0,16}" + _ILLNESS + "|" + _ILLNESS + r"[^。!?！？]{0,12}" + _GROUP),
    ),
    # Forced shopping with detention (DESIGN §3 major): people kept somewhere they may not leave.
    Rule("detention", Severity.MAJOR, _DETENTION),
    # Locked doors and people in the way are detention only where the text is about buying
    # ("把大巴车门锁了，逼着我们在店里买东西"); otherwise they are as often being locked out
    # ("房间门反锁了", "酒店半夜不开门") or refused entry ("保安拦着不让我们进").
    Rule("detention", Severity.MAJOR, _LOCKED, needs_text=_SHOPPING_CONTEXT),
    # Staff or others laying hands on a traveller: harm done, whether or not a wound is named.
    Rule(
        "assault",
        Severity.MAJOR,
        _r(
            r"(动手打|动手推|出手打|殴打|打伤|推搡|拳打脚踢|扇[^，,。!?！？]{0,3}耳光|挨打|被打了|"
            r"挨了?[\d一两几]?(拳|巴掌|耳光)|被[^，,。!?！？]{0,4}(踹|踢)了|"
            r"(hit|punched|slapped|pushed|assaulted) (me|us|him|her|my))"
        ),
    ),
    Rule(
        "cancelled_without_plan",
        Severity.MAJOR,
        _r(
            r"(航班|飞机|班机|机票|火车|高铁|动车|轮渡|游轮|flight)[^。!?！？]{0,10}(取消|停飞|停运|停航|cancel)"
            r"[^。!?！？]*(没有|没|不给|无|没人|不)[^，,。]{0,6}(安排|方案|解决|改签|住宿|说法|答复|处理|管)"
        ),
    ),
    Rule(
        "data_leak",
        Severity.MAJOR,
        # "被黑了" alone is slang for "ripped off", "被卖" can be a tour group sold on, "leak" a roof.
        _r(
            r"(泄露|泄漏|外泄|(信息|资料|号码|电话|数据)[^，,。]{0,4}(被卖|倒卖)|倒卖[^，,。]{0,4}(信息|资料)|"
            r"把[^，,。]{0,4}(信息|资料|号码|电话|数据)[^，,。]{0,3}(卖|给了?(别人|第三方|推销))|"
            r"冒用|盗用|(网站|系统|账号|账户|数据库)被黑|被黑客|公开贴|公开的(网盘|群)|谁都能(看|下载)|"
            r"data leak|leaked)"
        ),
    ),
    Rule(
        "media_or_legal_threat",
        Severity.MAJOR,
        _r(
            r"(曝光|媒体|记者|电视台|报社|热搜|起诉|律师|法院|打官司|诉讼|仲裁|12315|12345|消协|消费者协会|旅游局|文旅局|"
            r"质监|市场监管|工商局|民航局|报警(?!器)|lawyer|sue|court|police|"
            r"(向|到|找|去|给)[^，,。!?！？]{0,4}(文旅|旅游)(主管)?(部门|厅|部)|黑猫投诉|(打|去|向|到)315(?!\d)|"
            r"(要|会|准备|就)[^，,。]{0,4}(发到网上|发微博|发抖音|发小红书|网上曝光))"
        ),
    ),
)


# "What endangers people or property is safety whatever the setting" (DESIGN §3): these rules decide
# the category over the text categoriser ("酒店浴室滑倒骨折" is safety, not accommodation); a data leak
# is privacy.
CATEGORY_RULES: dict[str, Category] = {
    "missing_person": Category.SAFETY,
    "fire_now": Category.SAFETY,
    "intruder_now": Category.SAFETY,
    "accident_injured": Category.SAFETY,
    "unconscious": Category.SAFETY,
    "medical_emergency": Category.SAFETY,
    "injury": Category.SAFETY,
    "theft": Category.SAFETY,
    "food_poisoning": Category.SAFETY,
    "several_ill": Category.SAFETY,
    "data_leak": Category.PRIVACY,
}


# A supplier's failing goes to the supplier's category (DESIGN §3): the room's heating, hot water,
# bedding or plumbing failing is accommodation, wherever the stay is (a farmhouse, a cabin), which
# the text categoriser can miss ("雪乡的农家院没有暖气，冻了一晚上" read as transport). Only over
# categories a lodging complaint is mistaken for; harm rules above win (safety).
_LODGING = (
    r"(酒店|宾馆|民宿|客栈|旅馆|旅店|农家院|农家乐|农家|招待所|度假村|木屋|住处|住的地方|房间|客房|房里|屋里|屋子|"
    r"标间|大床房|套房|住宿|入住|炕|hotel|room)"
)
_ROOM_FACILITY = (
    r"(暖气|供暖|地暖|取暖|热水|空调|冷气|电热毯|被子|被褥|床单|枕头|床垫|马桶|卫生间|淋浴|花洒|洗澡|浴室|"
    r"门锁|隔音|停水|停电|断电|漏水|发霉|霉味|潮湿|蟑螂|臭虫|wifi|heating|hot water)"
)
# A vehicle named keeps its category ("大巴上没有暖气"); a charge for the facility is billing.
_NOT_LODGING_FAULT = _r(
    r"(大巴|巴士|车上|车里|车内|车厢|火车|高铁|动车|飞机|航班|机舱|轮船|船上|游轮|缆车|司机|bus|flight|train|"
    r"多收|加收|乱收|另收|额外收|收费|收了|补交|押金|[暖气水电空调网]费)"
)
CATEGORY_ONLY_RULES: tuple[tuple[Rule, Category], ...] = (
    (
        Rule(
            "lodging_facility",
            Severity.GENERAL,
            _r(
                _LODGING
                + r"[^。!?！？]{0,16}"
                + _ROOM_FACILITY
                + "|"
                + _ROOM_FACILITY
                + r"[^。!?！？]{0,16}"
                + _LODGING
            ),
            # Not over `other`: an unsure categoriser's answer is left to the agents.
            only_for=frozenset({Category.TRANSPORT, Category.ITINERARY, Category.MEALS, Category.BAGGAGE}),
            unless_text=_NOT_LODGING_FAULT,
        ),
        Category.ACCOMMODATION,
    ),
)


def category_override(text: str, category: Category | str) -> tuple[Category, str] | None:
    """The category a fired rule imposes, with the reason, or None."""
    category = Category(category)
    for rule in RULES:
        target = CATEGORY_RULES.get(rule.name)
        if target is None or target == category:
            continue
        hit = rule.find(text, target)
        if hit is not None:
            return target, f"category_rule: {target.value} ({rule.name}: {hit})"
    if category in set(CATEGORY_RULES.values()):
        return None  # a harm or data rule's category stays
    for rule, target in CATEGORY_ONLY_RULES:
        hit = rule.find(text, category)
        if hit is not None and target != category:
            return target, f"category_rule: {target.value} ({rule.name}: {hit})"
    return None


_PERSON_HARM = {"injury", "several_ill", "food_poisoning", "detention", "assault"}


def assess(text: str, category: Category | str) -> tuple[Severity, list[str]]:
    """Severity and the reasons (rule name: matched words) for normalised `text` of `category`."""
    category = Category(category)
    reasons: list[str] = []
    fired: set[str] = set()
    severity = Severity.GENERAL
    for rule in RULES:
        hit = rule.find(text, category)
        if hit is None:
            continue
        fired.add(rule.name)
        reasons.append(f"{rule.name}: {hit}")
        if rule.severity == Severity.URGENT or severity == Severity.GENERAL:
            severity = rule.severity
    hit = _many_people(text)
    if hit is not None:
        reasons.append(f"many_travellers: {hit}")
        if severity == Severity.GENERAL:
            severity = Severity.MAJOR
    # Harm to a person in a safety complaint that is still going on is an emergency.
    if category == Category.SAFETY and severity == Severity.MAJOR and fired & _PERSON_HARM and _ongoing(text):
        reasons.append("safety_ongoing")
        severity = Severity.URGENT
    if severity == Severity.URGENT:
        m = RESOLVED.search(text)
        if m:
            reasons.append(f"resolved_since: {m.group(0)}")
            severity = Severity.MAJOR
    return severity, reasons
