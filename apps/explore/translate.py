"""The page's translation: English in, French out, the beam's cross-attention and, for the
Transformer, every layer's and head's attention (cross and encoder self-attention).

The French and the beam's attention come from the SavedModel's `generate_with_beam`, as
`python -m apps.translate` gets them; the n-best list from the same server run in-process
(`n_best`); a paragraph is cut into sentences as the command line cuts it (`split_into_chunks`).
The Transformer's per-layer, per-head maps are not exported: they come from the Keras model
(`TransformerTranslator.attention_maps`), teacher-forced on the French the beam chose, so its
last layer averaged over heads is the beam's map again.
"""

import numpy as np

from apps.explore.inputs import InputError

MAX_WORDS = 200
MAX_PAGE_BEAM = 8
DIGITS = 3  # weights are rounded for the page: a map of 60 x 60 words stays a small answer


def answer(models, fields, files):
    from apps.common.serving import run_in_batches, token_list
    from apps.common.task import DEFAULT_BEAM_SIZE
    from apps.translate.task import split_into_chunks

    text = fields.text("text", MAX_WORDS)  # checked before a model loads: a bad request is answered at once
    loaded = models.get("translate", fields.values.get("model"))
    beam = fields.integer("beam", loaded.config().get("beam_size", DEFAULT_BEAM_SIZE), 1, MAX_PAGE_BEAM)
    chunks = split_into_chunks(text)
    if not chunks:
        raise InputError("text: nothing to translate: type an English sentence")
    rows = run_in_batches(loaded.signature("generate_with_beam"), chunks, len(chunks), "text",
                          keep=("text", "score", "tokens", "source_tokens", "attention"), beam_size=beam)
    transformer = loaded.config().get("architecture") == "transformer"
    sentences = []
    for chunk, row in zip(chunks, rows, strict=True):
        source, target = token_list(row["source_tokens"]), token_list(row["tokens"])
        sentence = {"source": chunk, "translation": row["text"].decode("utf-8"), "score": round(float(row["score"]), 4),
                    "source_tokens": source, "target_tokens": target,
                    "attention": rounded(row["attention"][: len(target), : len(source)])}
        if transformer and target and source:
            sentence["layers"] = layer_attention(loaded, chunk, target)
        if beam > 1:
            sentence["n_best"] = n_best(loaded, chunk, beam)
        sentences.append(sentence)
    return {"model": loaded.name, "beam": beam,
            "translation": " ".join(s["translation"] for s in sentences), "sentences": sentences}


def n_best(loaded, source_text, beam):
    """[{"translation", "score"}] of the beam's finished hypotheses, best first (the first is the answer).

    The exported `generate_with_beam` returns the best only, so the page runs the same server
    (`task.build_server`, the SavedModel's module) in this process on the Keras model, asking the
    one deterministic search for each rank (`BeamSampler(rank=r)`); compiled once per model.
    """
    import tensorflow as tf

    from apps.common.decoding import BeamSampler

    def make():
        server = loaded.runner.task.build_server(loaded.keras_model(), loaded.vocabularies(), loaded.config())
        penalty = server.length_penalty

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([], tf.int32),
                                      tf.TensorSpec([], tf.int32)])
        def ranked(raw, beam_size, rank):
            outputs = server.generate(raw, BeamSampler(beam_size, penalty, rank))
            return outputs["text"], outputs["score"]

        return ranked

    ranked = loaded.made("n-best", make)
    found = []
    for rank in range(beam):
        text, score = ranked(tf.constant([source_text]), tf.constant(beam), tf.constant(rank))
        score = float(score.numpy()[0])
        text = text.numpy()[0].decode("utf-8")
        # -inf: fewer hypotheses finished than the beam holds. Two token sequences may read the
        # same (a copied name and the word itself): the page lists each text once, at its best.
        if np.isfinite(score) and text not in {h["translation"] for h in found}:
            found.append({"translation": text, "score": round(score, 4)})
    return found


def layer_attention(loaded, source_text, target_tokens):
    """{"cross": [layer][head] (T, S), "encoder": [layer][head] (S, S)} of a Transformer, teacher-forced.

    The French words shown are read back as target ids (a cased or copied word as the word the
    model wrote: [UNK] for a copied name), after START, so row t is the attention that chose word t.
    """
    import tensorflow as tf

    from apps.translate.task import MAX_SOURCE_TOKENS, START
    from datasets.vocabulary import OOV_TOKEN, vectorizer_from_vocabulary

    vectorizer = loaded.made("source vectorizer", lambda: vectorizer_from_vocabulary(loaded.vocabulary("source")))
    source = vectorizer(tf.constant([source_text])).numpy()[0]
    source = source[source != 0][:MAX_SOURCE_TOKENS]
    ids = loaded.made("target ids", lambda: target_ids(loaded.vocabularies()))
    unknown = ids[OOV_TOKEN]
    target_in = [ids[START], *(ids.get(token, ids.get(token.lower(), unknown)) for token in target_tokens[:-1])]
    maps = loaded.keras_model().attention_maps(source[None], np.array([target_in]))
    return {name: [rounded(np.asarray(layer)[0]) for layer in layers] for name, layers in maps.items()}


def target_ids(vocabularies):
    """{word: target id} of the target vocabulary and, where the model has them, its cased forms."""
    from apps.translate.casing import CASED_VOCABULARY

    ids = {word: index for index, word in enumerate(vocabularies["target"])}
    for index, word in enumerate(vocabularies.get(CASED_VOCABULARY, ())):
        ids.setdefault(word, index)
    return ids


def rounded(weights):
    return np.round(np.asarray(weights, dtype=np.float64), DIGITS).tolist()
