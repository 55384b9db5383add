"""The shared command line of every app: predict (the default), train, eval, export, pack, fit, adopt.

An app's `__main__.py` is

    from apps.common.runner import Runner
    from apps.myapp.task import MyTask

    if __name__ == "__main__":
        sys.exit(Runner(MyTask()).run())

and `apps.common.task.Task` says what the app provides. The runner owns the rest: argument
parsing with one-line errors (exit 2), inputs from arguments or stdin, output paths checked before
any work, model directories, resumable training under a `tf.distribute` strategy, provenance in
config.json, batched evaluation with progress bars, and export. A task may add commands of its own
(`Task.extra_commands`, e.g. text generation's `score`). `pack`, `fit` and `adopt` are the
portable trainer (`apps.common.portable_training`): `fit` runs on any Keras backend, e.g. JAX on a
GPU machine without TensorFlow.
"""

import argparse
import os
import sys
import time

from apps.common import cli
from apps.common.cli import ArgumentParser, UserError, positive_int
from apps.common.model_directory import weight_names
from apps.common.task import WRITE_AFTER, with_args

MAX_BEAM = 16
SIZES = ("tiny", "small")
PORTABLE_COMMANDS = ("pack", "fit", "adopt")


class Runner:
    """The commands of one app, over its `Task`."""

    def __init__(self, task):
        self.task = task

    # --- entry points ----------------------------------------------------------------------------

    def run(self, argv=None):
        """For `__main__`: `main` with one-line errors; returns the exit status."""
        return cli.run(self.main, argv)

    def main(self, argv):
        commands = self.commands()
        if argv and argv[0] in PORTABLE_COMMANDS and argv[0] not in commands:
            raise UserError(f"apps.{self.task.name} has no `{argv[0]}`: the portable trainer packs token ids, and "
                            f"this app's examples are not token ids; train with `train`")
        if not argv or argv[0] not in (*commands, "-h", "--help"):
            argv = [self.task.predict_command, *argv]
        args = self.build_parser().parse_args(argv)
        if self.task.shipped_models and getattr(args, "model", False) is None:  # a shipped-model choice left open
            args.model = self.task.shipped_model_for(args)
        if getattr(args, "beam", None) and args.beam > MAX_BEAM:
            raise UserError(f"--beam must be at most {MAX_BEAM}, got {args.beam}")
        return commands[args.command](args)

    def commands(self):
        from apps.common import portable_training

        extra = {name: (lambda args, run=run: run(self, args))
                 for name, (_, _, run) in self.task.extra_commands().items()}
        shared = {self.task.predict_command, "predict", "train", "eval", "export", *PORTABLE_COMMANDS}
        if shared & set(extra):
            raise ValueError(f"the task's extra commands {sorted(shared & set(extra))} clash with the shared ones")
        return {
            **extra,
            self.task.predict_command: self.predict,
            "predict": self.predict,
            "train": self.train,
            "eval": self.evaluate,
            "export": self.export,
            **({"pack": lambda args: portable_training.pack(self, self.with_data_source(args, {})),
                "fit": lambda args: portable_training.fit(self, args),
                "adopt": lambda args: portable_training.adopt(self, args)} if self.task.token_examples else {}),
        }

    def with_data_source(self, args, config):
        """`args` with `--data` resolved by the task (`Task.data_source`): a copy, so the parsed
        command line stays as the user gave it."""
        return argparse.Namespace(**{**vars(args), "data": self.task.data_source(args, config)})

    # --- arguments -------------------------------------------------------------------------------

    def build_parser(self):
        task = self.task
        parser = ArgumentParser(
            prog=f"python -m apps.{task.name}",
            description=task.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        names = [task.predict_command, "train", "eval", "export", *task.extra_commands()]
        commands = parser.add_subparsers(dest="command", metavar="{" + ",".join(names) + "}")

        aliases = ["predict"] if task.predict_command != "predict" else []
        predict = commands.add_parser(task.predict_command, aliases=aliases, help=task.predict_help)
        predict.add_argument("inputs", nargs="*", metavar=task.inputs_metavar, help=task.inputs_help)
        self._add_model_choice(predict)
        if task.decoding == "beam":
            predict.add_argument("--beam", type=positive_int, help="beam size; 1 = greedy (default: the model's, 4)")
        if task.decoding == "sample":
            add_sampling_arguments(predict)
        predict.add_argument("--json", action="store_true", help=task.json_help)
        task.add_predict_arguments(predict)

        train = commands.add_parser("train", help=task.train_help)
        task.add_data_arguments(train, "train")
        train.add_argument("--out", type=cli.output_directory,
                           help="output directory (default: runs/<model>); re-run to resume")
        task.add_vocabulary_arguments(train)
        self.add_training_arguments(train)
        train.add_argument(
            "--init-from",
            metavar="MODEL_DIR",
            help="start from this trained model's weights and vocabularies (fine-tuning, or more epochs for "
            "a finished run); --model and --size must match it, a vocabulary size is ignored. The optimizer "
            "starts afresh (a learning-rate warm-up restarts), so a lower --learning-rate suits a model that "
            "is already trained",
        )
        if task.can_grow_vocabularies():
            train.add_argument(
                "--add-words", type=positive_int, metavar="N",
                help="with --init-from: append up to N of the training data's most frequent words that the "
                "model does not know (seen at least twice) to each vocabulary. They start as [UNK] does: "
                "with an output bias the model starts out computing what the one it comes from did, [UNK]'s "
                "probability shared with the new words (a tied output embedding, which has no bias, gives "
                "each new word [UNK]'s logit instead)",
            )
        from apps.common.strategies import STRATEGIES

        train.add_argument("--strategy", choices=STRATEGIES, default="default",
                           help="tf.distribute strategy; multi-worker (TF_CONFIG): each worker its own --out")

        evaluate = commands.add_parser("eval", help=task.eval_help)
        self._add_model_choice(evaluate)
        task.add_data_arguments(evaluate, "eval")
        evaluate.add_argument("--split", choices=task.eval_splits, default="test")
        task.add_eval_arguments(evaluate)
        evaluate.add_argument("--limit", type=positive_int, help=f"evaluate on the first N {task.example_noun} only")
        evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
        evaluate.add_argument("--write", action="store_true", help="also write metrics.json into the model directory")

        export = commands.add_parser("export", help=task.export_help)
        self._add_model_choice(export)
        export.add_argument("--out", required=True, type=cli.output_directory,
                            help="directory to write the SavedModel to")
        if task.decoding == "beam":
            export.add_argument("--beam", type=positive_int, help="beam of serving_default (default: the model's)")

        for name, (help_text, add_arguments, _) in task.extra_commands().items():
            extra = commands.add_parser(name, help=help_text)
            self._add_model_choice(extra)
            add_arguments(extra)

        if task.token_examples:
            from apps.common import portable_training

            portable_training.add_commands(self, commands)
        return parser

    def add_training_arguments(self, parser):
        """What `train` and the portable trainer's `fit` share: the architecture and the schedule."""
        task = self.task
        self.add_architecture_arguments(parser)
        parser.add_argument("--epochs", type=positive_int, default=task.train_epochs)
        parser.add_argument("--batch-size", type=positive_int, default=task.train_batch_size)
        parser.add_argument("--learning-rate", type=float, help="peak learning rate (default per architecture)")
        task.add_train_arguments(parser)
        parser.add_argument("--patience", type=positive_int, default=3, help="early stopping on validation loss")
        parser.add_argument("--max-minutes", type=float, help="stop after this much training time")

    def _add_model_choice(self, parser):
        task = self.task
        if task.shipped_models:
            parser.add_argument("--model", choices=task.shipped_models,
                                help=f"a shipped model (default: {task.default_model}{task.shipped_model_help})")
        parser.add_argument("--model-dir", help="a model directory written by `train` (overrides --model)")

    def add_architecture_arguments(self, parser):
        names = tuple(self.task.presets)
        default = self.task.default_model if self.task.default_model in names else names[0]
        parser.add_argument("--model", choices=names, default=default, help="architecture")
        parser.add_argument("--size", choices=SIZES, default="small", help="model size preset")

    # --- model directories -----------------------------------------------------------------------

    def model_directory(self, args):
        """The directory of --model-dir, else of the shipped --model."""
        if getattr(args, "model_dir", None):
            return self.task.directory(args.model_dir)
        if not self.task.shipped_models:
            raise UserError("--model-dir is required: this app ships no trained model yet")
        return self.shipped_directory(args.model)

    def shipped_directory(self, name):
        return self.task.directory(self.task.shipped_dir / name)

    def load_model(self, directory):
        """The Keras model of a model directory (weights read back from its SavedModel)."""
        task = self.task

        def build(config, vocabularies):
            if config.get("architecture") not in task.presets:
                raise UserError(f"{directory.path}/config.json names an unknown architecture")
            return task.build_model(config["architecture"], config.get("arguments", {}), vocabularies)

        return directory.load_model(build)

    # --- predict ---------------------------------------------------------------------------------

    def predict(self, args):
        inputs = read_inputs(args.inputs, self.task.inputs_metavar)
        if self.task.inputs_required and not any(text.strip() for text in inputs):
            raise UserError(self.task.nothing_to_do)
        status = self.task.predict(self, inputs, args) or 0
        return status or (cli.EXIT_PARTIAL if inputs.undecodable else 0)

    # --- train -----------------------------------------------------------------------------------

    def train(self, args):
        from apps.common import training
        from apps.common.strategies import make_strategy
        from apps.common.vocabulary_growth import grow_weights
        from datasets.vocabulary import OOV_TOKEN

        task = self.task
        # First: a multi-worker strategy must exist before TensorFlow runs any op.
        strategy = make_strategy(args.strategy)
        replicas = strategy.num_replicas_in_sync
        if args.batch_size % replicas:
            raise UserError(f"--batch-size {args.batch_size} must be a multiple of the {replicas} replicas")
        out = task.directory(args.out or os.path.join("runs", args.model))
        args = self.with_data_source(args, {})
        splits = {split: task.load_split(args, split) for split in ("train", "validation")}
        noun = task.example_noun
        if not splits["train"] or not splits["validation"]:
            raise UserError(f"{args.data}: too few {noun} for a train and a validation split")
        print(f"{len(splits['train'])} training {noun}, {len(splits['validation'])} validation {noun}",
              file=sys.stderr)

        # A resumed run must see the vocabularies of the run it resumes, and a model started
        # from another's weights the vocabularies those weights index.
        initial = self.initial_model(args) if args.init_from else None
        add_words = getattr(args, "add_words", None)
        if add_words and not initial:
            raise UserError("--add-words grows the vocabularies of a trained model: give --init-from")
        added = {}
        if initial and add_words:
            vocabularies = task.grown_vocabularies(initial["vocabularies"], splits["train"], add_words)
            added = {name: len(vocabularies[name]) - len(initial["vocabularies"][name])
                     for name in task.vocabulary_names}
            print("words added: " + ", ".join(f"{name} {count}" for name, count in added.items()), file=sys.stderr)
        elif initial:
            vocabularies = initial["vocabularies"]
        elif out.has_vocabularies():
            vocabularies = out.vocabularies()
        else:
            vocabularies = task.build_vocabularies(splits["train"], args)
        # Keras averages the first batch over replicas before training, which needs equal shares:
        # with several replicas, every training batch is full.
        train_data = self.dataset(splits["train"], vocabularies, args.batch_size, shuffle=True,
                                  drop_remainder=replicas > 1, args=args)
        if replicas > 1 and not any(True for _ in train_data.take(1)):
            raise UserError(f"--strategy {args.strategy}: no length bucket of the {len(splits['train'])} training "
                            f"{noun} fills a batch of {args.batch_size}, and each replica needs its share of a full "
                            "batch: give a smaller --batch-size")
        # Created only once the data has loaded: a command that fails on its input leaves nothing behind.
        out.create()
        out.write_vocabularies(vocabularies)
        validation_data = self.dataset(splits["validation"], vocabularies, args.batch_size, shuffle=False, args=args)

        arguments = task.model_arguments(args)
        with strategy.scope():
            model = task.build_model(args.model, arguments, vocabularies)
            if initial:
                weights = initial["model"].get_weights()
                if added:
                    unknown_index = vocabularies[task.vocabulary_names[0]].index(OOV_TOKEN)
                    weights = grow_weights(weights, [weight.shape for weight in model.weights], unknown_index)
                model.set_weights(weights)
            else:
                task.initialize(model, vocabularies, args)
            task.compile(model, args.model, args)
        callbacks = training.training_callbacks(out.path, args.patience, args.max_minutes)
        started = time.time()
        history = model.fit(train_data, validation_data=validation_data, epochs=args.epochs, callbacks=callbacks)
        record = training.run_record(
            self.command_line(), history, started, data=args.data, **task.training_record(args),
            **({"added_words": added} if added else {}),
            **{noun: {split: len(examples) for split, examples in splits.items()}},
        )
        config = self.model_config(args.model, arguments, model, record, initial and initial["config"],
                                   data_settings=task.data_settings(args))
        self.save(out, model, config, vocabularies)
        print(f"model written to {out.path}", file=sys.stderr)
        return 0

    def command_line(self):
        return f"python -m apps.{self.task.name} " + " ".join(sys.argv[1:])

    def dataset(self, examples, vocabularies, batch_size, shuffle, drop_remainder=False, args=None):
        """Length-bucketed, cached, prefetched (x, y) batches of `examples` (or the task's own `dataset`).

        `args`: `train`'s parsed command line, handed to the task's `dataset` and `encode` when they take it.
        """
        task = self.task
        batches = task.dataset(examples, vocabularies, batch_size, shuffle, drop_remainder,
                               **with_args(task.dataset, args))
        if batches is not None:
            return batches
        from datasets.pipeline import bucketed_batches, sequence_dataset

        fields = task.encode(examples, vocabularies, **with_args(task.encode, args))
        batches = bucketed_batches(sequence_dataset(*fields), batch_size,
                                   shuffle_buffer=len(examples) if shuffle else None, drop_remainder=drop_remainder)
        return batches.map(self.task.model_batch)

    def model_config(self, architecture, arguments, model, record, previous_config=None, data_settings=None):
        """config.json: architecture, arguments, data settings (`Task.data_settings`, if any),
        decoding settings, parameters, provenance."""
        config = {
            "architecture": architecture,
            "arguments": arguments,
            **({"data_settings": data_settings} if data_settings else {}),
            **self.task.config_extras(),
            "parameters": int(model.count_params()),
            "training": record,
        }
        if previous_config:
            # The runs this one continues, oldest first, so a model card can give every command.
            previous = dict(previous_config.get("training", {}))
            config["training"]["previous_runs"] = [
                *previous.pop("previous_runs", []),
                {**previous, "parameters": previous_config.get("parameters")},
            ]
            config.update({key: previous_config[key] for key in self.task.carried_config_keys
                           if key in previous_config})
        return config

    def save(self, out, model, config, vocabularies):
        """Writes a model directory from a trained model (copied out of any distribution strategy)."""
        fresh = self.task.build_model(config["architecture"], config["arguments"], vocabularies)
        fresh.set_weights(model.get_weights())
        config = {**config, "weights": weight_names(fresh)}
        out.save(config, vocabularies, self.task.build_server(fresh, vocabularies, config))

    def initial_model(self, args):
        """The model of --init-from, checked to be the architecture and size being trained."""
        directory = self.task.directory(args.init_from)
        config = directory.config()
        wanted = {"architecture": args.model, "arguments": self.task.model_arguments(args)}
        found = {"architecture": config.get("architecture"), "arguments": config.get("arguments")}
        if found != wanted:
            raise UserError(
                f"--init-from {args.init_from} holds {found['architecture']} {found['arguments']}, but "
                f"--model {args.model} --size {args.size} trains {args.model} {wanted['arguments']}"
            )
        # Directories written before "data_settings" existed have them in their training record.
        recorded = {**config.get("training", {}), **config.get("data_settings", {})}
        for key, value in self.task.data_settings(args).items():
            if recorded.get(key) != value:
                raise UserError(f"--init-from {args.init_from} was trained with {key} {recorded.get(key)}, but this "
                                f"run's options give {key} {value}: give the options it was trained with")
        return {"model": self.load_model(directory), "config": config, "vocabularies": directory.vocabularies()}

    # --- eval ------------------------------------------------------------------------------------

    def evaluate(self, args):
        directory = self.model_directory(args)
        config = directory.config()
        if args.write:  # checked before the work, not after it
            cli.checked_output_file(directory.file("metrics.json"), "--write")
        args = self.with_data_source(args, config)
        examples = self.task.load_eval_split(args, args.split)[: args.limit]
        if not examples:
            raise UserError(f"{args.data}: the {args.split} split is empty")
        noun = self.task.example_noun
        metrics = {"split": args.split, "data": args.data, noun: len(examples),
                   **self.task.evaluate(self, directory, examples, args)}
        pictures = metrics.pop(WRITE_AFTER, ())  # drawn after the metrics are printed: a failed write loses none
        if args.json:
            cli.print_json(metrics, ensure_ascii=True)
        else:
            print(f"{directory.path} on {len(examples)} {args.split} {noun} ({args.data})")
            for line in self.task.format_metrics(metrics):
                print(line)
        sys.stdout.flush()
        for draw in pictures:
            draw()
        if args.write:
            from apps.common.model_directory import write_json

            write_json(directory.file("metrics.json"), metrics)
        return 0

    # --- export ----------------------------------------------------------------------------------

    def export(self, args):
        from apps.common.model_directory import export_to

        directory = self.model_directory(args)
        config = directory.config()
        options = {"beam_size": args.beam} if getattr(args, "beam", None) else {}
        server = self.task.build_server(self.load_model(directory), directory.vocabularies(), config, **options)
        export_to(server, args.out)
        names = ", ".join(server.signatures())
        print(f"SavedModel written to {args.out} (signatures: {names})", file=sys.stderr)
        return 0


MAX_LENGTH = 20_000  # generated tokens per sample: more is a typo, not a wish


def add_sampling_arguments(parser, max_length=MAX_LENGTH,
                           length_help="how many tokens to generate (default: the app's)"):
    """--temperature, --top-k, --top-p, --seed, --length: checked here, so a bad one is one line.

    An app whose --length counts something else (music: bars) gives its own ceiling and help.
    """
    parser.add_argument("--temperature", type=bounded(float, "a number in 0.0001..100", lambda t: 1e-4 <= t <= 100),
                        default=1.0, help="below 1 sharpens the distribution, above 1 flattens it (default 1.0)")
    parser.add_argument("--top-k", type=bounded(int, "an integer in 0..1000000", lambda k: 0 <= k <= 1_000_000),
                        default=0, help="draw from the k most probable tokens only; 0 = all (default)")
    parser.add_argument("--top-p", type=bounded(float, "a number in (0, 1]", lambda p: 0 < p <= 1), default=1.0,
                        help="draw from the smallest set of tokens whose probability reaches p (default 1.0 = all)")
    parser.add_argument("--seed", type=bounded(int, "an integer in 0..2147483647", lambda n: 0 <= n < 2**31),
                        default=0, help="the same seed gives the same output (default 0)")
    parser.add_argument("--length", type=bounded(int, f"an integer in 1..{max_length}", lambda n: 1 <= n <= max_length),
                        help=length_help)


def add_size_arguments(parser, layer="recurrent layer"):
    """`train`'s --units and --num-layers, which override the --model/--size preset (`preset_overrides`).

    `layer` is what the help calls one layer ("LSTM layer").
    """
    parser.add_argument("--units", type=positive_int, help=f"units per {layer} (default: the preset's)")
    parser.add_argument("--num-layers", type=positive_int, help=f"{layer}s (default: the preset's)")


def preset_overrides(args, names=("units", "num_layers")):
    """{name: value} of the options in `names` the command line gave (not None): what an app's
    `Task.model_arguments` puts over the preset's constructor arguments."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def bounded(kind, expected, is_valid):
    """argparse `type=`: `kind(text)`, refused with "expected ..., got ..." unless `is_valid`."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not is_valid(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


class Inputs(list):
    """The input lines; `undecodable` holds the indices of stdin lines that were not UTF-8 (each
    reported as `line N:` and kept as an empty line, so output rows stay aligned with input rows)."""

    undecodable = ()


def read_inputs(inputs, noun="inputs"):
    """The inputs given as arguments, or the lines of stdin for '-' (UTF-8 checked line by line)."""
    if inputs == ["-"]:
        data = sys.stdin.buffer.read()
        if data.startswith(b"\xef\xbb\xbf"):  # a byte-order mark
            data = data[3:]
        lines, undecodable = Inputs(), []
        for number, raw in enumerate(data.splitlines(), start=1):
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                print(f"line {number}: not UTF-8 text (byte {raw[error.start]:#04x} at column {error.start + 1})",
                      file=sys.stderr)
                lines.append("")
                undecodable.append(number - 1)
        if undecodable and len(undecodable) == len(lines):
            raise UserError(f"stdin is not UTF-8 text: none of its {len(lines)} line(s) could be read")
        lines.undecodable = tuple(undecodable)
        return lines
    if "-" in inputs:
        raise UserError(f"'-' (read stdin) cannot be mixed with {noun} given as arguments")
    return Inputs(inputs)
