"""Text normalisation shared by every text corpus, and the bookkeeping of what was dropped.

`normalize` uses Unicode NFKC rather than NFC: NFKC also folds compatibility characters that
carry no meaning for a model but split its vocabulary, such as the no-break spaces French puts
before "?", "!" and ":", ligatures ("ﬁ") and full-width forms. Curly quotes and apostrophes
become straight ones (French elisions are typed both ways), and runs of whitespace become one
space. French guillemets are kept: they are the correct French quotes, not a variant.
"""

import collections
import re
import unicodedata

from datasets.splits import SPLITS

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
})
_SPACE = re.compile(r"\s+")


def normalize(text):
    """Returns `text` in NFKC, with straight quotes and single spaces, stripped."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return _SPACE.sub(" ", text).strip()


def word_count(text):
    """Number of whitespace-separated words in `text`."""
    return len(text.split())


DROP_REASONS = ("empty", "too_long", "duplicates")


class ExampleFilter:
    """Keeps normalised, non-empty, not-too-long, first-seen examples and counts the rest per split.

    Duplicates are found across all splits together: the first occurrence (in the loader's fixed
    order) is kept and later ones are dropped, so one text can never sit in two splits.

    Args:
        max_words: int or None, drop an example when any of its text fields has more words.
        max_chars: int or None, the same in characters (for text without spaces).
        seen: set or None, dedupe keys already taken; share one set between filters to dedupe
            across corpora that are combined.

    Example:
        >>> f = ExampleFilter(max_words=3)
        >>> f.add("train", ("Hello  world",)), f.add("test", ("Hello world",))
        (('Hello world',), None)
    """

    def __init__(self, max_words=None, max_chars=None, seen=None):
        for name, value in (("max_words", max_words), ("max_chars", max_chars)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None; got {value!r}")
        self.max_words = max_words
        self.max_chars = max_chars
        self._seen = set() if seen is None else seen
        self.counts = {s: collections.Counter({"kept": 0, **dict.fromkeys(DROP_REASONS, 0)}) for s in SPLITS}

    def add(self, split, fields, dedupe_key=None):
        """Normalises `fields` (a tuple of str) and returns them, or None when dropped.

        Args:
            split: str, the split the example belongs to (for the counts).
            fields: tuple of str, the example's text fields.
            dedupe_key: hashable, what makes two examples duplicates; default the normalised fields.
        """
        fields = tuple(normalize(f) for f in fields)
        reason = self._drop_reason(fields, fields if dedupe_key is None else dedupe_key)
        self.counts[split][reason or "kept"] += 1
        return None if reason else fields

    def reject(self, split, reason):
        """Counts an example the loader dropped for its own `reason` (str, e.g. "markup")."""
        self.counts[split][reason] += 1

    def _drop_reason(self, fields, dedupe_key):
        if not all(fields):
            return "empty"
        if self.max_words and any(word_count(f) > self.max_words for f in fields):
            return "too_long"
        if self.max_chars and any(len(f) > self.max_chars for f in fields):
            return "too_long"
        if dedupe_key in self._seen:
            return "duplicates"
        self._seen.add(dedupe_key)
        return None

    def report(self):
        """{split: {"kept": n, "empty": n, "too_long": n, "duplicates": n}} as plain dicts."""
        return {split: dict(counter) for split, counter in self.counts.items()}


def first_non_utf8_line(path):
    """The 1-based number of the first line of `path` that is not UTF-8, or None.

    Text readers decode in blocks, so their own position does not say which line failed.
    """
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None
