"""Train any app's model on any Keras backend, e.g. JAX on a GPU machine without TensorFlow.

`train` tokenises with TensorFlow and feeds `tf.data`. A machine with an accelerator may have JAX
and no TensorFlow, so training splits into three commands of every app; only the first and the
last need TensorFlow:

  # 1. here: the same vocabularies and token ids as `train`, as NumPy arrays
  python -m apps.translate pack --out packed/
  # 2. there: the same model, presets, optimizer and loss (the task's `compile`), NumPy batches
  KERAS_BACKEND=jax python -m apps.translate fit --data packed/ --model transformer --out fitted/
  # 3. here: the weights become a model directory (config, vocabularies, serving SavedModel)
  python -m apps.translate adopt --fitted fitted/ --out runs/transformer

Weights move between backends as a `.weights.h5` file: the layers are `keras.ops` only.
"""

import json
import os
import shutil
import sys
import time

import numpy as np

from apps.common import cli
from apps.common.cli import UserError, positive_int
from apps.common.model_directory import HISTORY_FILE, vocabulary_file, write_json
from apps.common.task import with_args

FIELDS_FILE, PACK_FILE, FIT_FILE, WEIGHTS_FILE = "fields.npz", "pack.json", "fit.json", "model.weights.h5"
SPLITS = ("train", "validation")
FIT_KEYS = ("architecture", "arguments", "parameters", "training")


def add_commands(runner, commands):
    """The `pack`, `fit` and `adopt` sub-commands (not listed in the main usage line)."""
    task = runner.task
    pack = commands.add_parser("pack", help="portable trainer, 1/3: token ids as NumPy arrays (needs TensorFlow)")
    task.add_data_arguments(pack, "pack")
    task.add_vocabulary_arguments(pack)
    pack.add_argument("--out", required=True, type=cli.output_directory, help="directory for the packed data")

    fit = commands.add_parser("fit", help="portable trainer, 2/3: train on packed data, any Keras backend")
    fit.add_argument("--data", required=True, help="a directory written by `pack`")
    fit.add_argument("--out", required=True, type=cli.output_directory,
                     help="directory for weights, history and fit.json")
    runner.add_training_arguments(fit)
    fit.add_argument("--steps-per-epoch", type=positive_int, help="for smoke tests: fewer steps per epoch")

    adopt = commands.add_parser("adopt", help="portable trainer, 3/3: fitted weights -> a model directory")
    adopt.add_argument("--fitted", required=True, help="a directory written by `fit`")
    adopt.add_argument("--out", required=True, type=cli.output_directory, help="the model directory to write")


# --- pack (TensorFlow) -----------------------------------------------------------------------


def pack(runner, args):
    task = runner.task
    examples = {split: task.load_split(args, split) for split in SPLITS}
    if not all(examples.values()):
        raise UserError(f"{args.data}: too few {task.example_noun} for a train and a validation split")
    out = task.directory(args.out)
    out.create()
    vocabularies = task.build_vocabularies(examples["train"], args)
    out.write_vocabularies(vocabularies)
    arrays = {}
    for split in SPLITS:
        fields = task.encode(examples[split], vocabularies, **with_args(task.encode, args))
        for index, sequences in enumerate(fields):
            arrays.update(_flatten(f"{split}_{index}", sequences))
    np.savez_compressed(out.file(FIELDS_FILE), **arrays)
    write_json(out.file(PACK_FILE), {
        "app": task.name,
        "data": args.data,
        "fields": len(fields),
        task.example_noun: {split: len(examples[split]) for split in SPLITS},
        "vocabulary_sizes": {name: len(vocabulary) for name, vocabulary in vocabularies.items()},
        "command": f"python -m apps.{task.name} " + " ".join(sys.argv[1:]),
    })
    print(f"{len(examples['train'])} training {task.example_noun} packed into {args.out}", file=sys.stderr)
    return 0


def _flatten(name, sequences):
    """Ragged id lists as one flat int32 array and their lengths (what `np.savez` can hold)."""
    return {
        f"{name}_ids": np.fromiter((i for ids in sequences for i in ids), dtype=np.int32),
        f"{name}_lengths": np.array([len(ids) for ids in sequences], dtype=np.int32),
    }


def load_packed(directory, split, fields):
    """The fields of a split written by `pack`: a tuple of lists of id arrays."""
    with np.load(os.path.join(directory, FIELDS_FILE)) as arrays:
        return tuple(_unflatten(arrays[f"{split}_{i}_ids"], arrays[f"{split}_{i}_lengths"]) for i in range(fields))


def _unflatten(ids, lengths):
    # np.split of an empty array would return one empty sequence, not none.
    return np.split(ids, np.cumsum(lengths)[:-1]) if len(lengths) else []


# --- fit (any backend) -----------------------------------------------------------------------


