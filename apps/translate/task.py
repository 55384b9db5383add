"""What is specific to English->French translation: pairs, vocabularies, French typography, BLEU.

Everything else (the commands, model directories, training set-up, serving) is the shared
runner's (`apps.common`). Module level imports no TensorFlow: `fit` may run on JAX.
"""

import argparse
import re
import sys
from pathlib import Path

from apps.common import cli
from apps.common.cli import positive_int, print_json
from apps.common.task import DEFAULT_BEAM_SIZE, DEFAULT_LENGTH_PENALTY, Task
from apps.translate.casing import CASED_BIGRAMS, CASED_VOCABULARY, GLOSSARY
from apps.translate.presets import PRESETS

START, END = "[start]", "[end]"
SHIPPED = Path(__file__).resolve().parents[2] / "saved_models" / "translate"
MAX_SOURCE_TOKENS = 100  # longer inputs are cut here; `predict` splits paragraphs into sentences first
MAX_CHUNK_WORDS = 60  # sentences longer than this are cut (with a warning)
UNKNOWN_WORDS = ("copy", "copy-any", "suppress")  # see `TranslationTask.build_server`
FEW_SENTENCES = 64  # up to this many, start fast rather than optimise the graph

# Tokens are joined with spaces, then French typography is restored.
# An elided word before a consonant is written in full: a copied or glossary word can follow an
# elision the model chose for a vowel ("d' coffee" -> "de coffee"); h is left alone (l'homme).
_CONSONANT = "[b-df-gj-np-tv-xzB-DF-GJ-NP-TV-XZ]"  # not h (l'homme), not y (il n'y a)
FRENCH_CLEANUPS = (
    (rf"\b([dDjJlLmMnNsStTcC]|[qQ]u)' ({_CONSONANT})", r"\1e \2"),
    (r" ([.,)\]…])", r"\1"),  # no space before . , ) ]
    (r"([(\[]) ", r"\1"),  # none after ( [
    (r"(\pL)' ", r"\1'"),  # elision: "l' homme" -> "l'homme"
    (r"(\pL) - (\pL)", r"\1-\2"),  # "dit - il" -> "dit-il"
    (r"(\pL) - (\pL)", r"\1-\2"),  # again for chains: "va-t - il" -> "va-t-il" (RE2 has no lookahead)
)


def target_text(french):
    return f"{START} {french} {END}"


def references_by_source(pairs):
    """{english: [french, ...]} in the order of first appearance: every translation of a sentence
    is a reference for it (the Anki file has up to 32), the first one first."""
    groups = {}
    for english, french in pairs:
        groups.setdefault(english, []).append(french)
    return groups


def split_into_chunks(text):
    """Sentences of at most MAX_CHUNK_WORDS words: long paragraphs are translated piece by piece."""
    chunks = []
    for sentence in re.split(r"(?<=[.!?…])\s+", text.strip()):
        words = sentence.split()
        if len(words) > MAX_CHUNK_WORDS:
            print(f"warning: a sentence of {len(words)} words was cut to {MAX_CHUNK_WORDS}", file=sys.stderr)
            words = words[:MAX_CHUNK_WORDS]
        if words:
            chunks.append(" ".join(words))
    return chunks


