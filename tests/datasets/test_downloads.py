"""The corpora no package carries: where they are found, how `fetch` gets them, and what is in them.

The tests of the real files read the copy in ../shared/data (developers and CI have it; the
Makefile and tests/conftest.py point $SEQMODELS_DOWNLOADS at it) and fail, not skip, without it."""

import gzip
import io
import zipfile

import pytest

from datasets import downloads
from datasets.__main__ import main as datasets_main
from datasets.errors import DataError
from datasets.splits import SPLITS
from datasets.translation import load_translation_examples, load_translation_pairs, translation_report

EVERYDAY_COUNTS = {
    "anki": {"train": 150324, "validation": 8293, "test": 8317},
    "multi30k": {"train": 28993, "validation": 1014, "test": 1000},
    "newstest2013": {"train": 0, "validation": 3000, "test": 0},
    "newstest2014": {"train": 0, "validation": 0, "test": 3003},
}


@pytest.fixture
def no_downloads(monkeypatch, tmp_path):
    """An empty downloads folder and cache: nothing downloaded anywhere."""
    monkeypatch.setenv(downloads.ENV_VAR, str(tmp_path / "downloads"))
    monkeypatch.setenv("SEQMODELS_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture(scope="module")
def shared_downloads():
    assert downloads.is_downloaded("anki"), (
        f"the downloaded corpora are not in ${downloads.ENV_VAR}; developers and CI have them in ../shared/data")


def anki_zip(lines):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fra-eng/fra.txt", "".join(f"{line}\n" for line in lines))
    return buffer.getvalue()


def test_missing_download_says_what_to_get_and_where(no_downloads):
    with pytest.raises(downloads.MissingDownloadError) as error:
        load_translation_pairs("anki")
    message = str(error.value)
    assert "fra-eng.zip not found" in message
    assert "https://www.manythings.org/anki/fra-eng.zip" in message
    assert "$SEQMODELS_DOWNLOADS" in message and "--from" in message
    with pytest.raises(downloads.MissingDownloadError, match=r"sacrebleu -t wmt14/full -l en-fr --echo src"):
        load_translation_pairs("newstest2014", "test")


def test_files_are_found_at_the_top_or_one_folder_down(no_downloads):
    folder = no_downloads / "downloads"
    (folder / "anything").mkdir(parents=True)
    (folder / "anything" / "fra-eng.zip").write_bytes(anki_zip(["Go.\tVa !"]))
    assert downloads.find_files("anki")["fra-eng.zip"] == folder / "anything" / "fra-eng.zip"
    for stem in ("train", "val", "test_2016_flickr"):
        for lang, text in (("en", "A dog runs."), ("fr", "Un chien court.")):
            with gzip.open(folder / f"{stem}.{lang}.gz", "wt") as f:  # gzipped, as Multi30k ships them
                f.write(f"{text}\n")
    assert load_translation_pairs("multi30k", "test") == [("A dog runs.", "Un chien court.")]


def test_fetch_from_a_folder_copies_into_the_cache(no_downloads):
    source = no_downloads / "mine"
    source.mkdir()
    (source / "fra.txt").write_text("Go.\tVa !\n", encoding="utf-8")
    assert datasets_main(["fetch", "anki", "--from", str(source)]) == 0
    assert (no_downloads / "cache" / "downloads" / "anki" / "fra.txt").is_file()
    assert not list((no_downloads / "cache" / "downloads" / "anki").glob("*.partial"))
    assert [p for s in SPLITS for p in load_translation_pairs("anki", s)] == [("Go.", "Va !")]


def test_fetch_downloads_checks_and_keeps_the_file(no_downloads):
    asked = []

    def urlopen(url, timeout):
        asked.append(url)
        return io.BytesIO(anki_zip(["Hello!\tSalut !"]))

    target = downloads.fetch_download("anki", urlopen=urlopen)
    assert asked == ["https://www.manythings.org/anki/fra-eng.zip"]
    assert (target / "fra-eng.zip").is_file()
    downloads.fetch_download("anki", urlopen=None)  # already there: nothing downloaded again


def test_fetch_offline_or_truncated_is_one_error_and_leaves_nothing(no_downloads, capsys):
    def offline(url, timeout):
        raise OSError("Temporary failure in name resolution")

    with pytest.raises(downloads.MissingDownloadError, match="downloading https://www.manythings.org.*failed"):
        downloads.fetch_download("anki", urlopen=offline)
    with pytest.raises(DataError, match="fra-eng.zip of corpus 'anki' cannot be read"):
        downloads.fetch_download("anki", urlopen=lambda url, timeout: io.BytesIO(anki_zip(["Go.\tVa !"])[:40]))
    assert not any((no_downloads / "cache").rglob("*.zip*"))
    assert datasets_main(["fetch", "newstest2014"]) == 2  # no download address: where to get it instead
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("error: corpus 'newstest2014' is not downloaded")


def test_summary_lists_a_missing_download_without_failing(no_downloads, monkeypatch, capsys):
    from datasets import catalog

    downloaded = tuple(c for c in catalog.CORPORA if c.name in catalog.DOWNLOADED)
    monkeypatch.setattr(catalog.summary, "__defaults__", (downloaded,))
    assert datasets_main(["summary"]) == 0
    out = capsys.readouterr().out
    assert out.count("not downloaded") == len(downloaded) == 5 and "CC-BY 2.0 FR" in out


@pytest.mark.parametrize("corpus", sorted(EVERYDAY_COUNTS))
def test_downloaded_counts(shared_downloads, corpus):
    assert {s: len(load_translation_pairs(corpus, s)) for s in SPLITS} == EVERYDAY_COUNTS[corpus]


def test_anki_keeps_every_translation_of_a_sentence_in_one_split(shared_downloads):
    splits = {}
    for split in SPLITS:
        for _, english, _ in load_translation_examples("anki", split):
            splits.setdefault(english, set()).add(split)
    assert all(len(s) == 1 for s in splits.values())
    pairs = [p for s in SPLITS for p in load_translation_pairs("anki", s)]
    assert len({e for e, _ in pairs}) < len(pairs) - 30000  # tens of thousands with several translations


def test_official_test_sets_are_scored_whole(shared_downloads):
    """Multi30k test 2016 and newstest2014 keep every line, long or repeated, in the file's order."""
    report = translation_report("newstest2014")["newstest2014"]["test"]
    assert report["kept"] == 3003 and report["too_long"] == report["duplicates"] == 0
    first = load_translation_pairs("multi30k", "test")[0]
    assert first == ("A man in an orange hat starring at something.",
                     "Un homme avec un chapeau orange regardant quelque chose.")


def test_no_evaluation_english_of_any_corpus_is_trained_on(shared_downloads, bundled_cache):
    """Train on everything; no English sentence of any corpus's validation or test split (each
    loaded alone, as `eval --data CORPUS` does) is in that training split."""
    from datasets.translation import ALL_CORPORA, GLOSSARIES

    corpora = [c for c in ALL_CORPORA if c not in GLOSSARIES]
    training = {en.lower() for en, _ in load_translation_pairs("+".join(corpora), "train")}
    for corpus in corpora:
        held_out = {en.lower() for s in ("validation", "test") for en, _ in load_translation_pairs(corpus, s)}
        assert not held_out & training, corpus
    report = translation_report("+".join(corpora))  # the load above, cached
    assert report["anki"]["train"]["in_other_evaluation"] > 0  # the rule had work to do