class BucketedBatches:
    """Length-bucketed NumPy batches of fields, for `model.fit` on any backend.

    Every example is padded with 0 to its bucket's length, the smallest multiple of `multiple`
    that holds its longest field: a compiled backend (XLA) then sees a handful of shapes instead
    of one per batch. Training batches are all full (one batch size, so one compiled step per
    bucket length): each bucket's remainder is pooled with the others' and batched by length,
    padded to the longest example of the batch; fewer than one batch of examples, drawn afresh
    every epoch, waits for the next. The order of examples and batches is reshuffled every
    epoch. Validation keeps every example, in order.

    Args:
        fields: tuple of lists of 1-D int arrays, one list per field, equal lengths.
        to_model_batch: padded field arrays -> (x, y) (the task's `model_batch`).
    """

    def __init__(self, fields, to_model_batch, batch_size, shuffle, multiple=16, seed=0):
        import keras

        self.fields, self.to_model_batch = fields, to_model_batch
        self.batch_size, self.shuffle = batch_size, shuffle
        lengths = np.max([[len(s) for s in field] for field in fields], axis=0)
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
        # Which remainders wait for the next epoch is random, so long examples are not the ones always left out.
        remainders = [remainders[i] for i in self._rng.permutation(len(remainders))]
        remainders = sorted(remainders[: len(remainders) // size * size], key=lambda item: item[0])
        for start in range(0, len(remainders), size):
            chunk = remainders[start : start + size]
            batches.append((chunk[-1][0], np.array([i for _, i in chunk])))
        self.batches = [batches[i] for i in self._rng.permutation(len(batches))]

    def batch(self, index):
        length, indices = self.batches[index]
        padded = []
        for field in self.fields:
            # One column more than the bucket: a target field loses one to teacher forcing
            # (`to_model_batch` shifts it), and every batch of a bucket keeps one shape.
            array = np.zeros((len(indices), length + 1), np.int32)
            for row, i in enumerate(indices):
                array[row, : len(field[i])] = field[i]
            padded.append(array)
        return self.to_model_batch(*padded)


def fit(runner, args):
    import keras

    from apps.common.training import run_record, training_callbacks

    task = runner.task
    packed = _read_json(os.path.join(args.data, PACK_FILE))
    if packed.get("app") != task.name:
        raise UserError(f"--data {args.data}: not packed for {task.name} by this version: run "
                        f"`python -m apps.{task.name} pack` again")
    if not os.path.exists(os.path.join(args.data, FIELDS_FILE)):
        raise UserError(f"--data {args.data}: no {FIELDS_FILE}; write it with `pack`")
    train_data, validation_data = (
        BucketedBatches(load_packed(args.data, split, packed["fields"]), task.model_batch, args.batch_size,
                        shuffle=split == "train")
        for split in SPLITS
    )
    if not train_data.batches or not validation_data.batches:
        raise UserError(f"--data {args.data}: fewer training {task.example_noun} than one batch of {args.batch_size}")
    vocabularies = task.directory(args.data).vocabularies()
    arguments = task.model_arguments(args)
    model = task.build_model(args.model, arguments, vocabularies)
    task.compile(model, args.model, args)

    out = task.directory(args.out)
    out.create()
    callbacks = training_callbacks(out.path, args.patience, args.max_minutes, tensorboard=False)
    started = time.time()
    history = model.fit(train_data.dataset, validation_data=validation_data.dataset, epochs=args.epochs,
                        steps_per_epoch=args.steps_per_epoch, callbacks=callbacks, verbose=2)
    model.save_weights(out.file(WEIGHTS_FILE))
    out.write_vocabularies(vocabularies)
    backend = keras.backend.backend()
    record = run_record(
        f"KERAS_BACKEND={backend} {runner.command_line()}", history, started, pack_command=packed["command"],
        data=packed["data"], backend=backend, device=_device_name(), **task.training_record(args),
        **{task.example_noun: packed.get(task.example_noun)},
    )
    write_json(out.file(FIT_FILE), {"architecture": args.model, "arguments": arguments,
                                    "parameters": int(model.count_params()), "training": record})
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


# --- adopt (TensorFlow) ----------------------------------------------------------------------


def adopt(runner, args):
    task = runner.task
    fitted = task.directory(args.fitted)
    record = _read_json(fitted.file(FIT_FILE))
    missing = [key for key in FIT_KEYS if key not in record]
    missing += [name for name in (WEIGHTS_FILE, HISTORY_FILE, *map(vocabulary_file, task.vocabulary_names))
                if not os.path.exists(fitted.file(name))]
    if missing or record["architecture"] not in task.presets:
        raise UserError(
            f"--fitted {args.fitted}: not written by `fit` (lacks {', '.join(missing) or 'a known architecture'})"
        )
    vocabularies = fitted.vocabularies()
    model = task.build_model(record["architecture"], record["arguments"], vocabularies)
    model.load_weights(fitted.file(WEIGHTS_FILE))
    out = task.directory(args.out)
    config = runner.model_config(record["architecture"], record["arguments"], model, record["training"])
    runner.save(out, model, config, vocabularies)
    shutil.copy(fitted.file(HISTORY_FILE), out.path)
    print(f"model written to {args.out}", file=sys.stderr)
    return 0
