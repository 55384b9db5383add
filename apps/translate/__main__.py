"""English->French translation from the command line.

  python -m apps.translate "Jane went to Africa last September."
  python -m apps.translate - < sentences.txt             one sentence per line
  python -m apps.translate --beam 1 --attention map.png "I am cold."
  python -m apps.translate train --data fra.txt --model transformer --out runs/my-model
  python -m apps.translate eval --model attention-gru    BLEU and chrF on the held-out test split
  python -m apps.translate export --out exported/        a SavedModel for TF Serving

Run any command with --help for its options.
"""

import argparse
import json
import os
import re
import sys
import time

from apps.common.cli import ArgumentParser, UserError, positive_int, run

COMMANDS = ("translate", "train", "eval", "export")
SHIPPED_MODELS = ("attention-gru", "transformer")
ARCHITECTURE_NAMES = ("attention-gru", "transformer", "tutorial-baseline")
DEFAULT_MODEL = "attention-gru"
MAX_CHUNK_WORDS = 60  # sentences longer than this are cut (with a warning)
MAX_BEAM = 16
BATCH = 32
FEW_SENTENCES = 2 * BATCH  # up to this many, start fast rather than optimise the graph

def build_parser():
    parser = ArgumentParser(
        prog="python -m apps.translate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="{translate,train,eval,export}")

    translate = commands.add_parser("translate", help="translate sentences (the default command)")
    translate.add_argument(
        "sentences", nargs="*", help="English sentences; '-' reads one per line from stdin"
    )
    _model_arguments(translate)
    translate.add_argument(
        "--beam", type=positive_int, help="beam size; 1 = greedy (default: the model's, 4)"
    )
    translate.add_argument("--attention", metavar="FILE.png", help="save a heat map of the attention weights")
    translate.add_argument("--json", action="store_true", help="print JSON: source, translation, score")

    train = commands.add_parser("train", help="train a model on an Anki file or the bundled corpus")
    train.add_argument(
        "--data", default="bundled", help="an Anki/ManyThings fra.txt file, or 'bundled' (default)"
    )
    train.add_argument("--model", choices=ARCHITECTURE_NAMES, default=DEFAULT_MODEL, help="architecture")
    train.add_argument("--size", choices=("tiny", "small"), default="small", help="model size preset")
    train.add_argument("--out", help="output directory (default: runs/<model>); re-run to resume")
    train.add_argument("--epochs", type=positive_int, default=20)
    train.add_argument("--batch-size", type=positive_int, default=64)
    train.add_argument("--vocabulary-size", type=positive_int, default=8000, help="per language")
    train.add_argument("--max-words", type=positive_int, default=40, help="drop longer training pairs")
    train.add_argument("--learning-rate", type=float, help="peak learning rate (default per architecture)")
    train.add_argument(
        "--label-smoothing", type=float, help="target smoothing (default: 0.1 for the Transformer, else 0)"
    )
    train.add_argument(
        "--init-from",
        metavar="MODEL_DIR",
        help="start from this trained model's weights and vocabularies (fine-tuning, or more epochs for "
        "a finished run); --model and --size must match it, --vocabulary-size is ignored. The optimizer "
        "starts afresh: the Transformer's learning rate warms up again to its peak, so a lower "
        "--learning-rate suits a model that is already trained",
    )
    train.add_argument("--patience", type=positive_int, default=3, help="early stopping on validation loss")
    train.add_argument("--max-minutes", type=float, help="stop after this much training time")
    train.add_argument(
        "--strategy",
        choices=("default", "mirrored", "multi-worker"),
        default="default",
        help="tf.distribute strategy",
    )

    evaluate = commands.add_parser("eval", help="corpus BLEU and chrF on a held-out split, greedy and beam")
    _model_arguments(evaluate)
    evaluate.add_argument("--data", default="bundled", help="an Anki file, or 'bundled' (default)")
    evaluate.add_argument("--split", choices=("test", "validation"), default="test")
    evaluate.add_argument("--beam", type=positive_int, default=4, help="beam size compared with greedy")
    evaluate.add_argument("--limit", type=positive_int, help="evaluate on the first N pairs only")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument(
        "--write", action="store_true", help="also write metrics.json into the model directory"
    )

    export = commands.add_parser("export", help="write a SavedModel: strings in, translations out")
    _model_arguments(export)
    export.add_argument("--out", required=True, help="directory to write the SavedModel to")
    export.add_argument("--beam", type=positive_int, help="beam of serving_default (default: the model's)")
    return parser


def _model_arguments(parser):
    parser.add_argument("--model", choices=SHIPPED_MODELS, default=DEFAULT_MODEL, help="a shipped model")
    parser.add_argument("--model-dir", help="a model directory written by `train` (overrides --model)")


def model_dir(args):
    from apps.translate.translator import shipped_model_dir

    return args.model_dir or shipped_model_dir(args.model)


def main(argv):
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        argv = ["translate", *argv]
    args = build_parser().parse_args(argv)
    if getattr(args, "beam", None) and args.beam > MAX_BEAM:
        raise UserError(f"--beam must be at most {MAX_BEAM}, got {args.beam}")
    return {"translate": translate, "train": train, "eval": evaluate, "export": export}[args.command](args)


# --- translate -------------------------------------------------------------------------------


def read_sentences(args):
    if args.sentences == ["-"]:
        data = sys.stdin.buffer.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UserError(
                f"stdin is not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start})"
            ) from None
        return text.splitlines()
    if "-" in args.sentences:
        raise UserError("'-' (read stdin) cannot be mixed with sentences given as arguments")
    return args.sentences


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


def translate(args):
    from apps.common import artifacts

    sentences = read_sentences(args)
    if not any(s.strip() for s in sentences):
        raise UserError("nothing to translate: give sentences as arguments, or '-' to read them from stdin")
    chunks = [split_into_chunks(s) for s in sentences]
    flat = [c for cs in chunks for c in cs]

    directory = model_dir(args)
    serving = artifacts.load_serving(directory, optimize=len(flat) > FEW_SENTENCES)
    beam = args.beam or artifacts.read_config(directory).get("beam_size", 4)
    outputs = run_serving(serving, flat, beam)

    results, position = [], 0
    for sentence, cs in zip(sentences, chunks, strict=True):
        pieces = outputs[position : position + len(cs)]
        position += len(cs)
        results.append(
            {
                "source": sentence,
                "translation": " ".join(p["text"] for p in pieces),
                "score": sum(p["score"] for p in pieces) / len(pieces) if pieces else 0.0,
                "pieces": pieces,
            }
        )
    if args.attention:
        save_attention_plots(results, args.attention)
    if args.json:
        print(
            json.dumps(
                [{k: r[k] for k in ("source", "translation", "score")} for r in results],
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for r in results:
            print(r["translation"])
    return 0


def run_serving(serving, texts, beam):
    """Translates `texts` with the exported model, in batches; a list of dicts per text."""
    import tensorflow as tf

    signature = serving.signatures["generate_with_beam"]
    results = []
    for start in range(0, len(texts), BATCH):
        batch = texts[start : start + BATCH]
        out = {
            k: v.numpy() for k, v in signature(text=tf.constant(batch), beam_size=tf.constant(beam)).items()
        }
        for i in range(len(batch)):
            source = [t.decode() for t in out["source_tokens"][i] if t]
            target = [t.decode() for t in out["tokens"][i] if t]
            results.append(
                {
                    "text": out["text"][i].decode("utf-8"),
                    "score": float(out["score"][i]),
                    "source_tokens": source,
                    "tokens": target,
                    "attention": out["attention"][i][: len(target), : len(source)],
                }
            )
    return results


def save_attention_plots(results, path):
    from apps.common.plots import plot_attention

    stem, suffix = os.path.splitext(path)
    for index, result in enumerate(results):
        if not result["pieces"]:
            continue
        piece = result["pieces"][0]
        target = f"{stem}-{index + 1}{suffix or '.png'}" if len(results) > 1 else path
        plot_attention(
            piece["attention"], piece["source_tokens"], piece["tokens"], target, title=piece["text"]
        )
        print(f"attention map written to {target}", file=sys.stderr)


# --- train -----------------------------------------------------------------------------------


def train(args):
    from apps.common import training
    from apps.translate import translator
    from apps.translate.model import (
        ARCHITECTURES,
        PRESETS,
        compile_for_training,
        default_label_smoothing,
        example_batch,
    )
    from datasets.translation import load_translation_pairs
    from datasets.vocabulary import save_vocabulary, vectorizer_from_vocabulary

    out = args.out or os.path.join("runs", args.model)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out {out}: {error.strerror or error}") from None
    source = args.data if args.data == "bundled" else _existing_file(args.data)
    train_pairs = load_translation_pairs(source, "train", max_words=args.max_words)
    validation_pairs = load_translation_pairs(source, "validation", max_words=args.max_words)
    if not train_pairs or not validation_pairs:
        raise UserError(f"{args.data}: too few pairs for a train and a validation split")
    print(f"{len(train_pairs)} training pairs, {len(validation_pairs)} validation pairs", file=sys.stderr)

    # A resumed run must see the same vocabularies as the run it resumes, and a model started
    # from another's weights the vocabularies those weights index.
    vocabulary_files = [
        os.path.join(out, translator.SOURCE_VOCABULARY),
        os.path.join(out, translator.TARGET_VOCABULARY),
    ]
    initial = _initial_model(args) if args.init_from else None
    if initial:
        source_vectorizer, target_vectorizer = initial["source_vectorizer"], initial["target_vectorizer"]
        for vectorizer, path in zip((source_vectorizer, target_vectorizer), vocabulary_files, strict=True):
            save_vocabulary(vectorizer, path)
    elif all(os.path.exists(f) for f in vocabulary_files):
        source_vectorizer, target_vectorizer = (vectorizer_from_vocabulary(f) for f in vocabulary_files)
    else:
        source_vectorizer, target_vectorizer = translator.build_vocabularies(
            train_pairs, args.vocabulary_size
        )
        for vectorizer, path in zip((source_vectorizer, target_vectorizer), vocabulary_files, strict=True):
            save_vocabulary(vectorizer, path)
    strategy = training.make_strategy(args.strategy)
    replicas = strategy.num_replicas_in_sync
    if args.batch_size % replicas:
        raise UserError(f"--batch-size {args.batch_size} must be a multiple of the {replicas} replicas")
    # Keras averages the first batch over replicas before training, which needs equal shares:
    # with several replicas, every training batch is full.
    train_data = translator.training_dataset(
        train_pairs, source_vectorizer, target_vectorizer, args.batch_size, True, drop_remainder=replicas > 1
    )
    validation_data = translator.training_dataset(
        validation_pairs, source_vectorizer, target_vectorizer, args.batch_size, False
    )

    arguments = PRESETS[args.model][args.size]
    label_smoothing = default_label_smoothing(args.model, args.label_smoothing)
    with strategy.scope():
        model = ARCHITECTURES[args.model](
            source_vectorizer.vocabulary_size(), target_vectorizer.vocabulary_size(), **arguments
        )
        model(example_batch())
        if initial:
            model.set_weights(initial["model"].get_weights())
        compile_for_training(model, args.model, args.learning_rate, label_smoothing)
    callbacks = training.training_callbacks(out, patience=args.patience)
    if args.max_minutes:
        callbacks.append(training.TimeBudget(args.max_minutes))
    started = time.time()
    history = model.fit(train_data, validation_data=validation_data, epochs=args.epochs, callbacks=callbacks)
    wall_time = time.time() - started

    config = {
        "architecture": args.model,
        "arguments": arguments,
        "beam_size": 4,
        "length_penalty": 0.6,
        "parameters": int(model.count_params()),
        "training": {
            "command": "python -m apps.translate " + " ".join(sys.argv[1:] if sys.argv[1:] else []),
            "data": args.data,
            "label_smoothing": label_smoothing,
            "pairs": {"train": len(train_pairs), "validation": len(validation_pairs)},
            "epochs_this_run": len(history.epoch),
            "wall_time_seconds_this_run": round(wall_time),
            "final_validation_loss": float(min(history.history.get("val_loss", [float("nan")]))),
        },
    }
    if initial:
        # The runs this one continues, oldest first, so a model card can give every command.
        previous = initial["config"].get("training", {})
        config["training"]["previous_runs"] = [
            *previous.pop("previous_runs", []),
            {**previous, "parameters": initial["config"].get("parameters")},
        ]
    translator.save_translation_model(
        model, config, source_vectorizer, target_vectorizer, out
    )
    print(f"model written to {out}", file=sys.stderr)
    return 0


def _initial_model(args):
    """The model of --init-from, checked to be the architecture and size being trained."""
    from apps.translate import translator
    from apps.translate.model import PRESETS

    model, source_vectorizer, target_vocabulary, config = translator.load_translation_model(args.init_from)
    wanted = {"architecture": args.model, "arguments": PRESETS[args.model][args.size]}
    found = {"architecture": config.get("architecture"), "arguments": config.get("arguments")}
    if found != wanted:
        raise UserError(
            f"--init-from {args.init_from} holds {found['architecture']} {found['arguments']}, but "
            f"--model {args.model} --size {args.size} trains {args.model} {wanted['arguments']}"
        )
    from datasets.vocabulary import vectorizer_from_vocabulary

    return {
        "model": model,
        "config": config,
        "source_vectorizer": source_vectorizer,
        "target_vectorizer": vectorizer_from_vocabulary(target_vocabulary),
    }


def _existing_file(path):
    if not os.path.isfile(path):
        raise UserError(f"--data {path}: no such file")
    return path


# --- eval ------------------------------------------------------------------------------------


def evaluate(args):
    from apps.common import artifacts
    from apps.common.metrics import corpus_scores
    from datasets.translation import load_translation_pairs

    directory = model_dir(args)
    serving = artifacts.load_serving(directory)
    source = args.data if args.data == "bundled" else _existing_file(args.data)
    pairs = load_translation_pairs(source, args.split)[: args.limit]
    if not pairs:
        raise UserError(f"{args.data}: the {args.split} split is empty")
    english, references = [e for e, _ in pairs], [f for _, f in pairs]

    metrics = {"split": args.split, "data": args.data, "pairs": len(pairs)}
    for beam in sorted({1, args.beam}):
        label = "greedy" if beam == 1 else f"beam{beam}"
        started = time.time()
        hypotheses = [r["text"] for r in _translate_with_progress(serving, english, beam, label)]
        metrics[label] = {**corpus_scores(hypotheses, references), "seconds": round(time.time() - started, 1)}
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(f"{directory} on {len(pairs)} {args.split} pairs ({args.data})")
        for label, scores in metrics.items():
            if isinstance(scores, dict):
                print(
                    f"  {label:<8} BLEU {scores['bleu']:6.2f}   chrF {scores['chrf']:6.2f}   ({scores['seconds']} s)"
                )
    if args.write:
        from apps.common.training import write_json

        write_json(os.path.join(directory, "metrics.json"), metrics)
    return 0


def _translate_with_progress(serving, texts, beam, label):
    from tqdm import tqdm

    results = []
    for start in tqdm(range(0, len(texts), BATCH), desc=label, unit="batch", file=sys.stderr):
        results.extend(run_serving(serving, texts[start : start + BATCH], beam))
    return results


# --- export ----------------------------------------------------------------------------------


def export(args):
    from apps.translate import translator

    translator.export(model_dir(args), args.out, beam_size=args.beam)
    print(
        f"SavedModel written to {args.out} (signatures: serving_default, generate_with_beam)", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
