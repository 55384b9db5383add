"""Case and unknown words in the output: a cased target vocabulary, and unknown words copied.

The vocabularies are lower-case, so that "Il" and "il" are one entry. Two things give the
output its capitals and its rare words back, both inside the exported graph (plain TF ops):

  * Truecasing. `truecasing_tables` maps each lower-case target token to the form it most often
    has *inside* a training sentence ("noé" -> "Noé", "dieu" -> "Dieu", "le" -> "le"), where a
    capital means a name rather than a sentence start. The server reads its output tokens from
    this list instead of the lower-case one; `capitalize_sentence_starts` then does the sentence
    starts. Where the word before decides (a bigram truecaser, Lita et al. 2003, "tRuEcasIng"),
    it also lists the form a word most often has after a given word when it differs from
    its usual one: "le fils" -> "le Fils", "saint esprit" -> "saint Esprit", "mon seigneur" ->
    "mon seigneur" (usually "Seigneur").
  * Copying unknown words (Luong et al. 2015, "Addressing the rare word problem in neural
    machine translation", the PosUnk idea with the attention as the alignment): the model is
    allowed to emit [UNK] where it learnt that a rare word goes, and each [UNK] becomes the
    source word (as typed, case kept) that the decoder attended to most at that step. Names and
    numbers the vocabularies never saw come through unchanged ("Jane", "1850").
  * A glossary for unknown words (Luong et al.'s dictionary fallback): when the copied source
    word is outside the source vocabulary and a bilingual glossary knows it, its translation
    replaces the copy ("September" -> "septembre", "Africa" -> "Afrique"); so it does for a place,
    a month or a day the model knows but copies as a name (a word seen a few times, whose
    translation the model has not learnt). A capitalised word,
    even one opening the sentence, is taken for a name unless its French is capitalised too (a
    place) or it is a month or a day, which English capitalises and French does not: "Jack" stays
    "Jack" although the glossary has "jack" -> "bambin".
"""

import collections

# A token after one of these starts a sentence (or direct speech), so its capital says nothing.
# Not the hyphen: "va-t-il", "dit-il" are mid-sentence.
SENTENCE_OPENERS = frozenset({".", "!", "?", "…", ":", "«", '"', "—", "(", "["})
ENGLISH_SENTENCE_OPENERS = (".", "!", "?", ":", '"', "(")
# After these a French sentence (or quoted speech) starts with a capital.
INNER_SENTENCE_OPENERS = (".", "!", "?", "…", "«", ":")
CASED_VOCABULARY = "cased_target"  # the model directory's cased_target_vocabulary.txt
CASED_BIGRAMS = "cased_bigrams"  # cased_bigrams_vocabulary.txt: "previous<TAB>word<TAB>Form" a line
GLOSSARY = "glossary"  # the model directory's glossary_vocabulary.txt: "english<TAB>french" a line
MONTHS_AND_DAYS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)


def truecasing_tables(target_vocabulary, french_texts, known_forms=(), min_count=2):
    """The cased forms of the target words, alone and after a given word, from one pass over
    `french_texts`.

    Args:
        target_vocabulary: list of lower-case tokens (index = id).
        french_texts: the training split's French sentences, cased.
        known_forms: the cased forms of the first len(known_forms) tokens, kept as they are (a
            grown vocabulary keeps its old words' forms: the new data may lack them).
        min_count: the fewest times two words must be seen together for a bigram entry.

    Returns:
        {CASED_VOCABULARY: list of str aligned with `target_vocabulary`, the most frequent
        mid-sentence form of each token (one never seen mid-sentence keeps its lower-case form;
        ties go to the lower-case form)} and, where any, {CASED_BIGRAMS: lines
        "previous<TAB>word<TAB>Form"}: the most frequent mid-sentence form of a word after a given
        previous word, where it differs from the word's own. Only a word (with a letter) counts as
        the previous token: after punctuation, a capital is a layout of one source (the Louis
        Segond Bible opens each line of a poem with one), not French.
    """
    forms, after = _mid_sentence_forms(french_texts)
    known_forms = list(known_forms)
    cased = known_forms + [_best_form(token, forms.get(token)) for token in target_vocabulary[len(known_forms):]]
    usual = dict(zip(target_vocabulary, cased, strict=True))
    bigrams = []
    for (previous, word), counts in sorted(after.items()):
        if word in usual and sum(counts.values()) >= min_count and any(c.isalpha() for c in previous):
            form = _best_form(word, counts)
            if form != usual[word]:
                bigrams.append(f"{previous}\t{word}\t{form}")
    return {CASED_VOCABULARY: cased, **({CASED_BIGRAMS: bigrams} if bigrams else {})}


