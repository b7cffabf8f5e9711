"""The cue guard: a trip cancellation or a correction stands only when the message says so in words."""

from __future__ import annotations

import pytest
import yaml
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.cues import IntentCueGuard, compile_cues, missing_cues
from tests.services import ROOT


def _config_cues() -> dict:
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    (entry,) = [c for c in pipeline if c["name"].endswith("IntentCueGuard")]
    return entry["cues"]


GUARD = IntentCueGuard({"cues": _config_cues()}, None)


def _message(text: str, ranking: list) -> Message:
    ranking = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    return Message(data={TEXT: text, "intent": dict(ranking[0]), "intent_ranking": ranking})


@pytest.mark.parametrize(
    "text",
    [
        "这个团我不想去了",
        "帮我取消订单",
        "家里有事去不成了",
        "我要退团",
        "cancel my trip please",
        "这单不要了",
        "我们改主意了",
        "不参加了",
    ],
)
def test_cancellation_with_a_cue_stands(text):
    message = _message(text, [("request_cancellation", 0.9), ("policy", 0.05)])
    GUARD.process([message])
    assert message.get("intent")["name"] == "request_cancellation"


@pytest.mark.parametrize("text", ["对了，昆明这几天冷不冷啊", "导游一直迟到", "明天几点集合"])
def test_cancellation_without_a_cue_gives_way_to_the_next_intent(text):
    message = _message(text, [("request_cancellation", 0.8), ("out_of_scope", 0.15), ("complain", 0.05)])
    GUARD.process([message])
    assert message.get("intent") == {"name": "out_of_scope", "confidence": 0.15}
    names = [r["name"] for r in message.get("intent_ranking")]
    assert names == ["out_of_scope", "complain", "request_cancellation"]


def test_other_intents_are_left_alone():
    message = _message("明天几点集合", [("query_itinerary", 0.9), ("request_cancellation", 0.1)])
    GUARD.process([message])
    assert message.get("intent")["name"] == "query_itinerary"


def test_every_cancellation_example_of_the_project_has_its_cue():
    importer = TrainingDataImporter.load_from_dict(training_data_paths=[str(ROOT / "data" / "nlu")])
    data = importer.get_nlu_data()
    # Traditional examples reach the guard simplified (the normaliser runs first).
    from bot.components.normaliser import ChineseNormaliser

    ChineseNormaliser().process(data.intent_examples)
    assert missing_cues(data, compile_cues(_config_cues())) == []
    assert sum(1 for e in data.intent_examples if e.get("intent") == "request_cancellation") > 50


def test_blend_weighs_both_rankings_by_intent_name():
    from bot.components.ensemble import blend

    diet = [{"name": "policy", "confidence": 1.0}]
    linear = {"policy": 0.2, "out_of_scope": 0.7, "complain": 0.1}
    ranking = blend(diet, linear, 0.5)
    assert [r["name"] for r in ranking] == ["policy", "out_of_scope", "complain"]
    assert [round(r["confidence"], 2) for r in ranking] == [0.6, 0.35, 0.05]
    # a DIET certainty the linear model does not share falls under the fallback threshold
    ranking = blend(diet, {"policy": 0.05, "out_of_scope": 0.95}, 0.4)
    assert ranking[0]["name"] == "out_of_scope" and ranking[0]["confidence"] == pytest.approx(0.57)


def _detector():
    from bot.components.emergency import EmergencyDetector, Lexicon

    lexicon = Lexicon(
        yaml.safe_load((ROOT / "data" / "emergency" / "lexicon.yml").read_text(encoding="utf-8"))
    )
    return EmergencyDetector(EmergencyDetector.get_default_config(), None, None, lexicon)


def test_a_sure_diet_emergency_stands_when_the_blend_put_it_second():
    # No lexicon kind in the text: DIET's own 0.95 decides, on the scale the 0.9 was set for.
    from bot.components.ensemble import DIET_INTENT

    message = _message("缆车卡在半空中一个小时了，里面有老人小孩", [("complain", 0.5), ("emergency", 0.45)])
    message.set(DIET_INTENT, {"name": "emergency", "confidence": 0.95})
    _detector().process([message])
    assert message.get("intent")["name"] == "emergency"


def test_an_unsure_diet_emergency_gives_way_after_the_blend_too():
    from bot.components.ensemble import DIET_INTENT

    message = _message("隔壁房间吵了一晚上", [("emergency", 0.6), ("complain", 0.4)])
    message.set(DIET_INTENT, {"name": "emergency", "confidence": 0.7})
    _detector().process([message])
    assert message.get("intent")["name"] == "complain"


def _with_features(component, *messages):
    """A one-column feature row for each message, as wide as the fake linear model expects."""
    import numpy as np
    from scipy.sparse import csr_matrix

    component.clf.n_features_in_ = 1
    component._row = lambda message: csr_matrix(np.ones((1, 1)))


def test_a_blend_row_is_rasas_feature_row_of_the_message():
    import numpy as np
    from rasa.shared.nlu.training_data.features import Features
    from scipy.sparse import coo_matrix

    from bot.components.ensemble import BlendedIntentClassifier

    component = BlendedIntentClassifier({"diet_weight": 0.3}, "blend", None, None)
    message = Message(data={TEXT: "退款怎么算"})
    for origin, width in (("words", 4), ("chars", 6)):
        rows = np.arange(width * 3).reshape(3, width) % 3
        message.add_features(Features(coo_matrix(rows), "sequence", TEXT, origin))
        message.add_features(Features(coo_matrix(rows.sum(0, keepdims=True)), "sentence", TEXT, origin))
    row = component._row(message)
    assert row.shape == (1, 10)
    assert (row != component._create_X([message])).nnz == 0
    assert component._row(Message(data={TEXT: "   "})) is None  # no features: no row


