"""Two questions in one message get two answers.

"能开发票吗？另外行李限重多少" is one message but two policy questions. DIET gives one
intent per message, so `ClauseSplitter` (after the normaliser) adds each question
clause of a longer message as an extra message to the batch the pipeline
processes: the same tokenizer, featurizers, DIET and ResponseSelector classify
them in the same pass. `ClauseCollector` (last) takes them out again and attaches
their predictions to the message as `clauses` (intent, confidence, retrieval
key), which the action server reads (actions/questions.py). The message's own
intent, entities and the dialogue are unchanged.

Chosen over DIET's multi-intent (`a+b` intents): that needs every combination
in the training data and a rule for each; clauses reuse the single intents the
model already knows, for any pair.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Sequence, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.normaliser import SPACE_BREAKS
from servicekit import QUESTION, WANTS_TO_COMPLAIN

RESPONSE_SELECTOR = "response_selector"
PARENT = "clause_parent"
STRIPPED = "clause_stripped"
CLAUSES = "clauses"
# Booking, ticket and phone numbers, "尾号5678": values, not what the traveller wants.
_VALUES = re.compile(
    r"(?:订单号?|单号|投诉单号?|工单)?\s*(?:是|:|：)?\s*(?:TR\s*[\d\s-]{8,12}|C\d{11,14})"
    r"|(?:手机|电话)?(?:号码?)?(?:尾号|后四位|后4位|末四位)?\s*(?:是|:|：)?\s*(?<!\d)(?:1[3-9]\d{9}|\d{4})(?!\d)",
    re.I,
)
_BOOKING = re.compile(r"TR\s*\d(?:[\s-]*\d){7}", re.I)
ITINERARY = "query_itinerary"
# When the numbers make DIET say "inform", the words around them decide (at this confidence).
MIN_STRIPPED_CONFIDENCE = 0.5
VALUE_INTENTS = {"inform", "nlu_fallback"}
# A clause whose answer the ResponseSelector cannot tell apart ("去日本要办签证吗？要准备啥材料":
# insurance 0.20, visa 0.18) names no topic of its own: it asks more about the message's topic,
# so it gets no answer key (no second, unasked answer). Clauses that name one score 0.85-1.0.
MIN_CLAUSE_KEY_CONFIDENCE = 0.5
MAX_CLAUSES = 4
# Sentence ends and the words that join a second question ("另外", "顺便问一下").
_JOINERS = (
    r"(?:另外|还有就是|还有|顺便问一下|顺便问下|顺便问问|顺便|再问一下|再问下|还想问一下|还想问|以及|此外"
    r"|and also)"
)
_SPLIT = re.compile(r"[?？!！。；;\n]+|" + _JOINERS + r"|(?<=[吗呢么])[,，]")
_QUESTION = QUESTION
_JOINER_AT_END = re.compile(_JOINERS + "$")
# Softer boundaries: a comma, a space the traveller typed between two Chinese words (the
# normaliser drops it and records where: SPACE_BREAKS), a 吗 run into the next words
# ("能开专票吗行李超重怎么收费"). They split only between two questions: "航班延误了，怎么办"
# stays one clause, "航班延误了怎么办，保险能赔吗" becomes two.
_SOFT = re.compile(r"[,，、]+|(?<=吗)(?=[\u4e00-\u9fff])")
# "我想问下退团的事 另外发票怎么开": a question announced, not asked, is a question clause too
# (the topic plus 的事/的问题/的规定…, after or before the asking verb). "请问一下" alone names none.
# DIET reads the announcement by its topic word ("退团的事": request_cancellation 0.91, "关于改期的
# 事想问一下": out_of_scope), so the clause is classified as the plain question about its topic
# ("退团有什么规定": policy/refund), and reported with the traveller's words.
_TOPIC_END = r"的?(?:事情?|问题|情况|规定|政策|流程|手续|说法)"
ASKS_ABOUT = re.compile(
    r"(?:问|咨询|了解|请教)(?:一下|下|问)?(?:关于|有关)?(?P<topic>[\u4e00-\u9fff\w]{1,10}?)"
    + _TOPIC_END
    + r"|(?:关于|有关)?(?P<topic_first>[\u4e00-\u9fff\w]{1,10}?)的(?:事情?|问题|情况|规定|政策|流程|手续)"
    r"(?:想|要)?(?:问|咨询|了解|请教)"
)
READ_AS = "clause_read_as"
ANNOUNCED_KEY = "announced"
ANNOUNCED = "{}有什么规定"
# "我想退掉日本团 但是签证已经办好了 签证费能退吗": a wish of its own (to cancel, to complain, to
# change) before a question is not the question's context, as "航班延误了，怎么办" is: it stays apart,
# so the question is read alone. Wishing to ask ("我想问下…", "我想知道…") is the question itself.
_WISH = re.compile(
    r"^(?:你好|您好)?[,，]?(?:我|我们|本人|咱们?)?(?:就是|现在|还是)?"
    r"(?:想|要|想要|打算|准备|决定|申请|帮我|麻烦)(?!问|咨询|了解|知道|请教|确认一下|多久|多少|几)"
)
MIN_WISH_CHARS = 4
# ... but only a question that names its own topic ("签证费能退吗"); "我想退团，怎么办", "我想改期
# 要加钱吗" ask about the wish itself and stay one clause with it.
_OWN_TOPIC_CHARS = 5
_ABOUT_THE_WISH = re.compile(
    r"^(?:那|那么|请问|就是)?(?:要|能|可以|会|需要|得|该|怎么|怎样|如何|多少|多久|几|还|是不是|是否|有没有"
    r"|可不可以|能不能|会不会|要不要|大概|一般|具体|然后|这样|这个|那个|的话)"
)


def _chars(text: str) -> int:
    return len(re.sub(r"\W", "", text))


def _asks(text: str) -> bool:
    return bool(_QUESTION.search(text) or ASKS_ABOUT.search(text))


def _is_wish(text: str) -> bool:
    """ "我想退掉日本团", "帮我取消订单": a request of its own that asks nothing."""
    words = text.strip(" ,，、")
    return _chars(words) >= MIN_WISH_CHARS and bool(_WISH.search(words)) and not _asks(words)


def _asks_on_its_own(part: str) -> bool:
    words = part.strip(" ,，、")
    return _asks(words) and _chars(words) >= _OWN_TOPIC_CHARS and not _ABOUT_THE_WISH.search(words)


def _cut(text: str, ends: Sequence[int]) -> List[str]:
    pieces, start = [], 0
    for end in sorted(set(ends)):
        if 0 < end < len(text):
            pieces.append(text[start:end])
            start = end
    pieces.append(text[start:])
    return pieces


def _soft_split(piece: str, breaks: Sequence[int]) -> List[str]:
    """`piece` cut at its soft boundaries, each part that asks nothing joined to the next
    (the last one to the one before): the parts that remain all ask something."""
    ends = [m.end() for m in _SOFT.finditer(piece)] + list(breaks)
    merged: List[str] = []
    pending = ""
    for part in _cut(piece, ends):
        if merged and not pending and WANTS_TO_COMPLAIN.search(part) and not _asks(part):
            # "投诉流程是啥，我要投诉导游": the wish to complain is not part of the question before it.
            merged.append(part)
            continue
        if _is_wish(pending) and _asks_on_its_own(part):
            merged.append(pending)  # "我想退团 签证费能退吗": the wish apart, the question alone
            pending = ""
        pending += part
        if _asks(pending) and _chars(pending) >= 3:
            merged.append(pending)
            pending = ""
    if pending:
        # Numbers after the last question ("… 签证费能退吗 TR20260004 5678") are for the flow, not
        # part of the question: they would make it read as "inform".
        if merged and _VALUES.sub("", _BOOKING.sub("", pending)).strip(" ,，、"):
            merged[-1] += pending
        else:
            merged.append(pending)
    return merged


def question_clauses(text: str, breaks: Sequence[int] = ()) -> List[str]:
    """The question clauses of a message with more than one clause, in order. `breaks`:
    offsets in `text` where the traveller had typed a space (ChineseNormaliser)."""
    pieces: List[str] = []
    start = 0
    for hard in _cut(text, [m.end() for m in _SPLIT.finditer(text)]):
        inside = [b - start for b in breaks if start < b < start + len(hard)]
        pieces.extend(_soft_split(hard, inside))
        start += len(hard)
    pieces = [_JOINER_AT_END.sub("", p.strip(" ,，、")).strip(" ,，、") for p in pieces]
    pieces = [p for p in pieces if _chars(p) >= 3]
    if len(pieces) < 2:
        return []
    return [p for p in pieces if _asks(p)][:MAX_CLAUSES]


def announced_question(clause: str) -> str:
    """ "我想问下退团的事" -> "退团有什么规定": the question a clause announces without asking it;
    empty when it asks one itself ("我想问下发票能开吗") or announces none."""
    if _QUESTION.search(clause):
        return ""
    match = ASKS_ABOUT.search(clause)
    topic = match and (match.group("topic") or match.group("topic_first"))
    return ANNOUNCED.format(topic) if topic and _chars(topic) >= 2 else ""


def stripped(text: str) -> str:
    """The words of a message that also carries numbers ("查行程 TR20260001 尾号5678" -> "查行程");
    empty when it carries none or nothing else."""
    if not _VALUES.search(text):
        return ""
    words = _VALUES.sub(" ", text)
    words = re.sub(r"^[\s,，。.;；:：、]+|[\s,，。;；:：、]+$", "", re.sub(r"\s+", " ", words))
    return words if len(re.sub(r"\W", "", words)) >= 2 else ""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class ClauseSplitter(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ClauseSplitter":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # training examples are single intents already

    def process(self, messages: List[Message]) -> List[Message]:
        extra: List[Message] = []
        for index, message in enumerate(messages):
            text = message.get(TEXT) or ""
            for clause in question_clauses(text, message.get(SPACE_BREAKS) or ()):
                read_as = announced_question(clause)
                if read_as:
                    extra.append(Message(data={TEXT: read_as, PARENT: index, READ_AS: clause}))
                else:
                    extra.append(Message(data={TEXT: clause, PARENT: index}))
            words = stripped(text)
            if words:
                extra.append(Message(data={TEXT: words, PARENT: index, STRIPPED: True}))
        return messages + extra


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ClauseCollector(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ClauseCollector":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        originals = [m for m in messages if m.get(PARENT) is None]
        found: Dict[int, List[Dict[str, Any]]] = {}
        for message in messages:
            parent = message.get(PARENT)
            if parent is None:
                continue
            if message.get(STRIPPED):
                self._words_decide(originals[parent], message)
                continue
            intent = message.get(INTENT) or {}
            selector = (message.get("response_selector") or {}).get(intent.get("name") or "", {})
            answer = selector.get("response") or {}
            sure = float(answer.get("confidence") or 0.0) >= MIN_CLAUSE_KEY_CONFIDENCE
            # "announced": the clause asks by announcing ("我想问下退团的事"), with no question word.
            announced = {ANNOUNCED_KEY: True} if message.get(READ_AS) else {}
            found.setdefault(parent, []).append(
                {
                    **announced,
                    "text": message.get(READ_AS) or message.get(TEXT),
                    "intent": intent.get("name"),
                    "confidence": round(float(intent.get("confidence") or 0.0), 4),
                    "response_key": answer.get("intent_response_key") if sure else None,
                }
            )
        for index, clauses in found.items():
            originals[index].set(CLAUSES, clauses, add_to_output=True)
            self._numbers_for_the_trip(originals[index], clauses)
        return originals

    @staticmethod
    def _numbers_for_the_trip(message: Message, clauses: List[Dict[str, Any]]) -> None:
        """ "TR… 尾号… 第三天住哪 另外签证要自己办吗": DIET reads the whole as the policy question,
        but the booking number is there for the trip. The itinerary flow leads (it verifies and
        answers), and the policy clause is answered beside it, like any second question."""
        intent = message.get(INTENT) or {}
        if intent.get("name") != "policy" or not _BOOKING.search(message.get(TEXT) or ""):
            return
        trip = [c for c in clauses if c["intent"] == ITINERARY and c["confidence"] >= MIN_STRIPPED_CONFIDENCE]
        if not trip:
            return
        lead = {"name": ITINERARY, "confidence": trip[0]["confidence"]}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != ITINERARY]
        message.set(INTENT, lead, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [lead] + ranking, add_to_output=True)

    @staticmethod
    def _words_decide(message: Message, words: Message) -> None:
        """ "查行程 TR20260001 尾号5678" is an itinerary question that carries values, not "inform"."""
        intent = message.get(INTENT) or {}
        other = words.get(INTENT) or {}
        if (
            intent.get("name") in VALUE_INTENTS
            and other.get("name") not in VALUE_INTENTS | {None}
            and (other.get("confidence") or 0) >= MIN_STRIPPED_CONFIDENCE
        ):
            message.set(INTENT, other, add_to_output=True)
            message.set(INTENT_RANKING_KEY, words.get(INTENT_RANKING_KEY), add_to_output=True)
            if words.get(RESPONSE_SELECTOR):
                message.set(RESPONSE_SELECTOR, words.get(RESPONSE_SELECTOR), add_to_output=True)
