"""Truecasing and unknown-word copying of the translation server (apps/translate/casing.py)."""

import numpy as np
import tensorflow as tf

from apps.translate.casing import (
    CASED_BIGRAMS,
    CASED_VOCABULARY,
    CasedBigrams,
    Glossary,
    capitalize_sentence_starts,
    copy_unknown_words,
    copyable_source_words,
    give_back_names,
    glossary_entries,
    names_and_numbers_kept,
    truecasing_tables,
    unknown_only_at_copyable_words,
)


def cased_vocabulary(target_vocabulary, french_texts):
    return truecasing_tables(target_vocabulary, french_texts)[CASED_VOCABULARY]


def test_cased_forms_come_from_mid_sentence_only():
    french = [
        "Dieu parla à Noé.",  # "Dieu" opens the sentence: says nothing about its case
        "Alors Dieu dit : Le jour vint.",  # "Le" after ":" says nothing either
        "Le jour se leva, dit-il.",
        "Noé bâtit l'arche.",
        "Il vit le jour.",
    ]
    vocabulary = ["", "[UNK]", "dieu", "noé", "le", "jour", "alors", "il", "t"]
    cased = cased_vocabulary(vocabulary, french)
    assert cased[:2] == ["", "[UNK]"]
    assert dict(zip(vocabulary, cased, strict=True)) == {
        "": "", "[UNK]": "[UNK]", "dieu": "Dieu", "noé": "Noé", "le": "le", "jour": "jour",
        "alors": "alors",  # only ever seen opening a sentence: stays lower-case
        "il": "il", "t": "t",
    }


def test_a_tie_goes_to_the_lower_case_form():
    assert cased_vocabulary(["paris"], ["à Paris et à paris ."]) == ["paris"]
    assert cased_vocabulary(["paris"], ["à Paris et à Paris et à paris ."]) == ["Paris"]


def test_a_form_that_depends_on_the_word_before_is_listed_once_seen_twice():
    french = [
        "Il vit le fils et le Fils de Dieu.",
        "Le Fils parle ; Je viens.",  # after punctuation a capital is layout, not a form
        "Le Fils parle ; Je viens, un fils dit : le fils.",
        "Un fils vint. Mon fils, mon Fils.",  # "mon Fils" seen once: not enough
        "Il dit que je viens, je pars, je ris.",
    ]
    vocabulary = ["", "[UNK]", "le", "fils", "je", "mon", "un"]
    tables = truecasing_tables(vocabulary, french)
    assert tables[CASED_VOCABULARY][3] == "fils" and tables[CASED_VOCABULARY][4] == "je"
    assert tables[CASED_BIGRAMS] == ["le\tfils\tFils"]
    assert CASED_BIGRAMS not in truecasing_tables(vocabulary, french, min_count=6)  # seen 5 times


def test_a_grown_vocabulary_keeps_its_old_words_forms():
    french = ["Il vit Noé et noé et noé.", "Il vit Sem et Sem."]
    tables = truecasing_tables(["", "[UNK]", "noé", "sem"], french, known_forms=["", "[UNK]", "Noé"])
    assert tables[CASED_VOCABULARY] == ["", "[UNK]", "Noé", "Sem"]  # "noé" alone would be lower-case


def test_the_word_before_gives_a_token_its_form_but_not_a_copied_word():
    bigrams = CasedBigrams(["le\tfils\tFils", "mon\tseigneur\tseigneur"])
    unknown_id = 1
    ids = tf.constant([[5, 6, 7, 8, 1, 9, 6]])
    tokens = tf.constant([["Le", "fils", "de", "mon", "fils", "Seigneur", "fils"]])
    out = bigrams.rewrite(unknown_id)(ids, tokens, {}, {}).numpy()[0]
    # "Le fils" matches in any case; the [UNK] at 4 was copied from the source and keeps its form;
    # "mon Seigneur" is listed only for the lower-case "mon" path, which "fils Seigneur" is not.
    assert [t.decode() for t in out] == ["Le", "Fils", "de", "mon", "fils", "Seigneur", "fils"]
    assert [t.decode() for t in bigrams.rewrite(unknown_id)(
        tf.constant([[8, 9]]), tf.constant([["mon", "Seigneur"]]), {}, {}).numpy()[0]] == ["mon", "seigneur"]


