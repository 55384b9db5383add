"""Train a translation model on any Keras backend, e.g. JAX on a GPU machine without TensorFlow.

`python -m apps.translate train` tokenises with TensorFlow (`TextVectorization`) and feeds
`tf.data`. A machine with an accelerator may have JAX and no TensorFlow, so this module splits
training into three steps; only the first and the last need TensorFlow:

  # 1. here: the same vocabularies and token ids as `train`, as NumPy arrays
  python -m apps.translate.jax_training pack --out packed/
  # 2. there: train with the same model, presets and recipe (`compile_for_training`)
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

from apps.common.cli import ArgumentParser, UserError, run

SOURCE_VOCABULARY, TARGET_VOCABULARY = "source_vocabulary.txt", "target_vocabulary.txt"
PAIRS_FILE, PACK_FILE, FIT_FILE, WEIGHTS_FILE = "pairs.npz", "pack.json", "fit.json", "model.weights.h5"
SPLITS = ("train", "validation")


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
    pack.add_argument("--vocabulary-size", type=int, default=8000, help="per language")
    pack.add_argument("--max-words", type=int, default=40, help="drop longer training pairs")

    fit = commands.add_parser("fit", help="train on packed data, any Keras backend")
    fit.add_argument("--data", required=True, help="a directory written by `pack`")
    fit.add_argument("--model", choices=("attention-gru", "transformer", "tutorial-baseline"), required=True)
    fit.add_argument("--size", choices=("tiny", "small"), default="small")
    fit.add_argument("--out", required=True, help="directory for weights, history and fit.json")
    fit.add_argument("--epochs", type=int, default=20)
    fit.add_argument("--batch-size", type=int, default=64)
    fit.add_argument("--learning-rate", type=float, help="peak learning rate (default per architecture)")
    fit.add_argument("--label-smoothing", type=float, help="default: 0.1 for the Transformer, else 0")
    fit.add_argument("--patience", type=int, default=3, help="early stopping on validation loss")
    fit.add_argument("--max-minutes", type=float, help="stop after this much training time")
    fit.add_argument("--steps-per-epoch", type=int, help="for smoke tests: fewer steps per epoch")

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

    os.makedirs(args.out, exist_ok=True)
    pairs = {split: load_translation_pairs(args.data, split, max_words=args.max_words) for split in SPLITS}
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
    print(f"{pairs['train'].__len__()} training pairs packed into {args.out}", file=sys.stderr)
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
            np.split(arrays[f"{split}_{side}_ids"], np.cumsum(arrays[f"{split}_{side}_lengths"])[:-1])
            for side in ("source", "target")
        )


# --- fit (any backend) -----------------------------------------------------------------------


class BucketedPairs:
    """Length-bucketed ((source, target_in), target_out) NumPy batches, for `model.fit`.

    Every pair is padded with 0 to its bucket's length, the smallest multiple of `multiple`
    that holds both its source and its target: a compiled backend (XLA) then sees a handful of
    shapes instead of one per batch. Training drops each bucket's incomplete last batch so
    every batch is full (one shape per bucket); the order of pairs and batches is reshuffled
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
        batches = []
        for length, indices in self.buckets.items():
            if self.shuffle:
                indices = self._rng.permutation(indices)
                indices = indices[: len(indices) // self.batch_size * self.batch_size]
            batches += [(length, indices[i : i + self.batch_size]) for i in range(0, len(indices), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in self._rng.permutation(len(batches))]
        self.batches = batches

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
    train_data = BucketedPairs(*load_packed(args.data, "train"), args.batch_size, shuffle=True)
    validation_data = BucketedPairs(*load_packed(args.data, "validation"), args.batch_size, shuffle=False)
    arguments = PRESETS[args.model][args.size]
    model = ARCHITECTURES[args.model](
        packed["source_vocabulary_size"], packed["target_vocabulary_size"], **arguments
    )
    model(example_batch())
    label_smoothing = default_label_smoothing(args.model, args.label_smoothing)
    compile_for_training(model, args.model, args.learning_rate, label_smoothing)

    os.makedirs(args.out, exist_ok=True)
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

    if keras.backend.backend() == "jax":
        import jax

        device = jax.devices()[0]
        return f"{device.platform}: {getattr(device, 'device_kind', '')}".strip()
    return "cpu"


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as error:
        raise UserError(f"{path}: {error.strerror or error}") from None


# --- adopt (TensorFlow) ----------------------------------------------------------------------


def adopt(args):
    from apps.translate import translator
    from apps.translate.model import ARCHITECTURES, example_batch
    from datasets.vocabulary import vectorizer_from_vocabulary

    fitted = _read_json(os.path.join(args.fitted, FIT_FILE))
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
