"""Train a translation model on any Keras backend, e.g. JAX on a GPU machine without TensorFlow.

`python -m apps.translate train` tokenises with TensorFlow (`TextVectorization`) and feeds
`tf.data`. A machine with an accelerator may have JAX and no TensorFlow, so this module splits
training into three steps; only the first and the last need TensorFlow:

  # 1. here: the same vocabularies and token ids as `train`, as NumPy arrays
  python -m apps.translate.jax_training pack --out packed/
  # 2. there: the same model, presets, optimizer and loss (`compile_for_training`), NumPy batches
  KERAS_BACKEND=jax python -m apps.translate.jax_training fit --data packed/ --model transformer --out fitted/
  # 3. here: the weights become a model directory (model.keras, serving SavedModel, card data)
  python -m apps.translate.jax_training adopt --fitted fitted/ --out runs/transformer

Then `python -m apps.translate eval --model-dir runs/transformer` as for any trained model.
Weights move between backends as a `.weights.h5` file: the layers are `keras.ops` only.
"""

import argparse
import json
import math
import os
import shutil
import sys
import time

import numpy as np

from apps.common.cli import ArgumentParser, UserError, positive_int, run

SOURCE_VOCABULARY, TARGET_VOCABULARY = "source_vocabulary.txt", "target_vocabulary.txt"
PAIRS_FILE, PACK_FILE, FIT_FILE, WEIGHTS_FILE = "pairs.npz", "pack.json", "fit.json", "model.weights.h5"
SPLITS = ("train", "validation")
FIT_KEYS = ("architecture", "arguments", "parameters", "source_vocabulary_size", "target_vocabulary_size", "training")
FITTED_FILES = (WEIGHTS_FILE, SOURCE_VOCABULARY, TARGET_VOCABULARY, "history.csv")


def build_parser():
    parser = ArgumentParser(
        prog="python -m apps.translate.jax_training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{pack,fit,adopt}")

    pack = commands.add_parser("pack", help="vocabularies and token ids as NumPy arrays (needs TensorFlow)")
    pack.add_argument("--data", default="bundled", help="an Anki/ManyThings fra.txt file, or 'bundled'")
    pack.add_argument("--out", required=True, help="directory to write the packed data to")
    pack.add_argument("--vocabulary-size", type=positive_int, default=8000, help="per language")
    pack.add_argument("--max-words", type=positive_int, default=40, help="drop longer training pairs")

    fit = commands.add_parser("fit", help="train on packed data, any Keras backend")
    fit.add_argument("--data", required=True, help="a directory written by `pack`")
    fit.add_argument("--model", choices=("attention-gru", "transformer", "tutorial-baseline"), required=True)
    fit.add_argument("--size", choices=("tiny", "small"), default="small")
    fit.add_argument("--out", required=True, help="directory for weights, history and fit.json")
    fit.add_argument("--epochs", type=positive_int, default=20)
    fit.add_argument("--batch-size", type=positive_int, default=64)
    fit.add_argument("--learning-rate", type=float, help="peak learning rate (default per architecture)")
    fit.add_argument("--label-smoothing", type=float, help="default: 0.1 for the Transformer, else 0")
    fit.add_argument("--patience", type=positive_int, default=3, help="early stopping on validation loss")
    fit.add_argument("--max-minutes", type=float, help="stop after this much training time")
    fit.add_argument("--steps-per-epoch", type=positive_int, help="for smoke tests: fewer steps per epoch")

    adopt = commands.add_parser("adopt", help="fitted weights -> a model directory (needs TensorFlow)")
    adopt.add_argument("--fitted", required=True, help="a directory written by `fit`")
    adopt.add_argument("--out", required=True, help="the model directory to write")
    return parser


def main(argv):
    args = build_parser().parse_args(argv)
    return {"pack": pack, "fit": fit, "adopt": adopt}[args.command](args)


# --- pack (TensorFlow) -----------------------------------------------------------------------


def pack(args):
    from apps.common.training import write_json
    from apps.translate import translator
    from datasets.translation import load_translation_pairs
    from datasets.vocabulary import save_vocabulary

    pairs = {split: load_translation_pairs(args.data, split, max_words=args.max_words) for split in SPLITS}
    if not all(pairs.values()):
        raise UserError(f"{args.data}: too few pairs for a train and a validation split")
    _make_directory(args.out)
    source_vectorizer, target_vectorizer = translator.build_vocabularies(pairs["train"], args.vocabulary_size)
    save_vocabulary(source_vectorizer, os.path.join(args.out, SOURCE_VOCABULARY))
    save_vocabulary(target_vectorizer, os.path.join(args.out, TARGET_VOCABULARY))
    arrays = {}
    for split in SPLITS:
        source_ids, target_ids = translator.pair_ids(pairs[split], source_vectorizer, target_vectorizer)
        arrays.update(_flatten(f"{split}_source", source_ids))
        arrays.update(_flatten(f"{split}_target", target_ids))
    np.savez_compressed(os.path.join(args.out, PAIRS_FILE), **arrays)
    write_json(
        os.path.join(args.out, PACK_FILE),
        {
            "data": args.data,
            "max_words": args.max_words,
            "pairs": {split: len(pairs[split]) for split in SPLITS},
            "source_vocabulary_size": source_vectorizer.vocabulary_size(),
            "target_vocabulary_size": target_vectorizer.vocabulary_size(),
            "command": "python -m apps.translate.jax_training " + " ".join(sys.argv[1:]),
        },
    )
    print(f"{len(pairs['train'])} training pairs packed into {args.out}", file=sys.stderr)
    return 0