def test_the_blend_decides_only_the_intents_it_is_given():
    import numpy as np

    from bot.components.ensemble import DIET_INTENT, BlendedIntentClassifier

    class Linear:
        classes_ = np.array(["complain", "out_of_scope", "policy"])

        def __init__(self, row):
            self.row = row

        def predict_proba(self, _x):
            return np.array([self.row])

    def run(row, diet):
        component = BlendedIntentClassifier(
            {"diet_weight": 0.3, "decides": ["out_of_scope"]}, "blend", None, None
        )
        component.clf = Linear(row)
        message = _message("怎么练出腹肌", diet)
        _with_features(component, message)
        component.process([message])
        return message

    # the linear model is sure it is off-topic: the blend decides
    message = run([0.05, 0.9, 0.05], [("policy", 1.0)])
    assert message.get("intent")["name"] == "out_of_scope"
    assert message.get(DIET_INTENT) == {"name": "policy", "confidence": 1.0}
    # the blend would say complain: DIET's own ranking and confidence stand
    message = run([0.9, 0.05, 0.05], [("policy", 0.8), ("complain", 0.2)])
    assert message.get("intent") == {"name": "policy", "confidence": 0.8}


def test_the_fallback_verdict_is_not_blended_as_an_intent():
    from bot.components.ensemble import blend

    ranking = blend(
        [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "policy", "confidence": 0.4}],
        {"out_of_scope": 0.8, "policy": 0.2},
        0.3,
    )
    assert [r["name"] for r in ranking] == ["out_of_scope", "policy"]


def test_the_blend_never_overrules_an_emergency_or_a_request_for_a_person():
    import numpy as np

    from bot.components.ensemble import BlendedIntentClassifier

    class Linear:
        classes_ = np.array(["emergency", "out_of_scope"])

        def predict_proba(self, _x):
            return np.array([[0.02, 0.98]])

    component = BlendedIntentClassifier(
        {"diet_weight": 0.3, "decides": ["out_of_scope"], "protects": ["emergency"]}, "blend", None, None
    )
    component.clf = Linear()
    unsure = _message("快来人", [("nlu_fallback", 0.45), ("emergency", 0.4)])
    _with_features(component, unsure)
    component.process([unsure])
    assert unsure.get("intent")["name"] == "nlu_fallback"  # as without the blend


def test_a_message_without_the_full_feature_row_is_left_to_diet():
    # "   " is empty after the normaliser: some featurizers give it no sentence features, and a
    # narrower row made the whole parse fail (no reply at all).
    import numpy as np
    from scipy.sparse import csr_matrix

    from bot.components.ensemble import BlendedIntentClassifier

    class Linear:
        classes_ = np.array(["out_of_scope", "policy"])
        n_features_in_ = 3

        def predict_proba(self, x):
            assert x.shape == (1, 3)
            return np.array([[0.9, 0.1]])

    component = BlendedIntentClassifier({"diet_weight": 0.3}, "blend", None, None)
    component.clf = Linear()
    widths = {"   ": 2, "怎么练出腹肌": 3}
    component._row = lambda message: csr_matrix(np.ones((1, widths[message.get("text")])))
    empty, full = _message("   ", [("nlu_fallback", 1.0)]), _message("怎么练出腹肌", [("policy", 1.0)])
    component.process([empty, full])
    assert empty.get("intent")["name"] == "nlu_fallback"
    assert full.get("intent")["name"] == "out_of_scope"


@pytest.mark.parametrize(
    "text",
    [
        "手机号填错了，是13912345678",
        "不是李娜，是李雪",
        "时间改成12月5号",
        "补充一点，司机全程在打电话",
        "sorry wrong number",
    ],
)
def test_a_correction_in_words_stands(text):
    message = _message(text, [("correct", 0.8), ("inform", 0.1)])
    GUARD.process([message])
    assert message.get("intent")["name"] == "correct"


@pytest.mark.parametrize(
    "text", ["我要投诉，我手机号18612349876，我叫陈静", "我叫王磊，电话13800001111", "TR20260005 尾号9876"]
)
def test_values_without_a_correction_word_are_no_correction(text):
    # Stock DIET once read the first as `correct` (0.61): the form asked what to correct and the
    # complaint was lost. Demoted, the next intent leads (and the fallback asks if it is weak).
    message = _message(text, [("correct", 0.61), ("complain", 0.3), ("inform", 0.09)])
    GUARD.process([message])
    assert message.get("intent")["name"] == "complain"


def test_every_correction_example_of_the_project_has_its_cue():
    importer = TrainingDataImporter.load_from_dict(training_data_paths=[str(ROOT / "data" / "nlu")])
    data = importer.get_nlu_data()
    from bot.components.normaliser import ChineseNormaliser

    ChineseNormaliser().process(data.intent_examples)
    assert sum(1 for e in data.intent_examples if e.get("intent") == "correct") > 50
    assert missing_cues(data, {"correct": compile_cues(_config_cues())["correct"]}) == []
