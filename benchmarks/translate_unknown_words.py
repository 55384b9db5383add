"""Case and unknown words: one trained translator served three ways, scored per corpus.

Variants (same weights; `apps/translate/casing.py`):
  lower     the lower-case vocabulary, [UNK] never output (the models as shipped before)
  cased     the cased vocabulary, [UNK] never output
  copy-any  the cased vocabulary, each [UNK] output replaced by its most attended source word
  copy      the same, but [UNK] is output only where that source word is itself unknown
  glossary  copy, and a copied word outside the source vocabulary (or a place, month or day) is
            translated by the model directory's glossary where it has one (`upgrade --glossary freedict`)

For each corpus of the bundled data: BLEU case-insensitive and cased, and the share of names
and numbers kept in sentences with an unknown source word. Choose on `--split validation`.

    python -m benchmarks.translate_unknown_words --model-dir DIR [--split validation] [--beam 4]

DIR must hold a cased vocabulary (`python -m apps.translate upgrade --model-dir DIR` writes it), and
a glossary for the glossary variant.
"""

import argparse
import time

from benchmarks.common import write_table

VARIANTS = ("lower", "cased", "copy-any", "copy", "glossary")
CORPORA = ("bible", "wesnoth", "tuxpaint", "modern")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--split", default="validation")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--limit", type=int, help="sentences per corpus")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=VARIANTS)
    parser.add_argument("--corpora", nargs="+", choices=CORPORA, default=CORPORA)
    parser.add_argument("--out", default="runs/translate-unknown-words")
    args = parser.parse_args()

    from apps.common.metrics import corpus_scores
    from apps.common.runner import Runner
    from apps.translate.casing import CASED_VOCABULARY, GLOSSARY, names_and_numbers_kept
    from apps.translate.task import TranslationTask
    from datasets.translation import load_translation_pairs

    task = TranslationTask()
    runner = Runner(task)
    directory = task.directory(args.model_dir)
    config, vocabularies = directory.config(), directory.vocabularies()
    model = runner.load_model(directory)
    if "glossary" in args.variants and GLOSSARY not in vocabularies:
        parser.error(f"{args.model_dir} has no glossary: python -m apps.translate upgrade --model-dir "
                     f"{args.model_dir} --glossary freedict")
    plain = {k: v for k, v in vocabularies.items() if k != GLOSSARY}
    lower = {k: v for k, v in plain.items() if k != CASED_VOCABULARY}
    settings = {"lower": (lower, "suppress"), "cased": (plain, "suppress"), "copy-any": (plain, "copy-any"),
                "copy": (plain, "copy"), "glossary": (vocabularies, "copy")}
    servers = {variant: task.build_server(model, settings[variant][0], config, unknown_words=settings[variant][1])
               for variant in args.variants}
    rows, records = [], []
    for corpus in args.corpora:
        pairs = load_translation_pairs(corpus, args.split)[: args.limit]
        english, references = [e for e, _ in pairs], [f for _, f in pairs]
        for variant in args.variants:
            started = time.time()
            outputs = translate(servers[variant], english, args.beam)
            scores = corpus_scores(outputs, references, cased=True)
            rare = names_and_numbers_kept(english, outputs, vocabularies["source"])
            record = {"corpus": corpus, "variant": variant, "sentences": len(pairs), **scores, "rare_words": rare,
                      "seconds": round(time.time() - started, 1)}
            records.append(record)
            kept = "-" if rare["kept"] is None else f"{rare['kept']:.1%} of {rare['names_and_numbers']}"
            rows.append([corpus, variant, len(pairs), scores["bleu"], scores["bleu_cased"], scores["chrf"], kept])
            print(record, flush=True)
    write_table(args.out, ["corpus", "variant", "sentences", "BLEU", "BLEU cased", "chrF",
                           "names and numbers kept"], rows, records)


def translate(server, sentences, beam, batch_size=32):
    import tensorflow as tf

    texts = []
    for start in range(0, len(sentences), batch_size):
        out = server.generate_with_beam(tf.constant(sentences[start : start + batch_size]), tf.constant(beam))
        texts.extend(t.decode("utf-8") for t in out["text"].numpy())
    return texts


if __name__ == "__main__":
    main()