def _mid_sentence_forms(french_texts):
    """Counts of each lower-case token's cased forms inside a sentence: per token, and per
    (previous token, token)."""
    from datasets.vocabulary import tokenize_many

    forms = collections.defaultdict(collections.Counter)
    after = collections.defaultdict(collections.Counter)
    lower, cased = tokenize_many(french_texts), tokenize_many(french_texts, lowercase=False)
    for lower_tokens, cased_tokens in zip(lower, cased, strict=True):
        if len(lower_tokens) != len(cased_tokens):  # lower-casing changed a token boundary: rare
            continue
        for position in range(1, len(cased_tokens)):
            if cased_tokens[position - 1] not in SENTENCE_OPENERS:
                forms[lower_tokens[position]][cased_tokens[position]] += 1
                after[lower_tokens[position - 1], lower_tokens[position]][cased_tokens[position]] += 1
    return forms, after


def _best_form(token, counts):
    if not counts:
        return token
    return max(counts, key=lambda form: (counts[form], form == token))


def glossary_entries(pairs):
    """Glossary lines "english<TAB>french" from (english, french) dictionary pairs: one-word
    headwords, lower case, each with its first French equivalent (the dictionary's most usual).
    An entry whose French is its English but for accents and case ("paris" -> "Pâris") is left
    out: copying the word as typed is as good or better."""
    import unicodedata

    def plain(text):
        return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))

    first = {}
    for english, french in pairs:
        english, french = english.strip().lower(), french.strip()
        if english and french and len(english.split()) == 1 and "\t" not in french + english:
            first.setdefault(english, french)
    return [f"{english}\t{french}" for english, french in sorted(first.items()) if plain(french) != english]


class Glossary:
    """The glossary entries for the source words a model does not know, as a lookup layer.

    Args:
        entries: "english<TAB>french" lines (`glossary_entries`).
        source_vocabulary: the model's source vocabulary: words in it are the model's to translate,
            except places, months and days, which it may copy as names.
    """

    def __init__(self, entries, source_vocabulary):
        import keras

        known = set(source_vocabulary)
        pairs = [entry.split("\t", 1) for entry in entries]
        # A place, month or day is translated even where the English is capitalised (module docstring).
        pairs = [(english, french, french[:1].isupper() or english in MONTHS_AND_DAYS) for english, french in pairs]
        pairs = [(english, french, for_names) for english, french, for_names in pairs
                 if english not in known or for_names]
        self.size = len(pairs)
        # Index 0 for a word not in the glossary, i + 1 for entry i.
        self.lookup = keras.layers.StringLookup(vocabulary=[english for english, _, _ in pairs] or ["\t"],
                                                num_oov_indices=1, mask_token=None, name="glossary")
        self.translations = ["", *(french for _, french, _ in pairs)]
        self.for_names = [False, *(for_names for _, _, for_names in pairs)]

    def translate(self, words):
        """(B, L) words as typed -> (B, L) their translations, "" where none applies (not in the
        glossary, or a capitalised word whose French is not capitalised: see the module)."""
        import tensorflow as tf

        names = tf.strings.regex_full_match(words, r"\p{Lu}.*") & tf.not_equal(words, "I")
        index = tf.cast(self.lookup(tf.strings.lower(words, encoding="utf-8")), tf.int32)
        french = tf.gather(tf.constant(self.translations), index)
        for_names = tf.gather(tf.constant(self.for_names), index)
        return tf.where((index > 0) & (~names | for_names), french, "")


