"""Tokenisation and vocabularies: `standardize` and TextVectorization layers built from train only.

Everything here is plain TensorFlow string ops and `tf.lookup` (what TextVectorization and
StringLookup use), so a model that contains these layers exports to a SavedModel that TF Serving
and TFLite can run; TF-Text tokenizers would add ops they lack.

Tokenisation (`standardize`, then TextVectorization's whitespace split):
  * lower case, Unicode aware ("À" -> "à");
  * curly apostrophes become "'" (the Python loaders already normalise; this covers raw input);
  * every punctuation mark or symbol is its own token ("Hello, world!" -> "hello , world !"),
    except the apostrophe and the square brackets of control tokens such as "[start]";
  * an apostrophe between letters stays with the left word, which is the French elision
    ("l'homme" -> "l' homme", "qu'il" -> "qu' il"), so "homme" is one vocabulary entry whether
    elided or not. English contractions get the same rule ("it's" -> "it' s").
NFKC normalisation itself is not available as a core TF op; the loaders apply it in Python.

Example:
    >>> vectorizer = build_vectorizer(["L'homme dit : bonjour !"], max_tokens=100)
    >>> vectorizer.get_vocabulary()[:4]
    ['', '[UNK]', "l'", 'homme']
"""

import keras
import tensorflow as tf

from datasets.vocabulary_files import load_vocabulary, save_vocabulary  # noqa: F401  (re-exported)

# Letters may be followed by combining marks (decomposed accents); \p{..} classes are RE2 syntax.
_APOSTROPHES = "[\u2018\u2019\u201b\u2032`\u00b4]"
_PUNCTUATION = r"([^\pL\pN\pM\s'\[\]])"
_ELISION = r"([\pL\pM])'([\pL])"
_SPACES = r"\s+"
OOV_TOKEN = "[UNK]"


@keras.saving.register_keras_serializable(package="seqmodels")
def standardize(text, lowercase=True):
    """Lower-cases `text` and splits off punctuation, for TextVectorization's `standardize`.

    Args:
        text: tf.string tensor of any shape (a Python str or list of str is converted).
        lowercase: False keeps the case: the same tokens as the lower-cased ones, one for one
            (what a translation copies or truecases from).

    Returns:
        tf.string tensor of the same shape, tokens separated by single spaces.

    Example:
        >>> standardize("Qu’il vienne, dit-il.").numpy().decode()
        "qu' il vienne , dit - il ."
    """
    text = tf.convert_to_tensor(text, dtype=tf.string)
    if lowercase:
        text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, _APOSTROPHES, "'")
    text = tf.strings.regex_replace(text, _PUNCTUATION, r" \1 ")
    text = tf.strings.regex_replace(text, _ELISION, r"\1' \2")
    text = tf.strings.regex_replace(text, _SPACES, " ")
    return tf.strings.strip(text)


def tokenize(text):
    """Python helper: the tokens `standardize` gives for one str (for tests and inspection)."""
    return standardize(text).numpy().decode("utf-8").split()


def tokenize_many(texts, batch_size=4096, lowercase=True):
    """The tokens `standardize` gives for each str of `texts` (a list of lists), in batches."""
    tokens = []
    for start in range(0, len(texts), batch_size):
        batch = standardize(tf.constant(texts[start : start + batch_size], dtype=tf.string), lowercase).numpy()
        tokens.extend(text.decode("utf-8").split() for text in batch)
    return tokens


def build_vectorizer(train_texts, max_tokens=None, output_sequence_length=None, ragged=False,
                     batch_size=1024):
    """Builds a TextVectorization whose vocabulary comes from `train_texts` only.

    Args:
        train_texts: list of str or a tf.data.Dataset of str, the TRAINING split; passing any other
            split leaks its words into the vocabulary.
        max_tokens: int or None, vocabulary size including the padding "" and "[UNK]" entries;
            the most frequent tokens are kept. Default None (all).
        output_sequence_length: int or None, pad or cut outputs to this length. Default None.
        ragged: bool, return ragged token ids (variable length) instead of padded. Default False.
        batch_size: int, texts per adapt step.

    Returns:
        An adapted `keras.layers.TextVectorization`; words not in the train split map to 1 ([UNK]).
    """
    vectorizer = vectorizer_from_vocabulary(None, max_tokens, output_sequence_length, ragged)
    data = train_texts if isinstance(train_texts, tf.data.Dataset) else tf.data.Dataset.from_tensor_slices(
        tf.constant(list(train_texts), dtype=tf.string))
    vectorizer.adapt(data.batch(batch_size))
    return vectorizer


def vectorizer_from_vocabulary(vocabulary, max_tokens=None, output_sequence_length=None, ragged=False):
    """A TextVectorization with `standardize` and a fixed `vocabulary`.

    Args:
        vocabulary: list of str (as `get_vocabulary()` returns, "" and "[UNK]" first), a path of a
            vocabulary file written by `save_vocabulary`, or None for an un-adapted layer.
        max_tokens, output_sequence_length, ragged: as `build_vectorizer`.
    """
    if isinstance(vocabulary, (str, bytes)) or hasattr(vocabulary, "__fspath__"):
        vocabulary = load_vocabulary(vocabulary)
    if vocabulary is not None:
        # TextVectorization adds "" and "[UNK]" itself when given a vocabulary.
        vocabulary = [t for t in vocabulary if t not in ("", OOV_TOKEN)]
    return keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize=standardize, split="whitespace", output_mode="int",
        output_sequence_length=output_sequence_length, ragged=ragged, vocabulary=vocabulary)


def build_string_lookup(train_tokens, max_tokens=None, invert=False):
    """A StringLookup over already-split tokens (characters, music events), from train only.

    Args:
        train_tokens: iterable of str tokens from the TRAINING split.
        max_tokens: int or None, keep the most frequent tokens (None: all, in frequency order).
        invert: bool, map ids back to tokens.
    """
    import collections

    counts = collections.Counter(train_tokens)
    vocabulary = [t for t, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    if max_tokens is not None:
        vocabulary = vocabulary[: max(max_tokens - 2, 0)]  # room for padding and [UNK]
    return keras.layers.StringLookup(vocabulary=vocabulary, mask_token="", oov_token=OOV_TOKEN, invert=invert)