def _flatten(name, sequences):
    """Ragged id lists as one flat int32 array and their lengths (what `np.savez` can hold)."""
    return {
        f"{name}_ids": np.fromiter((i for ids in sequences for i in ids), dtype=np.int32),
        f"{name}_lengths": np.array([len(ids) for ids in sequences], dtype=np.int32),
    }


def load_packed(directory, split):
    """(source id arrays, target id arrays) of a split written by `pack`."""
    with np.load(os.path.join(directory, PAIRS_FILE)) as arrays:
        return tuple(
            _unflatten(arrays[f"{split}_{side}_ids"], arrays[f"{split}_{side}_lengths"])
            for side in ("source", "target")
        )


def _unflatten(ids, lengths):
    # np.split of an empty array would return one empty sequence, not none.
    return np.split(ids, np.cumsum(lengths)[:-1]) if len(lengths) else []


# --- fit (any backend) -----------------------------------------------------------------------


class BucketedPairs:
    """Length-bucketed ((source, target_in), target_out) NumPy batches, for `model.fit`.

    Every pair is padded with 0 to its bucket's length, the smallest multiple of `multiple`
    that holds both its source and its target: a compiled backend (XLA) then sees a handful of
    shapes instead of one per batch. Training batches are all full (one batch size, so one
    compiled step per bucket length): each bucket's remainder is pooled with the others' and
    batched by length, padded to the longest pair of the batch; fewer than one batch of pairs,
    drawn afresh every epoch, waits for the next. The order of pairs and batches is reshuffled
    every epoch. Validation keeps every pair, in order.
    """

    def __init__(self, sources, targets, batch_size, shuffle, multiple=16, seed=0):
        import keras

        self.sources, self.targets, self.batch_size, self.shuffle = sources, targets, batch_size, shuffle
        lengths = np.maximum([len(s) for s in sources], [len(t) - 1 for t in targets])
        padded = multiple * np.ceil(np.maximum(lengths, 1) / multiple).astype(int)
        self.buckets = {int(length): np.flatnonzero(padded == length) for length in np.unique(padded)}
        self._rng = np.random.default_rng(seed)
        outer = self

        class Batches(keras.utils.PyDataset):
            def __len__(self):
                return len(outer.batches)

            def __getitem__(self, index):
                return outer.batch(index)

            def on_epoch_end(self):
                outer.plan_batches()

        self.plan_batches()
        self.dataset = Batches()

    def plan_batches(self):
        size = self.batch_size
        if not self.shuffle:
            self.batches = [
                (length, indices[i : i + size])
                for length, indices in self.buckets.items()
                for i in range(0, len(indices), size)
            ]
            return
        batches, remainders = [], []
        for length, indices in self.buckets.items():
            indices = self._rng.permutation(indices)
            full = len(indices) // size * size
            batches += [(length, indices[i : i + size]) for i in range(0, full, size)]
            remainders += [(length, i) for i in indices[full:]]
        # Which remainders wait for the next epoch is random, so long pairs are not the ones always left out.
        remainders = [remainders[i] for i in self._rng.permutation(len(remainders))]
        remainders = sorted(remainders[: len(remainders) // size * size], key=lambda item: item[0])
        for start in range(0, len(remainders), size):
            chunk = remainders[start : start + size]
            batches.append((chunk[-1][0], np.array([i for _, i in chunk])))
        self.batches = [batches[i] for i in self._rng.permutation(len(batches))]

    def batch(self, index):
        length, indices = self.batches[index]
        source = np.zeros((len(indices), length), np.int32)
        target = np.zeros((len(indices), length + 1), np.int32)
        for row, i in enumerate(indices):
            source[row, : len(self.sources[i])] = self.sources[i]
            target[row, : len(self.targets[i])] = self.targets[i]
        return (source, target[:, :-1]), target[:, 1:]


def fit(args):
    import keras

    from apps.common.training import TimeBudget, write_json
    from apps.translate.model import (
        ARCHITECTURES,
        PRESETS,
        compile_for_training,
        default_label_smoothing,
        example_batch,
    )

    packed = _read_json(os.path.join(args.data, PACK_FILE))
    if not os.path.exists(os.path.join(args.data, PAIRS_FILE)):
        raise UserError(f"--data {args.data}: no {PAIRS_FILE}; write it with `pack`")
    train_data = BucketedPairs(*load_packed(args.data, "train"), args.batch_size, shuffle=True)
    validation_data = BucketedPairs(*load_packed(args.data, "validation"), args.batch_size, shuffle=False)
    if not train_data.batches or not validation_data.batches:
        raise UserError(f"--data {args.data}: fewer training pairs than one batch of {args.batch_size}")
    arguments = PRESETS[args.model][args.size]
    model = ARCHITECTURES[args.model](packed["source_vocabulary_size"], packed["target_vocabulary_size"], **arguments)
    model(example_batch())
    label_smoothing = default_label_smoothing(args.model, args.label_smoothing)
    compile_for_training(model, args.model, args.learning_rate, label_smoothing)

    _make_directory(args.out)
    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(args.out, "backup"), double_checkpoint=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience, restore_best_weights=True),
        keras.callbacks.CSVLogger(os.path.join(args.out, "history.csv"), append=True),
    ]
    if args.max_minutes:
        callbacks.append(TimeBudget(args.max_minutes))
    started = time.time()
    history = model.fit(
        train_data.dataset,
        validation_data=validation_data.dataset,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        callbacks=callbacks,
        verbose=2,
    )
    wall_time = time.time() - started
    model.save_weights(os.path.join(args.out, WEIGHTS_FILE))
    for name in (SOURCE_VOCABULARY, TARGET_VOCABULARY):
        shutil.copy(os.path.join(args.data, name), args.out)
    write_json(
        os.path.join(args.out, FIT_FILE),
        {
            "architecture": args.model,
            "arguments": arguments,
            "parameters": int(model.count_params()),
            "source_vocabulary_size": packed["source_vocabulary_size"],
            "target_vocabulary_size": packed["target_vocabulary_size"],
            "training": {
                "command": f"KERAS_BACKEND={keras.backend.backend()} python -m apps.translate.jax_training "
                + " ".join(sys.argv[1:]),
                "pack_command": packed["command"],
                "data": packed["data"],
                "backend": keras.backend.backend(),
                "device": _device_name(),
                "label_smoothing": label_smoothing,
                "pairs": packed["pairs"],
                "epochs_this_run": len(history.epoch),
                "wall_time_seconds_this_run": round(wall_time),
                "final_validation_loss": float(min(history.history.get("val_loss", [math.nan]))),
            },
        },
    )
    print(f"weights written to {args.out}", file=sys.stderr)
    return 0