def copy_unknown_words(unknown_id, source_tokens="source_tokens", glossary=None):
    """A `SequenceServer` `rewrite_tokens`: each [UNK] output becomes its most attended source token,
    or that token's translation if `glossary` (a `Glossary`) has one.

    Args:
        unknown_id: the target vocabulary's [UNK] id.
        source_tokens: the passthrough entry with the (B, S) source tokens, as typed.
        glossary: a `Glossary` or None.
    """
    import tensorflow as tf

    def rewrite(ids, tokens, outputs, passthrough):
        source = passthrough[source_tokens]
        attention = outputs["attention"]  # (B, L, S'), S' >= S is the model's padded source length
        width = tf.shape(source)[1]
        aligned = tf.argmax(attention[:, :, :width], axis=-1, output_type=tf.int32)  # (B, L)
        copied = tf.gather(source, aligned, batch_dims=1)
        if glossary is not None:
            translated = tf.gather(glossary.translate(source), aligned, batch_dims=1)
            copied = tf.where(tf.equal(translated, ""), copied, translated)
        return tf.where(tf.equal(ids, unknown_id), copied, tokens)

    return rewrite


def give_back_names(unknown_id, source_vectorizer, source_tokens="source_tokens", glossary=None):
    """A `SequenceServer` `rewrite_tokens`: names and numbers the model put in place of the
    source's own, given back.

    A model that has seen few names learns the frequent ones as words, and writes them where
    another name stood: "I went to Kobe by train." -> "... à Boston ...", "I am 24 years old." ->
    "... 7 ans". An output number, or an output name that English writes the same way (its
    lower-case form is in the source vocabulary: "Boston", "Mary", "Tom"; not "Londres",
    "Seigneur"), that is nowhere in the source, becomes the source word the decoder attended to
    most at that step, when that word is itself a number or a name (`copyable_source_words`):
    a number for a number, a name for a name (translated by the glossary where it has an entry
    for names, as a copied unknown word is). A capital opening the output says nothing, and is
    left alone, as is an afternoon hour on the 24-hour clock ("2:30" -> "14 h 30").

    Args:
        unknown_id: the target vocabulary's [UNK] id (a copied word is not rewritten again).
        source_vectorizer: the server's source `TextVectorization`, which says whether English
            has a word (no table of its own: the SavedModel's variables stay as they were).
        source_tokens: the passthrough entry with the (B, S) source tokens, as typed.
        glossary: a `Glossary` or None.
    """
    import tensorflow as tf

    def in_source_vocabulary(words):
        ids = source_vectorizer(tf.reshape(words, [-1]))  # (B * L, T): one token per word, padded
        first = tf.pad(ids, [[0, 0], [0, 1]])[:, 0]
        return tf.reshape(first > 1, tf.shape(words))  # 0 padding, 1 [UNK]

    def rewrite(ids, tokens, outputs, passthrough):
        source = passthrough[source_tokens]  # (B, S) as typed
        width = tf.shape(source)[1]
        aligned = tf.argmax(outputs["attention"][:, :, :width], axis=-1, output_type=tf.int32)  # (B, L)
        attended = tf.gather(source, aligned, batch_dims=1)
        digits = r".*\pN.*"
        source_number = tf.strings.regex_full_match(source, digits)
        source_name = english_names(source) & ~source_number
        previous = tf.pad(tokens[:, :-1], [[0, 0], [1, 0]])
        opens = tf.reduce_any(tf.equal(previous[..., None], ["", *INNER_SENTENCE_OPENERS]), axis=-1)
        lower = tf.strings.lower(tokens, encoding="utf-8")
        output_number = tf.strings.regex_full_match(tokens, digits)
        output_name = (tf.strings.regex_full_match(tokens, r"\p{Lu}.*") & ~opens & ~output_number
                       & in_source_vocabulary(lower))
        # Letters and digits only: "Tom" is in a source that holds "Tom'" (the tokenizer's "Tom's").
        in_source = tf.reduce_any(tf.equal(_bare(tokens)[:, :, None], _bare(source)[:, None, :]), axis=-1)
        replacement = tf.strings.regex_replace(attended, r"['’]+$", "")
        if glossary is not None:
            translated = tf.gather(glossary.translate(source), aligned, batch_dims=1)
            replacement = tf.where(tf.equal(translated, ""), replacement, translated)
        swap = ((output_number & tf.gather(source_number, aligned, batch_dims=1))
                | (output_name & tf.gather(source_name, aligned, batch_dims=1)))
        swap = swap & ~in_source & ~_afternoon_hour(tokens, attended) & tf.not_equal(ids, unknown_id)
        return tf.where(swap, replacement, tokens)

    return rewrite


