"""jieba tokenizer that never emits whitespace tokens.

Mixed Chinese/English text ("我想退团 please") makes jieba return ' ' tokens,
which break DIET's feature alignment (rasa issue #7910, fix never merged).
The user dictionary is a directory (data/dict/): every file in it is loaded and
persisted into the model by the parent class.
"""

from __future__ import annotations

from typing import List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class ChineseJiebaTokenizer(JiebaTokenizer):
    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        import jieba

        text = message.get(attribute) or ""
        tokens = [Token(word, start) for word, start, _end in jieba.tokenize(text) if word.strip()]
        if not tokens:
            # Rasa expects at least one token; emoji/space-only input keeps one.
            stripped = text.strip() or text
            start = text.find(stripped) if stripped else 0
            tokens = [Token(stripped or " ", max(start, 0))]
        return self._apply_token_pattern(tokens)
