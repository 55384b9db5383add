import pytest

from datasets.splits import SPLITS, check_split, key_fraction, split_of
from datasets.text import ExampleFilter, normalize


@pytest.mark.parametrize("raw, expected", [
    ("  Hello \t\n world  ", "Hello world"),
    ("Qu\u2019il dit \u201coui\u201d", "Qu'il dit \"oui\""),
    ("Un dragon qui parle\u00a0?", "Un dragon qui parle ?"),  # French no-break space
    ("e\u0301te\u0301", "\u00e9t\u00e9"),  # decomposed accents are composed
    ("\ufb01n", "fin"),  # ligature
    ("\u00ab oui \u00bb", "\u00ab oui \u00bb"),  # guillemets are kept
])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_example_filter_counts_each_reason_per_split():
    examples = ExampleFilter(max_words=3)
    assert examples.add("train", ("a  b", "c")) == ("a b", "c")
    assert examples.add("test", ("a b", " c ")) is None  # duplicate after normalisation
    assert examples.add("test", ("", "c")) is None
    assert examples.add("validation", ("a b c d", "c")) is None
    examples.reject("train", "markup")
    report = examples.report()
    assert report["train"] == {"kept": 1, "empty": 0, "too_long": 0, "duplicates": 0, "markup": 1}
    assert report["test"]["duplicates"] == 1 and report["test"]["empty"] == 1
    assert report["validation"]["too_long"] == 1


def test_example_filter_rejects_bad_limit():
    with pytest.raises(ValueError, match="max_words.*got 0"):
        ExampleFilter(max_words=0)


def test_split_is_a_stable_function_of_the_key():
    # Fixed values: a change of hash would silently move examples between splits.
    assert [split_of(f"k{i}") for i in (6, 7, 36, 37)] == ["train", "test", "train", "validation"]
    assert key_fraction("bible:1.1.1") == pytest.approx(0.8583991649904159)
    counts = {s: 0 for s in SPLITS}
    for i in range(20000):
        counts[split_of(f"key-{i}")] += 1
    assert counts["train"] / 20000 == pytest.approx(0.90, abs=0.01)
    assert counts["validation"] / 20000 == pytest.approx(0.05, abs=0.01)
    assert counts["test"] / 20000 == pytest.approx(0.05, abs=0.01)


def test_check_split_names_the_value():
    with pytest.raises(ValueError, match="'dev'"):
        check_split("dev")