def _afternoon_hour(tokens, attended):
    """(B, L) bool: the token is the 24-hour clock's form of the attended English hour, before "h" or
    "heure(s)" ("2:30" -> "14 h 30"): French writes the afternoon so, and it is a translation."""
    import tensorflow as tf

    hours = [str(hour) for hour in range(1, 13)]
    afternoon = [str(hour + 12) for hour in range(1, 13)]
    after = tf.pad(tokens[:, 1:], [[0, 0], [0, 1]])
    same_hour = tf.equal(attended[..., None], hours) & tf.equal(tokens[..., None], afternoon)
    return tf.reduce_any(same_hour, axis=-1) & tf.reduce_any(tf.equal(after[..., None], ["h", "heure", "heures"]),
                                                             axis=-1)


def _bare(words):
    """Words lower-cased, with their letters and digits only."""
    import tensorflow as tf

    return tf.strings.regex_replace(tf.strings.lower(words, encoding="utf-8"), r"[^\pL\pN]+", "")


class CasedBigrams:
    """`truecasing_tables`' bigram lines as a lookup layer, and the `rewrite_tokens` that applies them."""

    def __init__(self, lines):
        import keras

        entries = [line.split("\t") for line in lines]
        # Index 0 for a pair not listed, i + 1 for entry i.
        self.lookup = keras.layers.StringLookup(vocabulary=[f"{p}\t{w}" for p, w, _ in entries] or ["\t"],
                                                num_oov_indices=1, mask_token=None, name="cased_bigrams")
        self.forms = ["", *(form for _, _, form in entries)]

    def rewrite(self, unknown_id):
        """A `rewrite_tokens`: each output token but a copied one ([UNK]) takes the form listed
        for it after the token before, if any."""
        import tensorflow as tf

        def rewrite(ids, tokens, outputs, passthrough):
            lower = tf.strings.lower(tokens, encoding="utf-8")
            previous = tf.pad(lower[:, :-1], [[0, 0], [1, 0]])
            index = tf.cast(self.lookup(tf.strings.join([previous, lower], separator="\t")), tf.int32)
            form = tf.gather(tf.constant(self.forms), index)
            return tf.where((index > 0) & tf.not_equal(ids, unknown_id), form, tokens)

        return rewrite


def capitalize_sentence_starts(openers=INNER_SENTENCE_OPENERS, source_tokens="source_tokens"):
    """A `rewrite_tokens`: sentence starts upper-cased: the first letter of a token after one of
    `openers` ("... terre . Et Dieu ...", "dit : Vous ..."), and of the first token when the
    source starts with a capital (or no letter): a source that continues a sentence ("and he
    said, ...") gives an output that does too ("et il dit, ...")."""
    import tensorflow as tf

    from apps.common.serving import capitalize_first

    def rewrite(ids, tokens, outputs, passthrough):
        previous = tf.pad(tokens[:, :-1], [[0, 0], [1, 0]])
        after_opener = tf.reduce_any(tf.equal(previous[..., None], list(openers)), axis=-1)
        source_first = passthrough[source_tokens][:, :1]  # (B, 1)
        source_capitalized = tf.logical_not(tf.strings.regex_full_match(source_first, r"\p{Ll}.*"))
        first_position = tf.equal(tf.range(tf.shape(tokens)[1]), 0)[None]
        starts = after_opener | (first_position & source_capitalized)
        return tf.where(starts, capitalize_first(tokens), tokens)

    return rewrite