class TranslationTask(Task):
    name = "translate"
    description = sys.modules["apps.translate"].__doc__
    predict_command = "translate"
    predict_help = "translate sentences (the default command)"
    inputs_metavar = "sentences"
    inputs_help = "English sentences; '-' reads one per line from stdin"
    nothing_to_do = "nothing to translate: give sentences as arguments, or '-' to read them from stdin"
    json_help = "print JSON: source, translation, score"
    train_help = "train a model on an Anki file, the bundled corpora or the downloaded ones (everyday)"
    eval_help = "corpus BLEU and chrF on a held-out split, greedy and beam"
    export_help = "write a SavedModel: strings in, translations out"
    example_noun = "pairs"
    shipped_dir = SHIPPED
    shipped_models = ("attention-gru", "transformer")
    default_model = "transformer"  # ahead on every validation corpus but the 44 Tux Paint captions (card)
    presets = PRESETS
    # The model indexes source and target; cased_target gives each target id its cased form (casing.py).
    vocabulary_names = ("source", "target", CASED_VOCABULARY)
    # "english<TAB>french" lines for unknown source words (`upgrade --glossary`), and the forms a
    # word takes after a given word ("le fils" -> "le Fils"), which older models lack (casing.py).
    optional_vocabulary_names = (GLOSSARY, CASED_BIGRAMS)
    carried_config_keys = ("glossary",)  # what the glossary is (`upgrade --glossary`)

    # --- command line ----------------------------------------------------------------------------

    def add_data_arguments(self, parser, command):
        parser.add_argument("--data", default="bundled",
                            help="an Anki/ManyThings fra.txt or fra-eng.zip file, or corpora by name joined by '+': "
                            "'bundled' (default), 'modern', 'everyday' (anki+multi30k), one corpus (anki, multi30k, "
                            "newstest2014, bible, ...; python -m datasets summary lists them); NAME*K repeats a "
                            "corpus's training pairs K times to weight it in the mix ('bundled+everyday+bible*2')")

    def add_vocabulary_arguments(self, parser):
        parser.add_argument("--vocabulary-size", type=positive_int, default=8000, help="per language")
        parser.add_argument("--max-words", type=positive_int, default=40, help="drop longer training pairs")

    def add_train_arguments(self, parser):
        parser.add_argument("--label-smoothing", type=float,
                            help="target smoothing (default: 0.1 for the Transformer, else 0)")

    def add_predict_arguments(self, parser):
        parser.add_argument("--attention", metavar="FILE.png", type=cli.output_file,
                            help="save a heat map of the attention weights")

    def add_eval_arguments(self, parser):
        parser.add_argument("--beam", type=positive_int, default=DEFAULT_BEAM_SIZE,
                            help="beam size compared with greedy")

    # --- data ------------------------------------------------------------------------------------

    def load_split(self, args, split):
        """A split of the bundled corpora, one of them by name, or an Anki file (the loader checks
        which), without the pairs longer than --max-words."""
        from datasets.translation import load_translation_pairs

        return load_translation_pairs(args.data, split, max_words=args.max_words)

    def load_eval_split(self, args, split):
        """As `load_split`, with the loader's default length limit (eval has no --max-words)."""
        from datasets.translation import load_translation_pairs

        return load_translation_pairs(args.data, split)

    def build_vocabularies(self, train_pairs, args):
        """Source and target vocabularies, and the target's cased forms, from the training pairs only."""
        from apps.translate.casing import truecasing_tables
        from datasets.vocabulary import build_vectorizer

        source = build_vectorizer([english for english, _ in train_pairs], max_tokens=args.vocabulary_size)
        target = build_vectorizer([target_text(french) for _, french in train_pairs],
                                  max_tokens=args.vocabulary_size).get_vocabulary()
        return {"source": source.get_vocabulary(), "target": target,
                **truecasing_tables(target, [french for _, french in train_pairs])}

    def grown_vocabularies(self, vocabularies, train_pairs, count):
        """The source and target vocabularies with up to `count` new words each from `train_pairs`;
        the cased forms are found again for the grown target vocabulary."""
        from apps.common.vocabulary_growth import grown_vocabulary
        from apps.translate.casing import truecasing_tables
        from datasets.vocabulary import tokenize_many

        source = grown_vocabulary(vocabularies["source"], tokenize_many([e for e, _ in train_pairs]), count)
        target = grown_vocabulary(vocabularies["target"], tokenize_many([f for _, f in train_pairs]), count)
        # Old words keep their cased forms (the new data may lack them); new words get theirs.
        tables = truecasing_tables(target, [french for _, french in train_pairs], vocabularies[CASED_VOCABULARY])
        kept = {GLOSSARY: vocabularies[GLOSSARY]} if GLOSSARY in vocabularies else {}
        return {"source": source, "target": target, **tables, **kept}

    def encode(self, pairs, vocabularies):
        """(source ids cut to MAX_SOURCE_TOKENS, "[start] french [end]" ids), lists of id lists."""
        from datasets.vocabulary import vectorizer_from_vocabulary

        source = vectorizer_from_vocabulary(vocabularies["source"])
        target = vectorizer_from_vocabulary(vocabularies["target"])
        source_ids = [ids[:MAX_SOURCE_TOKENS] for ids in _vectorize(source, [e for e, _ in pairs])]
        return source_ids, _vectorize(target, [target_text(f) for _, f in pairs])

    def model_batch(self, source, target):
        return (source, target[:, :-1]), target[:, 1:]

    # --- model -----------------------------------------------------------------------------------

    def architecture(self, name):
        from apps.translate.model import ARCHITECTURES

        return ARCHITECTURES[name]

    def example_batch(self):
        from apps.translate.model import example_batch

        return example_batch()

    def build_model(self, architecture, arguments, vocabularies):
        model = self.architecture(architecture)(len(vocabularies["source"]), len(vocabularies["target"]),
                                                **arguments)
        model(self.example_batch())
        return model

    def config_extras(self):
        return {**super().config_extras(), "unknown_words": "copy"}

    def compile(self, model, architecture, args):
        from apps.translate.model import compile_for_training

        compile_for_training(model, architecture, args.learning_rate, args.label_smoothing)

    def training_record(self, args):
        from apps.translate.model import default_label_smoothing

        return {"label_smoothing": default_label_smoothing(args.model, args.label_smoothing)}

    # --- serving ---------------------------------------------------------------------------------

    def build_server(self, model, vocabularies, config, beam_size=None, unknown_words=None):
        """The string-to-string `SequenceServer`: English in, French out, beam search in-graph.

        unknown_words (`UNKNOWN_WORDS`; default: the config's, "suppress" for models of older
        versions): what becomes of the [UNK] the model learnt to emit for rare words (casing.py).
            "copy"       emitted only where the decoder attends most to a name, a number or a
                         source word outside the vocabulary, and replaced by that word as typed;
            "copy-any"   emitted wherever the model likes, replaced by the most attended word
                         (Luong et al. 2015);
            "suppress"   never emitted.
        With "copy" or "copy-any", a glossary in `vocabularies` translates a copied word that the
        source vocabulary lacks (casing.py); and with the config's "keep_names", a number or a
        name the model put in place of the source's own is given back (`casing.give_back_names`).
        """
        from apps.common.serving import TEXT, SequenceServer, capitalize_first
        from apps.translate.casing import (
            CasedBigrams,
            Glossary,
            capitalize_sentence_starts,
            copy_unknown_words,
            give_back_names,
            unknown_only_at_copyable_words,
        )
        from apps.translate.model import PAD_ID
        from datasets.vocabulary import OOV_TOKEN, vectorizer_from_vocabulary

        source_vectorizer = vectorizer_from_vocabulary(vocabularies["source"])
        target = vocabularies["target"]
        start_id, unknown_id = target.index(START), target.index(OOV_TOKEN)
        cased = CASED_VOCABULARY in vocabularies
        policy = unknown_words or config.get("unknown_words", "suppress")
        copy = policy in ("copy", "copy-any")
        glossary = Glossary(vocabularies[GLOSSARY], vocabularies["source"]) if copy and GLOSSARY in vocabularies \
            else None
        bigrams = CasedBigrams(vocabularies[CASED_BIGRAMS]) if cased and CASED_BIGRAMS in vocabularies else None
        names = give_back_names(unknown_id, source_vectorizer, glossary=glossary) \
            if copy and cased and config.get("keep_names") else None
        return SequenceServer(
            model,
            _preprocess(source_vectorizer, start_id),
            vocabularies.get(CASED_VOCABULARY, target),
            end_id=target.index(END),
            input_spec=TEXT,
            cleanups=FRENCH_CLEANUPS,
            postprocess=None if cased else capitalize_first,  # a cased model capitalises as its source does
            beam_size=beam_size or config.get("beam_size", DEFAULT_BEAM_SIZE),
            length_penalty=config.get("length_penalty", DEFAULT_LENGTH_PENALTY),
            preprocess_layers=[source_vectorizer, *(layer.lookup for layer in (glossary, bigrams) if layer)],
            suppressed_ids=(PAD_ID, start_id) if copy else (PAD_ID, unknown_id, start_id),  # never outputs
            rewrite_tokens=_rewrites(copy_unknown_words(unknown_id, glossary=glossary) if copy else None,
                                     names,
                                     bigrams.rewrite(unknown_id) if bigrams else None,
                                     capitalize_sentence_starts() if cased else None),
            constrain_step=unknown_only_at_copyable_words(unknown_id) if policy == "copy" else None,
        )

    # --- commands --------------------------------------------------------------------------------

    def predict(self, runner, sentences, args):
        from apps.common.serving import run_in_batches

        chunks = [split_into_chunks(s) for s in sentences]
        flat = [c for cs in chunks for c in cs]
        directory = runner.model_directory(args)
        serving = directory.load_serving(optimize=len(flat) > FEW_SENTENCES)
        beam = args.beam or directory.config().get("beam_size", DEFAULT_BEAM_SIZE)
        progress = "translating" if len(flat) > FEW_SENTENCES else None  # a bar for long inputs only
        keep = ("text", "score", *(("tokens", "source_tokens", "attention") if args.attention else ()))
        outputs = run_in_batches(serving.signatures["generate_with_beam"], flat, self.batch_size, self.input_name,
                                 progress=progress, keep=keep, beam_size=beam)
        results, position = [], 0
        for sentence, cs in zip(sentences, chunks, strict=True):
            pieces = outputs[position : position + len(cs)]
            position += len(cs)
            results.append({
                "source": sentence,
                "translation": " ".join(p["text"].decode("utf-8") for p in pieces),
                "score": sum(float(p["score"]) for p in pieces) / len(pieces) if pieces else 0.0,
                "pieces": pieces,
            })
        if args.json:
            records = [{k: r[k] for k in ("source", "translation", "score")} for r in results]
            print_json(records)
        else:
            for r in results:
                print(r["translation"])
        if args.attention:  # after the translations: a file that cannot be written loses none of them
            sys.stdout.flush()
            _save_attention_plots(results, args.attention)

    def evaluate(self, runner, directory, pairs, args):
        import time

        from apps.common.metrics import corpus_scores
        from apps.common.serving import run_in_batches
        from apps.translate.casing import names_and_numbers_kept

        serving = directory.load_serving()
        source_vocabulary = directory.vocabulary("source")
        groups = references_by_source(pairs)
        english, references = list(groups), list(groups.values())
        several = sum(len(r) > 1 for r in references)
        metrics = {}
        for beam in sorted({1, args.beam}):
            label = "greedy" if beam == 1 else f"beam{beam}"
            started = time.time()
            rows = run_in_batches(serving.signatures["generate_with_beam"], english, self.batch_size,
                                  self.input_name, progress=label, keep=("text",), beam_size=beam)
            hypotheses = [row["text"].decode("utf-8") for row in rows]
            metrics[label] = {**corpus_scores(hypotheses, references, cased=True),
                              "sentences": len(english),
                              "seconds": round(time.time() - started, 1),
                              "rare_words": names_and_numbers_kept(english, hypotheses, source_vocabulary)}
            if several:  # the first French line of each sentence alone, as single-reference tables score
                single = corpus_scores(hypotheses, [r[0] for r in references], cased=True)
                metrics[label].update(several_references=several, single_reference=single)
        return metrics

    def format_metrics(self, metrics):
        lines = []
        for label, scores in metrics.items():
            if not isinstance(scores, dict):
                continue
            cased = scores.get("bleu_cased", float("nan"))
            lines.append(f"  {label:<8} BLEU {scores['bleu']:6.2f}   cased {cased:6.2f}   chrF {scores['chrf']:6.2f}"
                         f"   cased {scores.get('chrf_cased', float('nan')):6.2f}   ({scores['seconds']} s)")
            single = scores.get("single_reference")
            if single:
                lines.append(f"           one reference: BLEU {single['bleu']:6.2f}   "
                             f"cased {single['bleu_cased']:6.2f}   "
                             f"chrF {single['chrf']:6.2f}   cased {single['chrf_cased']:6.2f}   "
                             f"({scores['several_references']} of {scores['sentences']} sentences have several)")
            rare = scores.get("rare_words")
            if rare and rare["kept"] is not None:
                lines.append(f"           names and numbers kept: {rare['kept']:.1%} of {rare['names_and_numbers']} "
                             f"(in the {rare['sentences']} sentences with an unknown word)")
        return lines

    def extra_commands(self):
        def arguments(parser):
            parser.add_argument("--unknown-words", choices=UNKNOWN_WORDS, default="copy",
                                help="copy: a rare output word becomes the unknown source word it attends to; "
                                "copy-any: copy wherever the model outputs [UNK]; suppress: never output [UNK]")
            parser.add_argument("--data", help="the training data to take the cased forms from (default: keep the "
                                "directory's; a directory without them: what its config.json names)")
            parser.add_argument("--glossary", choices=("freedict", "none"),
                                help="freedict: translate unknown source words with FreeDict's English-French "
                                "glossary (GPL-2+, `make data` fetches it); none: remove the glossary "
                                "(default: keep what the directory has)")
            parser.add_argument("--keep-names", action=argparse.BooleanOptionalAction,
                                help="give back a number or a name the model put in place of the source's own "
                                "(\"à Boston\" for \"to Kobe\"; casing.give_back_names; default: keep what the "
                                "directory has)")

        return {"upgrade": ("give a model directory of an older version its cased vocabulary, a glossary, or "
                            "names given back, and re-export it",
                            arguments, _upgrade)}


