"""What `benchmarks.translate_public` counts as a name, and how it scores kept and invented ones."""

from benchmarks.translate_public import ENGLISH_MONTHS, lower_case_words, named_words, names_report

COMMON = lower_case_words(["the dog, my sister, i think je pense, le chien, il rit, ma sœur"])


def test_named_words_are_names_months_and_numbers():
    assert named_words("Jane went to Africa last September. Tom is 12.", COMMON, ENGLISH_MONTHS) == {
        "Jane", "Africa", "september", "Tom", "12"}
    assert named_words("Jane est allée en Afrique en septembre dernier.", COMMON) == {"Jane", "Afrique", "septembre"}
    assert named_words("« Où est Paris ? » Il rit.", COMMON) == {"Où", "Paris"}  # "il" is common, "où" is not here
    assert named_words("I am cold. I'm sure, I think.", COMMON, ENGLISH_MONTHS) == set()
    assert named_words("The dog sleeps. My sister too.", COMMON, ENGLISH_MONTHS) == set()


def test_names_report_counts_kept_and_invented_names():
    english = ["My sister is a nurse in Paris.", "Paris is beautiful.", "I am cold."]
    references = [["Ma sœur est infirmière à Paris."], ["Paris est belle.", "Paris est beau."], ["J'ai froid."]]
    common = COMMON | {"je", "j"}
    report = names_report(english, ["Ma soeur est une garde à 1000.", "Tania est belle.", "Je suis Max."], references,
                          common)
    # "I am cold." holds no name: not counted, though its translation invents one.
    assert (report["sentences"], report["reference_words"], report["kept"], report["invented"]) == (2, 2, 0.0, 2)
    assert [e["invented"] for e in report["examples"]] == [["1000"], ["Tania"]]
    good = names_report(english, ["Ma sœur est infirmière à Paris.", "Paris est belle.", "J'ai froid."], references,
                        common)
    assert (good["kept"], good["invented"]) == (1.0, 0)