def _device_name():
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return f"{device.platform}: {getattr(device, 'device_kind', '')}".strip()
    if backend == "tensorflow":
        import tensorflow as tf

        return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    return "unknown"


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as error:
        raise UserError(f"{path}: {error.strerror or error}") from None
    except ValueError:
        raise UserError(f"{path}: not valid JSON") from None


def _make_directory(path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out {path}: {error.strerror or error}") from None


# --- adopt (TensorFlow) ----------------------------------------------------------------------


def adopt(args):
    from apps.translate import translator
    from apps.translate.model import ARCHITECTURES, example_batch
    from datasets.vocabulary import vectorizer_from_vocabulary

    fitted = _read_json(os.path.join(args.fitted, FIT_FILE))
    missing = [key for key in FIT_KEYS if key not in fitted]
    missing += [name for name in FITTED_FILES if not os.path.exists(os.path.join(args.fitted, name))]
    if missing or fitted["architecture"] not in ARCHITECTURES:
        raise UserError(
            f"--fitted {args.fitted}: not written by `fit` (lacks {', '.join(missing) or 'a known architecture'})"
        )
    _make_directory(args.out)
    model = ARCHITECTURES[fitted["architecture"]](
        fitted["source_vocabulary_size"], fitted["target_vocabulary_size"], **fitted["arguments"]
    )
    model(example_batch())
    model.load_weights(os.path.join(args.fitted, WEIGHTS_FILE))
    source_vectorizer, target_vectorizer = (
        vectorizer_from_vocabulary(os.path.join(args.fitted, name)) for name in (SOURCE_VOCABULARY, TARGET_VOCABULARY)
    )
    config = {
        "architecture": fitted["architecture"],
        "arguments": fitted["arguments"],
        "beam_size": 4,
        "length_penalty": 0.6,
        "parameters": fitted["parameters"],
        "training": fitted["training"],
    }
    translator.save_translation_model(model, config, source_vectorizer, target_vectorizer, args.out)
    shutil.copy(os.path.join(args.fitted, "history.csv"), args.out)
    print(f"model written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