def _rewrites(*rewrites):
    """One `rewrite_tokens` applying the given ones (None: left out) in order."""
    rewrites = [r for r in rewrites if r is not None]

    def rewrite(ids, tokens, outputs, passthrough):
        for each in rewrites:
            tokens = each(ids, tokens, outputs, passthrough)
        return tokens

    return rewrite if rewrites else None


def _upgrade(runner, args):
    """`upgrade`: the cased forms (alone and after a word) from the model's training split, a
    glossary if asked, then a fresh SavedModel (`ModelDirectory.save` writes the vocabularies and
    removes an optional one the directory no longer has)."""
    from apps.translate.casing import glossary_entries, truecasing_tables
    from datasets.translation import load_translation_pairs

    directory = runner.model_directory(args)
    config = directory.config()
    training = config.get("training", {})
    vocabularies = directory.vocabularies()
    if CASED_VOCABULARY not in vocabularies or args.data:  # a directory's own cased forms are kept
        data = args.data or training.get("data", "bundled")
        pairs = load_translation_pairs(data, "train", max_words=training.get("max_words", 40))
        vocabularies.pop(CASED_BIGRAMS, None)
        vocabularies.update(truecasing_tables(vocabularies["target"], [french for _, french in pairs]))
    config = {**config, "unknown_words": args.unknown_words}
    if args.keep_names is not None:
        config["keep_names"] = args.keep_names
    if args.glossary == "freedict":
        entries = vocabularies[GLOSSARY] = glossary_entries(load_translation_pairs("freedict", "train"))
        config["glossary"] = f"FreeDict English-French, training split: {len(entries)} one-word headwords"
    elif args.glossary == "none":
        vocabularies.pop(GLOSSARY, None)
        config.pop("glossary", None)
    directory.save(config, vocabularies, runner.task.build_server(runner.load_model(directory), vocabularies, config))
    cased = vocabularies[CASED_VOCABULARY]
    changed = sum(c != t for c, t in zip(cased, vocabularies["target"], strict=True))
    glossary = f"; glossary: {len(vocabularies[GLOSSARY])} entries" if GLOSSARY in vocabularies else ""
    print(f"{directory.path}: {changed} of {len(cased)} target words have a cased form, "
          f"{len(vocabularies.get(CASED_BIGRAMS, []))} another after a given word; "
          f"unknown words: {args.unknown_words}{glossary}; names kept: {bool(config.get('keep_names'))}",
          file=sys.stderr)
    return 0