def copyable_source_words(ids, tokens, source_unknown_id=1):
    """(B, S) bool: the source words an [UNK] output may copy: words outside the source
    vocabulary, numbers, and names (capitalised, not opening a sentence, not "I").

    Args:
        ids: (B, S) int source ids; tokens: (B, S) the same words as typed (case kept).
    """
    import tensorflow as tf

    number = tf.strings.regex_full_match(tokens, r".*\pN.*")
    return tf.equal(ids, source_unknown_id) | english_names(tokens) | number


def english_names(tokens):
    """(B, S) bool: capitalised English words that do not open a sentence, "I" aside."""
    import tensorflow as tf

    previous = tf.pad(tokens[:, :-1], [[0, 0], [1, 0]])  # "" before the first word: it opens
    opens_sentence = tf.reduce_any(tf.equal(previous[..., None], ["", *ENGLISH_SENTENCE_OPENERS]), axis=-1)
    return tf.strings.regex_full_match(tokens, r"\p{Lu}.*") & ~opens_sentence & tf.not_equal(tokens, "I")


def unknown_only_at_copyable_words(unknown_id):
    """A `SequenceServer` `constrain_step`: [UNK] may be output only where the decoder attends
    most to a copyable source word (`copyable_source_words`, the server's "step_inputs"), so a
    common word the model knows is translated, never copied ("cold" stays "froid").

    Args:
        unknown_id: the target vocabulary's [UNK] id.
    """
    import tensorflow as tf

    def constrain(step, constants, copyable):
        def constrained(tokens, state, both, index):
            model_constants, copyable_rows = both
            logits, state, outputs = step(tokens, state, model_constants, index)
            width = tf.shape(copyable_rows)[1]
            aligned = tf.argmax(outputs["attention"][:, :width], axis=-1, output_type=tf.int32)
            allowed = tf.gather(copyable_rows, aligned, batch_dims=1)  # (N,)
            banned = tf.logical_and(tf.equal(tf.range(tf.shape(logits)[-1]), unknown_id)[None],
                                    tf.logical_not(allowed)[:, None])
            return tf.where(banned, tf.cast(-1e9, logits.dtype), logits), state, outputs

        return constrained, (constants, copyable)

    return constrain


def names_and_numbers_kept(sources, outputs, source_vocabulary):
    """How many names and numbers of sources with unknown words come out unchanged.

    Looks only at sentences with at least one word outside `source_vocabulary` (the rare-word
    case). A number is a token with a digit; a name, a capitalised token that does not open a
    sentence (and is not "I"). Kept: the same token, same case, is among the output's tokens.

    Returns:
        dict: "sentences" (with an unknown word), "names_and_numbers", "kept" (a fraction, or
        None when there is nothing to count).
    """
    from datasets.vocabulary import tokenize_many

    known = set(source_vocabulary)
    cased_sources = tokenize_many(sources, lowercase=False)
    output_tokens = tokenize_many(outputs, lowercase=False)
    sentences = candidates = kept = 0
    for tokens, produced in zip(cased_sources, output_tokens, strict=True):
        if all(token.lower() in known for token in tokens):
            continue
        sentences += 1
        produced = set(produced)
        for position, token in enumerate(tokens):
            if _is_number(token) or _is_name(tokens, position):
                candidates += 1
                kept += token in produced
    return {"sentences": sentences, "names_and_numbers": candidates,
            "kept": round(kept / candidates, 4) if candidates else None}


def _is_number(token):
    return any(character.isdigit() for character in token)


def _is_name(tokens, position):
    token = tokens[position]
    opens_sentence = position == 0 or tokens[position - 1] in SENTENCE_OPENERS
    return token[:1].isupper() and token != "I" and not opens_sentence
