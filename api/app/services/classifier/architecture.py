"""A bag-of-features text classifier over jieba words AND characters.

spaCy's TextCatBOW only sees jieba's words; with a few hundred examples most words in a new complaint
were never seen ("蟑螂" vs "小强", traditional vs simplified cuts, typos). Character 1-3-grams of the text
share evidence between different words and wordings, the way fastText does for Chinese.
Registered under "complaints.WordCharBOW.v1"; importing this module is enough for spacy.load().
"""

from __future__ import annotations

from functools import partial
from typing import cast

import spacy
from spacy.attrs import ORTH
from spacy.ml.models.textcat import NEG_VALUE, resize_and_set_ref
from spacy.strings import hash_string
from thinc.api import Model, SparseLinear_v2, chain, resizable, softmax_activation, with_cpu
from thinc.layers.resizable import resize_linear_weighted

_CACHE_KEY = "complaints_char_ngrams"
_CHAR_PREFIX = "\x01"  # keeps character n-grams apart from jieba words with the same text


def extract_features(word_ngrams: int, char_ngrams: int) -> Model:
    model: Model = Model("extract_word_char_ngrams", _forward)
    model.attrs["word_ngrams"] = word_ngrams
    model.attrs["char_ngrams"] = char_ngrams
    return model


def _forward(model: Model, docs, is_train: bool):
    xp = model.ops.xp
    batch_keys, batch_vals = [], []
    for doc in docs:
        words = model.ops.asarray(doc.to_array([ORTH]))
        parts = [words]
        for n in range(2, model.attrs["word_ngrams"] + 1):
            parts.append(model.ops.ngrams(n, words))
        chars = doc.user_data.get(_CACHE_KEY)
        if chars is None:  # cached on the doc: training sees each doc once per epoch
            text = doc.text.lower().replace(" ", "")
            chars = xp.asarray(
                [
                    hash_string(_CHAR_PREFIX + text[i : i + n])
                    for n in range(1, model.attrs["char_ngrams"] + 1)
                    for i in range(len(text) - n + 1)
                ],
                dtype="uint64",
            )
            doc.user_data[_CACHE_KEY] = chars
        parts.append(chars)
        keys = (
            xp.concatenate([p.astype("uint64") for p in parts]) if parts else xp.zeros((0,), dtype="uint64")
        )
        keys, vals = xp.unique(keys, return_counts=True)
        batch_keys.append(keys)
        batch_vals.append(vals)
    lengths = model.ops.asarray([len(k) for k in batch_keys], dtype="int32")
    keys = xp.concatenate(batch_keys)
    vals = model.ops.asarray(xp.concatenate(batch_vals), dtype="f")
    return (keys, vals, lengths), lambda dY: []


@spacy.registry.architectures("complaints.WordCharBOW.v1")
def build_word_char_bow(
    word_ngrams: int = 2, char_ngrams: int = 3, length: int = 262144, nO: int | None = None
) -> Model:
    length = 2 ** (length - 1).bit_length()
    sparse_linear = SparseLinear_v2(nO=nO, length=length)
    resizable_layer = resizable(
        sparse_linear, resize_layer=partial(resize_linear_weighted, fill_defaults={"b": NEG_VALUE, "W": 0})
    )
    model = chain(extract_features(word_ngrams, char_ngrams), resizable_layer)
    model = with_cpu(model, model.ops)
    output_layer = softmax_activation()
    model = chain(model, with_cpu(output_layer, output_layer.ops))
    if nO is not None:
        model.set_dim("nO", cast(int, nO))
    model.set_ref("output_layer", sparse_linear)
    model.attrs["multi_label"] = False
    model.attrs["resize_output"] = partial(resize_and_set_ref, resizable_layer=resizable_layer)
    return model