def _vectorize(vectorizer, texts, batch_size=2048):
    """Python lists of token ids (padding removed)."""
    import tensorflow as tf

    rows = []
    for start in range(0, len(texts), batch_size):
        ids = vectorizer(tf.constant(texts[start : start + batch_size])).numpy()
        rows.extend(row[row != 0].tolist() for row in ids)
    return rows


def max_output_lengths(source_lengths):
    """French runs longer than English; allow 2x + 10 tokens (END included)."""
    import tensorflow as tf

    return tf.minimum(2 * source_lengths + 10, 2 * MAX_SOURCE_TOKENS + 10)


def _preprocess(source_vectorizer, start_id):
    """Raw English strings (B,) -> model inputs, the START prompt, length limits, in-graph."""
    import tensorflow as tf

    from apps.translate.casing import copyable_source_words
    from datasets.vocabulary import standardize

    def preprocess(text):
        ids = tf.cast(source_vectorizer(text), tf.int32)[:, :MAX_SOURCE_TOKENS]
        # The source words as typed (case kept), one for one with the ids: copied, and shown in plots.
        tokens = tf.strings.split(standardize(text, lowercase=False)).to_tensor(
            "", shape=tf.shape(ids, out_type=tf.int64))
        # One padding column: never zero columns, even for a batch of empty strings.
        ids, tokens = tf.pad(ids, [[0, 0], [0, 1]]), tf.pad(tokens, [[0, 0], [0, 1]], constant_values="")
        lengths = tf.reduce_sum(tf.cast(ids != 0, tf.int32), axis=1)
        batch = tf.shape(ids)[:1]
        return {
            "inputs": ids,
            "prompt": tf.fill(tf.concat([batch, [1]], 0), start_id),
            "prompt_lengths": tf.ones(batch, tf.int32),
            "max_lengths": max_output_lengths(lengths),
            "is_empty": lengths == 0,
            "passthrough": {"source_tokens": tokens},
            "step_inputs": copyable_source_words(ids, tokens),
        }

    return preprocess


def _save_attention_plots(results, path):
    from apps.common.output_files import numbered_path
    from apps.common.plots import plot_attention
    from apps.common.serving import token_list

    for index, result in enumerate(results):
        if not result["pieces"]:
            continue
        piece = result["pieces"][0]
        source, target = token_list(piece["source_tokens"]), token_list(piece["tokens"])
        weights = piece["attention"][: len(target), : len(source)]
        out = numbered_path(path, index, len(results))
        plot_attention(weights, source, target, out, title=piece["text"].decode("utf-8"))
        print(f"attention map written to {out}", file=sys.stderr)
