"""The emergency lexicon and the clause splitter, as library code."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.components.clauses import question_clauses, stripped
from bot.components.emergency import Lexicon
from tests.services import ROOT

LEXICON = Lexicon(yaml.safe_load((ROOT / "data" / "emergency" / "lexicon.yml").read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "text, kind, abroad",
    [
        ("我妈在雪山摔倒了腿流血了，导游不在，急！", "medical", False),
        ("急!!!孩子走丢了，快帮我找人工", "missing", False),
        ("我们的大巴出车祸了，有人受伤", "accident", False),
        ("酒店房间着火了", "fire", False),
        ("有陌生人一直敲我们酒店房门", "crime", False),
        ("在曼谷机场被困了，航班取消了没人管我们", "stranded", True),
        ("在东京把护照弄丢了，明天就要回国", "documents", True),
        ("我爸在西安中暑晕倒了，叫不醒", "medical", False),
        ("老人吃年糕噎住了，脸都紫了", "medical", False),
        ("我们几个在雪山里迷路了，天快黑了手机也快没电", "lost", False),  # lost themselves
        ("我一个朋友在山里迷路了，天快黑了", "missing", False),  # someone else is lost
        ("我妈在雪山迷路了，电话也联系不上", "missing", False),
        ("我朋友在海边游泳 被冲走了", "water", False),
        ("泥石流把路冲垮了，有车被冲走", "disaster", False),  # a flood or a landslide stays a disaster
        ("在曼谷 我钱包和护照刚被偷了", "documents", True),
        ("有陌生人在砸我们酒店的门", "crime", False),
        ("在清迈被警察带走了，说我们签证有问题", "crime", True),
        ("台风把酒店窗户吹倒了，我们被困在房间里", "disaster", False),
        ("一个陌生男人从夜市一直跟着我们到民宿，现在在外面踹房门", "crime", False),
        # an insurance question beside an injury happening now stays an emergency
        ("我爸摔伤了动不了，保险管不管？快派人来", "medical", False),
        ("我妈刚才摔断了腿，意外险能不能报，怎么办", "medical", False),
        ("旅游车没等我们就开走了，我们还在服务区", "stranded", False),
        ("夜市出来被几个人拦住，逼我们掏钱", "crime", False),
        ("有人掉湖里了 快来人", "water", False),
        ("人还在水里！！", "water", False),
        ("投诉！司机把我们十几个人扔在服务区自己开走了，现在走不了", "stranded", False),
        ("在开罗街头被一伙人围着要钱，不给不让走", "crime", True),
    ],
)
def test_emergencies_are_recognised_with_their_kind(text, kind, abroad):
    found = LEXICON.read(text)
    assert kind in found["kinds"]
    assert found["abroad"] is abroad


@pytest.mark.parametrize(
    "text",
    [
        "导游态度很差，一直骂人",
        "酒店房间有蟑螂，要求换房",
        "行程少了一个景点，要求退钱",
        "飞机延误了三个小时，也没人通知",
        "上周在酒店钱包被偷了，想投诉酒店管理",  # theft in the past: a complaint
        "如果护照在国外丢了怎么办",  # what if: a policy question
        "我的身份证丢了还能坐飞机吗",  # at home: not an emergency
        "台风天航班取消了，机票能退吗",  # a typhoon question is a policy question
        "大巴空调坏了，热得差点中暑，要求赔偿",  # nearly: an ordinary complaint
        "导游带我们绕路，害我们迷路半天，耽误了行程",  # lost time, not lost in the wild
        "司机把我们扔在服务区开走了，半小时后才回来接",  # the wait is over: a complaint
        "手机掉进海里了，还能找回来吗",  # a phone in the sea is no drowning
        "有人把我的手机碰掉进水里了，要求赔偿",
        "酒店的落水管一直漏水，要求换房",
        "游泳馆的水太凉了，想退票",
        "上周浮潜的时候钱包被偷了，能赔吗",  # over: a complaint
        # what the insurance covers: a policy question, not an injury now
        "徒步的时候摔伤了，这种保险能不能报",
        "骨折住院的医疗费，旅游险包不包",
        "在景区被狗咬了，打疫苗的钱意外险管不管",
        "滑雪摔断手臂能走保险吗",
        "大巴几点从酒店门口开走",  # when the coach leaves: the itinerary
        "明天旅游车什么时候开走",
        "购物店里一群店员围着我们不买不让走",  # forced shopping with detention: a major complaint
    ],
)
def test_ordinary_complaints_and_questions_are_not_emergencies(text):
    assert LEXICON.read(text)["kinds"] == []


@pytest.mark.parametrize(
    "text, clauses",
    [
        ("能开发票吗？另外行李限重多少", ["能开发票吗？", "行李限重多少"]),
        ("能开发票吗，行李限重多少", ["能开发票吗", "行李限重多少"]),
        ("导游一直骂人。我要投诉，另外行李限重多少？", ["行李限重多少？"]),
        ("查一下我的行程", []),
        ("退团要扣多少钱", []),
        # a comma or a run-on 吗 between two questions; the joiner is not part of a clause
        ("航班延误了怎么办，保险能赔吗", ["航班延误了怎么办", "保险能赔吗"]),
        ("能开专票吗行李超重怎么收费", ["能开专票吗", "行李超重怎么收费"]),
        ("我想问下发票能开吗还有托运行李能带几件", ["我想问下发票能开吗", "托运行李能带几件"]),
        ("明天几点集合？酒店是哪家", ["明天几点集合？", "酒店是哪家"]),
        # 哪 closing a clause asks too
        ("第三天住哪另外签证要自己办吗", ["第三天住哪", "签证要自己办吗"]),
        ("酒店在哪，几点出发", ["酒店在哪", "几点出发"]),
        # a comma inside one question does not split it
        ("航班延误了，怎么办", []),
        ("如果我取消了，多久能退款", []),
        ("你好，请问行李限重多少", []),
        ("导游态度很差，一直骂人，怎么投诉", []),
        ("说好的温泉不去了，导游也不管", []),  # 不 inside a clause is no question
        # a wish to complain after a question is not part of it: the question is answered, the
        # complaint starts (actions/policy.py)
        ("行李限重多少，我们要投诉领队", ["行李限重多少"]),
        ("导游一直骂人，我要投诉", []),  # no question at all
    ],
)
def test_question_clauses(text, clauses):
    assert question_clauses(text) == clauses


@pytest.mark.parametrize(
    "raw, clauses",
    [
        ("退款要多久 签证要自己办吗", ["退款要多久", "签证要自己办吗"]),
        ("我订单的导游是谁 另外退团要扣钱吗", ["我订单的导游是谁", "退团要扣钱吗"]),
        (
            "请问一下 签证多久能出签 改期要加钱不",
            ["请问一下签证多久能出签", "改期要加钱不"],
        ),  # 不 closing a clause asks
        ("我 要 退 款 要 多 久", []),  # spaces everywhere, one question
        ("check in 几点", []),
    ],
)
def test_a_typed_space_between_two_questions_splits_them(raw, clauses):
    from rasa.shared.nlu.training_data.message import Message

    from bot.components.normaliser import SPACE_BREAKS, ChineseNormaliser

    message = Message(data={"text": raw})
    ChineseNormaliser().process([message])
    assert question_clauses(message.get("text"), message.get(SPACE_BREAKS) or ()) == clauses


@pytest.mark.parametrize(
    "text, words",
    [
        ("查行程 TR20260001 尾号5678", "查行程"),
        ("TR20260004 尾号5678 我现在退团要扣多少", "我现在退团要扣多少"),
        ("TR20260001", ""),  # only a value: DIET's "inform" stands
        ("5678", ""),
        ("我叫王芳", ""),  # no value: nothing to strip
    ],
)
def test_the_words_around_the_values(text, words):
    assert stripped(text) == words


def _clause_message(text: str, intent: str, confidence: float = 0.6):
    from rasa.shared.nlu.training_data.message import Message

    return Message(
        data={
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
        }
    )


@pytest.mark.parametrize(
    "text, clause_intent, leads",
    [
        # the booking number is there for the trip: the itinerary flow leads
        ("TR20260004 尾号5678 第三天住哪 另外签证要自己办吗", "query_itinerary", "query_itinerary"),
        # no booking number: the policy question stays first
        ("第三天住哪 另外签证要自己办吗", "query_itinerary", "policy"),
        # no itinerary clause: nothing changes
        ("TR20260004 尾号5678 能开发票吗 另外签证要自己办吗", "policy", "policy"),
    ],
)
def test_numbers_for_the_trip_make_the_itinerary_lead(text, clause_intent, leads):
    from bot.components.clauses import PARENT, ClauseCollector

    original = _clause_message(text, "policy", 0.55)
    first = _clause_message("第三天住哪", clause_intent, 0.99)
    first.set(PARENT, 0)
    second = _clause_message("签证要自己办吗", "policy", 1.0)
    second.set(PARENT, 0)
    (out,) = ClauseCollector().process([original, first, second])
    assert out.get("intent")["name"] == leads
    assert out.get("intent_ranking")[0]["name"] == leads
    assert [c["intent"] for c in out.get("clauses")] == [clause_intent, "policy"]


@pytest.mark.parametrize(
    "key_confidence, key",
    [
        (0.97, "policy/baggage"),  # "行李限重多少": a topic of its own, a second answer
        (0.50, "policy/baggage"),
        (0.20, None),  # "要准备啥材料" beside a visa question: more about the same topic
    ],
)
def test_a_clause_gets_an_answer_key_only_when_the_selector_is_sure(key_confidence, key):
    from bot.components.clauses import PARENT, ClauseCollector

    original = _clause_message("去日本要办签证吗?要准备啥材料", "policy", 1.0)
    clause = _clause_message("要准备啥材料", "policy", 1.0)
    clause.set(PARENT, 0)
    clause.set(
        "response_selector",
        {"policy": {"response": {"intent_response_key": "policy/baggage", "confidence": key_confidence}}},
    )
    (out,) = ClauseCollector().process([original, clause])
    assert out.get("clauses")[0]["response_key"] == key


def test_the_policy_answer_is_selected_after_every_component_that_can_change_the_intent():
    """A "what if" the emergency detector hands back to `policy` ("如果在国外护照丢了怎么办")
    needs its answer key: the selector runs after every component that sets the intent."""

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yml").read_text(encoding="utf-8"))
    names = [step["name"].rsplit(".", 1)[-1] for step in config["pipeline"]]
    selector = names.index("RetrievalIntentResponseSelector")
    for changes_the_intent in (
        "IntentCueGuard",
        "FallbackClassifier",
        "BlendedIntentClassifier",
        "UnknownInputGuard",
        "EmergencyDetector",
    ):
        assert names.index(changes_the_intent) < selector, changes_the_intent
    assert names.index("ClauseCollector") > selector  # collects the clauses' answer keys
