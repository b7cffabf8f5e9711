"""When the blended second opinion replaces DIET's reading (bot/components/ensemble.py)."""

from pathlib import Path

import yaml

from bot.components.ensemble import blend, overrules


def ranking(*pairs):
    return [{"name": name, "confidence": score} for name, score in pairs]


def the_config():
    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yml").read_text(encoding="utf-8"))
    return next(step for step in config["pipeline"] if step["name"].endswith("BlendedIntentClassifier"))


CONFIG = the_config()


def test_the_blend_reads_a_topic_diet_was_sure_of_and_wrong():
    # "行程里有没有去清水寺"-like slips the other way round: DIET sure, the linear model surer.
    diet = ranking(("query_itinerary", 0.98), ("policy", 0.02))
    blended = blend(diet, {"policy": 0.9, "query_itinerary": 0.1}, CONFIG["diet_weight"])
    assert blended[0]["name"] == "policy"
    assert overrules(diet, blended, given_up=False, config=CONFIG)


def test_short_answers_inside_forms_stay_with_diet():
    # "呃 不是 这个投诉我还是要交的" at "确定放弃吗": DIET's deny, not the blend's policy question.
    for short in ("deny", "affirm", "goodbye", "thank", "cancel", "greet"):
        diet = ranking((short, 0.7), ("policy", 0.2))
        blended = ranking(("policy", 0.6), (short, 0.3))
        assert not overrules(diet, blended, given_up=False, config=CONFIG), short


def test_danger_a_person_and_off_topic_by_diet_are_never_overruled():
    for protected in ("emergency", "request_human", "out_of_scope"):
        diet = ranking((protected, 0.5), ("policy", 0.4))
        assert not overrules(diet, ranking(("policy", 0.8)), given_up=False, config=CONFIG), protected


def test_the_blend_never_brings_back_an_intent_the_cue_guard_watches():
    # A trip cancellation or a correction needs its cue word; the guard ran before the blend.
    for guarded in ("request_cancellation", "correct"):
        diet = ranking(("policy", 0.6), (guarded, 0.3))
        assert not overrules(diet, ranking((guarded, 0.7), ("policy", 0.2)), given_up=False, config=CONFIG)


def test_agreeing_keeps_diets_scale_unless_diet_gave_up():
    diet = ranking(("request_human", 0.39), ("deny", 0.3))
    blended = ranking(("request_human", 0.66), ("deny", 0.2))
    # DIET's ranking when the FallbackClassifier let it stand...
    assert not overrules(ranking(("policy", 0.9)), ranking(("policy", 0.8)), given_up=False, config=CONFIG)
    # ...the blend's when it gave up ("麻烦安排一个客服联系我" at 0.39 < 0.45).
    fallback_first = ranking(("nlu_fallback", 0.45)) + diet
    assert overrules(fallback_first, blended, given_up=True, config=CONFIG)


def test_off_topic_is_still_decided_by_the_blend():
    diet = ranking(("policy", 1.0))
    blended = blend(diet, {"out_of_scope": 0.95, "policy": 0.05}, CONFIG["diet_weight"])
    assert blended[0]["name"] == "out_of_scope"
    assert overrules(diet, blended, given_up=False, config=CONFIG)


def test_an_empty_decides_list_lets_the_blend_choose_anything():
    config = {"decides": [], "protects": []}
    assert overrules(ranking(("deny", 0.9)), ranking(("affirm", 0.6)), given_up=False, config=config)
    assert not overrules(ranking(("deny", 0.9)), [], given_up=False, config=config)