def test_unknown_outputs_become_the_most_attended_source_word():
    unknown_id = 1
    rewrite = copy_unknown_words(unknown_id)
    ids = tf.constant([[5, 1, 1, 3]])
    tokens = tf.constant([["va", "[UNK]", "[UNK]", "[end]"]])
    source = tf.constant([["Jane", "went", "in", "1850", ""]])
    attention = np.zeros((1, 4, 6), np.float32)  # the model's source axis may be longer (padding)
    attention[0, 1, 0] = attention[0, 2, 3] = 1.0
    attention[0, 0, 1] = attention[0, 3, 4] = 1.0
    out = rewrite(ids, tokens, {"attention": tf.constant(attention)}, {"source_tokens": source})
    assert [t.decode() for t in out.numpy()[0]] == ["va", "Jane", "1850", "[end]"]


def test_names_and_numbers_are_counted_in_sentences_with_unknown_words_only():
    vocabulary = ["", "[UNK]", "i", "saw", "in", ".", "the", "dog", "paris"]
    sources = ["I saw Jane in 1850.", "I saw the dog in Paris.", "Paris ."]
    outputs = ["J'ai vu Jane en 1849.", "J'ai vu le chien à Paris.", "Paris."]
    # Only the first source has unknown words ("jane", "1850"); "I" is not a name.
    assert names_and_numbers_kept(sources, outputs, vocabulary) == {
        "sentences": 1, "names_and_numbers": 2, "kept": 0.5}
    assert names_and_numbers_kept(["The dog ."], ["Le chien."], vocabulary)["kept"] is None


def test_sentences_start_with_a_capital_and_a_continued_sentence_does_not():
    tokens = tf.constant([["et", "dieu", "vit", ".", "et", "il", "dit", ":", "vous", "«", "été", "!"]] * 2)
    source = tf.constant([["And", "God"], ["and", "God"]])
    out = capitalize_sentence_starts()(None, tokens, {}, {"source_tokens": source}).numpy()
    middle = ["dieu", "vit", ".", "Et", "il", "dit", ":", "Vous", "«", "Été", "!"]
    assert [t.decode() for t in out[0]] == ["Et", *middle]
    assert [t.decode() for t in out[1]] == ["et", *middle]  # the source continues a sentence


def test_names_numbers_and_unknown_words_may_be_copied():
    tokens = tf.constant([["Jane", "saw", "Paris", "and", "cold", "I", "in", "1850", ".", "Then", "snow"]])
    ids = tf.constant([[1, 7, 8, 9, 10, 11, 12, 13, 14, 15, 1]])
    copyable = copyable_source_words(ids, tokens).numpy()[0].tolist()
    # "Jane" opens the sentence but is unknown; "Then" opens one; "I" is no name; "snow" is unknown.
    assert copyable == [True, False, True, False, False, False, False, True, False, False, True]


def test_copying_is_allowed_only_where_the_attended_source_word_is_copyable():
    unknown_id, vocabulary_size = 1, 4
    attention = tf.constant([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0]])  # row 0 attends word 0, row 1 word 1

    def step(tokens, state, constants, index):
        return tf.zeros([2, vocabulary_size]), state, {"attention": attention}

    copyable = tf.constant([[True, False], [True, False]])
    constrained, constants = unknown_only_at_copyable_words(unknown_id)(step, "model constants", copyable)
    assert constants[0] == "model constants"
    logits, _, _ = constrained(tf.zeros([2], tf.int32), (), constants, 0)
    assert logits[0, unknown_id] == 0.0 and logits[1, unknown_id] < -1e8  # copy at a copyable word only
    assert np.all(logits.numpy()[:, 2:] == 0.0)


def test_glossary_entries_keep_one_word_headwords_and_their_first_translation():
    pairs = [("station", "gare"), ("station", "station"), ("Paris", "Pâris"), ("in front of", "devant"),
             ("September", "septembre"), ("globe", "globe")]
    # "paris" -> "Pâris" and "globe" -> "globe" are copies but for accents and case: copying does as well.
    assert glossary_entries(pairs) == ["september\tseptembre", "station\tgare"]


