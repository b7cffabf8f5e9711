"""A "what if" written in English is a question, not an emergency (third stranger's test).

"if my passport is lost overseas what should I do" asks the policy; the lexicon's
`hypothetical` words knew "what if" and "in case" but not a plain "if". Real emergencies that
say "if" in another sense ("not sure if he is breathing", "send someone if you can") stay
emergencies.
"""

from __future__ import annotations

import pytest
import yaml

from bot.components.emergency import Lexicon
from tests.services import ROOT

LEXICON = Lexicon(yaml.safe_load((ROOT / "data" / "emergency" / "lexicon.yml").read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "text",
    [
        "if my passport is lost overseas what should I do",
        "If my passport gets stolen in Japan, what do I do?",
        "What happens if we lose our passports in Paris",
        "what should we do if someone is injured on the tour in Bangkok",
        "In the event of a car accident abroad, who pays?",
        "If I lose my passport abroad can you help me",
        "要是在国外护照被偷了怎么办",
        "如果在日本护照丢了怎么办",
    ],
)
def test_a_what_if_is_no_emergency(text):
    assert LEXICON.read(text)["kinds"] == []


@pytest.mark.parametrize(
    "text, kind",
    [
        ("help! my wife is hurt badly", "medical"),
        ("my son is missing", "missing"),
        ("we were robbed", "crime"),
        ("my passport was stolen in Paris just now, help", "documents"),
        ("my dad collapsed, not sure if he is breathing", "medical"),
        ("my husband is bleeding, please send someone if you can", "medical"),
        ("the bus crashed, call an ambulance if possible", "accident"),
        ("Gift shop lady looks as if she was robbed, we were robbed too", "crime"),
    ],
)
def test_a_real_emergency_with_if_stays_one(text, kind):
    assert kind in LEXICON.read(text)["kinds"]
