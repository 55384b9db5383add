"""Translators on public test sets: sacreBLEU and chrF, greedy and beam, and what becomes of names.

For each model directory and corpus (`--split test` by default; choose models on `validation`):
  * BLEU and chrF, cased (sacreBLEU's defaults, as public tables print them) and case-insensitive,
    with every reference of a sentence (the Anki file gives up to 32), and with the first alone;
  * names, places, months and numbers, on the sentences whose English holds one: of the
    reference's such words (capitalised words not opening a sentence, French months, numbers),
    the share the translation has; and the names or numbers the translation invents (in neither
    the English nor any reference), with examples.
The translations are saved beside the table (`<out>/<model>-<corpus>-<decoder>.txt`);
`--translations DIR` scores those of an earlier run instead of translating again.

    python -m benchmarks.translate_public --model-dirs saved_models/translate/transformer \
        --corpora anki multi30k newstest2014 bible wesnoth modern --out runs/translate-public

The downloaded corpora are read from $SEQMODELS_DOWNLOADS (`python -m datasets fetch NAME`).
"""

import argparse
import re
import time
from pathlib import Path

from benchmarks.common import write_table

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
ENGLISH_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                  "october", "november", "december")
_WORD = re.compile(r"\w+(?:['’]\w+)?")
_OPENS_SENTENCE = re.compile(r"(?:^|[.!?:«»\"—]\s*)$")


def named_words(text, common_words, months=MONTHS):
    """The words of `text` that a translation must carry over: capitalised words that are names,
    month names and numbers; a set of str (months lower-cased).

    A capitalised word inside a sentence is a name; one that opens a sentence ("Paris is
    beautiful.", "Je") is a name unless the corpus also writes it in lower case (`common_words`,
    a set of lower-case words). "I" is never a name."""
    found = set()
    for match in _WORD.finditer(text):
        word = match.group(0)
        if word.isdigit():
            found.add(word)
        elif word.lower() in months:
            found.add(word.lower())
        elif word[0].isupper() and re.split(r"['’]", word)[0] != "I" and (
                not _OPENS_SENTENCE.search(text[: match.start()]) or word.lower() not in common_words):
            found.add(word)
    return found


def lower_case_words(texts):
    """The words that `texts` write in lower case somewhere: what is not a name when capitalised."""
    return {w for text in texts for w in _WORD.findall(text) if w.islower()}


def names_report(english, hypotheses, references, common_words=None):
    """{"sentences", "reference_words", "kept", "invented", "examples"} over the sentences whose
    English holds a name, a month or a number: the share of the references' such words that the
    translation has, and the names or numbers it has that are in neither the English nor any
    reference (a name that became another, a number out of nowhere).

    common_words: set of lower-case words of both languages; default those that the English and
    the references of the corpus write in lower case."""
    if common_words is None:
        common_words = lower_case_words(english) | lower_case_words(r for refs in references for r in refs)
    wanted = kept = invented = sentences = 0
    examples = []
    for source, hypothesis, refs in zip(english, hypotheses, references, strict=True):
        if not named_words(source, common_words, ENGLISH_MONTHS):
            continue
        sentences += 1
        target = set.union(*(named_words(r, common_words) for r in refs))
        found = named_words(hypothesis, common_words)
        wanted += len(target)
        kept += sum(w.lower() in {f.lower() for f in found} for w in target)
        allowed = {w.lower() for text in (source, *refs) for w in _WORD.findall(text)}
        new = sorted(w for w in found if w.lower() not in allowed)
        invented += len(new)
        if new and len(examples) < 10:
            examples.append({"english": source, "translation": hypothesis, "invented": new})
    return {"sentences": sentences, "reference_words": wanted, "kept": round(kept / wanted, 4) if wanted else None,
            "invented": invented, "examples": examples}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dirs", nargs="+", required=True)
    parser.add_argument("--corpora", nargs="+", default=["anki", "multi30k", "newstest2014"])
    parser.add_argument("--split", default="test")
    parser.add_argument("--beams", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--limit", type=int, help="sentences per corpus (the first N)")
    parser.add_argument("--out", default="runs/translate-public")
    parser.add_argument("--translations", metavar="DIR", help="score the saved translations of an earlier run "
                        "(its --out) where it has them, instead of translating")
    args = parser.parse_args()

    import runtime

    runtime.quiet_tensorflow()
    from apps.common.metrics import corpus_scores
    from apps.common.serving import run_in_batches
    from apps.translate.task import TranslationTask, references_by_source
    from datasets.translation import load_translation_pairs

    task = TranslationTask()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, records = [], []
    for model_dir in args.model_dirs:
        serving = None  # loaded on the first translation: rescoring saved ones needs no model
        for corpus in args.corpora:
            groups = references_by_source(load_translation_pairs(corpus, args.split))
            english, references = list(groups)[: args.limit], list(groups.values())[: args.limit]
            for beam in args.beams:
                decoder = "greedy" if beam == 1 else f"beam{beam}"
                name = Path(model_dir).name
                saved = Path(args.translations or out) / f"{name}-{corpus}-{decoder}.txt"
                started = time.time()
                if args.translations and saved.is_file():
                    hypotheses, seconds = saved.read_text().split("\n")[: len(english)], None
                else:
                    serving = serving or task.directory(model_dir).load_serving(optimize=True)
                    outputs = run_in_batches(serving.signatures["generate_with_beam"], english, 32, task.input_name,
                                             progress=f"{corpus} {decoder}", keep=("text",), beam_size=beam)
                    seconds = round(time.time() - started, 1)
                    hypotheses = [row["text"].decode("utf-8") for row in outputs]
                (out / f"{name}-{corpus}-{decoder}.txt").write_text("".join(h + "\n" for h in hypotheses))
                scores = corpus_scores(hypotheses, references, cased=True)
                single = corpus_scores(hypotheses, [r[0] for r in references], cased=True)
                names = names_report(english, hypotheses, references)
                records.append({"model_dir": model_dir, "corpus": corpus, "split": args.split, "decoder": decoder,
                                "sentences": len(english), "several_references": sum(len(r) > 1 for r in references),
                                **scores, "single_reference": single, "names": names, "seconds": seconds})
                kept = "-" if names["kept"] is None else f"{names['kept']:.1%} of {names['reference_words']}"
                rows.append([name, corpus, decoder, len(english), scores["bleu_cased"], scores["chrf_cased"],
                             single["bleu_cased"], single["chrf_cased"], scores["bleu"], kept, names["invented"],
                             seconds])
                print(records[-1]["corpus"], decoder, scores, flush=True)
    write_table(out, ["model", "corpus", "decoder", "sentences", "BLEU cased", "chrF cased",
                      "BLEU cased, 1 ref", "chrF cased, 1 ref", "BLEU uncased", "names kept", "names invented",
                      "seconds"], rows, records)


if __name__ == "__main__":
    main()