def test_the_glossary_translates_unknown_copied_words_but_not_names():
    entries = ["africa\tAfrique", "jack\tbambin", "september\tseptembre", "station\tgare", "went\tallé"]
    glossary = Glossary(entries, source_vocabulary=["", "[UNK]", "went", "to", "africa", "september"])
    # "went" is the model's to translate; a known place or month it copies as a name is not.
    assert glossary.size == 4
    rewrite = copy_unknown_words(1, glossary=glossary)
    source = tf.constant([["Jack", "went", "to", "Africa", "in", "September", "by", "station", "Bob"]])
    attention = np.zeros((1, 5, 9), np.float32)
    for output, word in enumerate([0, 3, 5, 7, 8]):
        attention[0, output, word] = 1.0
    ids = tf.constant([[1, 1, 1, 1, 1]])
    out = rewrite(ids, tf.fill([1, 5], "[UNK]"), {"attention": tf.constant(attention)}, {"source_tokens": source})
    # A name stays (even opening the sentence); a place and a month are translated, as is a common word.
    assert [t.decode() for t in out.numpy()[0]] == ["Jack", "Afrique", "septembre", "gare", "Bob"]


def test_a_name_or_number_put_in_place_of_the_sources_own_is_given_back():
    source = tf.constant([["I", "went", "to", "Kobe", "with", "Tom'", "in", "1990", "by", "train", "."]])
    source_vocabulary = ["", "[UNK]", "i", "went", "to", "with", "tom", "in", "by", "train", ".", "boston", "mary",
                         "africa"]
    glossary = Glossary(["africa\tAfrique"], source_vocabulary)
    from datasets.vocabulary import vectorizer_from_vocabulary

    rewrite = give_back_names(1, vectorizer_from_vocabulary(source_vocabulary), glossary=glossary)
    #         output token, the source word it attends to most
    steps = [("Je", 0), ("suis", 1), ("allé", 2), ("à", 2), ("Boston", 3),   # a name for another name: given back
             ("avec", 4), ("Mary", 9),                                       # attends "train", no name: kept
             ("Tom", 5),                                                     # in the source ("Tom's"): kept
             ("en", 6), ("7", 7),                                            # a number for another: given back
             ("Londres", 3),                                                 # English does not write it so: kept
             ("24", 5), ("Boston", 7), (".", 10)]                            # no number for a name, no name for one
    attention = np.zeros((1, len(steps), 11), np.float32)
    for row, (_, word) in enumerate(steps):
        attention[0, row, word] = 1.0
    tokens = tf.constant([[token for token, _ in steps]])
    ids = tf.fill([1, len(steps)], 5)
    out = rewrite(ids, tokens, {"attention": tf.constant(attention)}, {"source_tokens": source}).numpy()[0]
    assert [t.decode() for t in out] == ["Je", "suis", "allé", "à", "Kobe", "avec", "Mary", "Tom", "en", "1990",
                                         "Londres", "24", "Boston", "."]
    # A capital opening the output says nothing (it may be "Tu"): kept, though it attends a name.
    source = tf.constant([["So", "Kobe", "is", "Kobe"]])
    attention = tf.constant(np.eye(4, dtype=np.float32)[[1, 2, 3]][None])
    out = rewrite(tf.fill([1, 3], 5), tf.constant([["Boston", "est", "Boston"]]), {"attention": attention},
                  {"source_tokens": source}).numpy()[0]
    assert [t.decode() for t in out] == ["Boston", "est", "Kobe"]
    # French writes 2:30 pm "14 h 30": an afternoon hour before "h" is a translation, kept; one not
    # before "h", or 12 hours off another hour, is given back.
    source = tf.constant([["at", "2", ":", "30", "or", "9"]])
    steps = [("à", 0), ("14", 1), ("h", 2), ("30", 3), ("ou", 4), ("14", 1), ("ou", 4), ("17", 1), ("h", 5)]
    attention = tf.constant(np.eye(6, dtype=np.float32)[[word for _, word in steps]][None])
    out = rewrite(tf.fill([1, len(steps)], 5), tf.constant([[token for token, _ in steps]]), {"attention": attention},
                  {"source_tokens": source}).numpy()[0]
    assert [t.decode() for t in out] == ["à", "14", "h", "30", "ou", "2", "ou", "2", "h"]
