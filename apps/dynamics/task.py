"""What is specific to forecasting dynamical systems: simulated or recorded series, windows, metrics, baselines.

The data are float series (T, D), not token ids. A simulated system's splits are trajectories from
different random initial conditions on its attractor (seeds 1, 2, 3 for train, validation,
test); a user's CSV series is split by time, the first 80% for training, the next 10% for
validation, the last 10% for test. For `train`, the trajectories are cut into windows of
W + K + 1 steps, each an (inputs, targets) pair: the inputs are the first W + K steps with the
last K unobserved (NaN: the model feeds back its own forecast there, `--rollout K`), the targets
the W + K steps after each (`training_windows`). `dataset` batches them. For `eval`, the examples
are the held-out trajectories themselves, each giving an observed window and the truth after it.
The data's scales are fixed, the same in every split and command: observation noise (`--noise`)
is a fraction of each variable's standard deviation, and the valid prediction time's error is
divided by sqrt(<||x||^2>), both over the system's long reference run (`System.reference_states`)
or over the training split of a user's series (`reference_states`).

Everything else (commands, model directories, training set-up) is the shared runner's. Module
level imports no TensorFlow.
"""

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

from apps.common.cli import UserError, output_file, positive_int
from apps.common.output_files import write_file
from apps.common.runner import add_size_arguments, bounded, preset_overrides
from apps.common.task import WRITE_AFTER, Task
from apps.dynamics import metrics
from apps.dynamics.baselines import Standardiser
from apps.dynamics.systems import SYSTEMS

SHIPPED = Path(__file__).resolve().parents[2] / "saved_models" / "dynamics"
WINDOW = 100  # observed steps before a forecast: 2 time units of Lorenz-63
STRIDE = 10  # steps between the starts of two training windows
TRAJECTORIES = 64  # simulated training trajectories (validation: an eighth, at least 4)
TRAJECTORY_STEPS = 2000  # samples per simulated trajectory: 40 time units of Lorenz-63, 36 Lyapunov times
MAX_STEPS = 100_000  # forecast steps per call: more is a typo, not a wish
LONG_RUN = 10_000  # steps of the free runs whose distributions `eval` compares
LONG_RUN_STARTS = 5  # held-out windows the free runs start from: one chaotic run alone is a lottery
HORIZON_LYAPUNOV_TIMES = 20  # `eval`'s default horizon for a chaotic system
HORIZON_STEPS = 1000  # ... for a periodic one or a user's series
CONDITIONS = 100
SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3}
FORECAST_SEED = 1000  # `forecast --seed s` draws its initial condition with seed 1000 + s, apart from the splits
CSV_SPLITS = {"train": (0.0, 0.8), "validation": (0.8, 0.9), "test": (0.9, 1.0)}
NORMALISATION = ("mean", "std", "step_std")
LEARNING_RATE = 2e-3
PRESETS = {
    cell: {"tiny": {"units": 16, "num_layers": 1, "cell": cell}, "small": {"units": 128, "num_layers": 2, "cell": cell}}
    for cell in ("gru", "lstm")
}


def fraction(text):
    """argparse `type=` for --noise: a number in [0, 1)."""
    return bounded(float, "a fraction in [0, 1)", lambda value: 0.0 <= value < 1.0)(text)


def training_windows(trajectories, window, rollout, stride):
    """(inputs, targets) pairs of float32 (W + K, D) from every trajectory, starts `stride` apart.

    A stretch x_1 .. x_{W+K+1} gives inputs x_1 .. x_{W+K}, of which the last K are NaN
    (unobserved: the model's own forecast stands in), and targets x_2 .. x_{W+K+1}.
    """
    length, pairs = window + rollout + 1, []
    for trajectory in trajectories:
        for start in range(0, len(trajectory) - length + 1, stride):
            stretch = np.asarray(trajectory[start : start + length], dtype=np.float32)
            inputs = stretch[:-1].copy()
            inputs[window:] = np.nan
            pairs.append((inputs, stretch[1:]))
    return pairs


def normalisation(trajectories):
    """The model's mean, std and step_std (lists of D floats) from training trajectories (T_i, D):
    the `Standardiser` of the states, and that of their one-step increments."""
    states = Standardiser().fit(trajectories)
    steps = Standardiser().fit([np.diff(np.asarray(t, dtype=np.float64), axis=0) for t in trajectories])
    return {"mean": states.mean.tolist(), "std": states.std.tolist(), "step_std": steps.std.tolist()}


def observation_noise(trajectories, level, std, seed):
    """The trajectories (T_i, D) plus Gaussian noise of `level` times `std` (D,), the data's fixed
    per-variable standard deviation (`DynamicsTask.reference_states`), the same in every split."""
    if not level:
        return trajectories
    rng = np.random.default_rng(seed)
    return [t + rng.normal(size=t.shape) * (level * np.asarray(std)) for t in trajectories]


def time_axis(steps, data):
    """Times of steps (an array) for plots, in Lyapunov times, time units or steps; and the label."""
    if data.get("lyapunov_exponent") and data.get("dt"):
        return metrics.lyapunov_times(steps, data["dt"], data["lyapunov_exponent"]), "Lyapunov times"
    if data.get("dt"):
        return np.asarray(steps) * data["dt"], "time"
    return np.asarray(steps, dtype=np.float64), "step"


class DataSource(argparse.Action):
    """--system and --data: either sets `args.data`, and giving both is one clear error."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = getattr(namespace, "data_option", None)
        if given not in (None, option_string):
            raise argparse.ArgumentError(self, f"not allowed with {given}: simulate a system or read your own "
                                               "series, not both")
        namespace.data_option = option_string
        setattr(namespace, self.dest, values)


class DynamicsTask(Task):
    name = "dynamics"
    description = sys.modules["apps.dynamics"].__doc__
    predict_command = "forecast"
    predict_help = "continue a trajectory of the model's system, or your own series (the default command)"
    inputs_metavar = "inputs"
    inputs_help = argparse.SUPPRESS  # forecast takes none: --system or --observations say what to continue
    inputs_required = False
    json_help = "print JSON: the forecast, the truth and the valid prediction time"
    train_help = "train a forecaster on simulated trajectories of a system or on your own series"
    eval_help = "valid prediction time over held-out initial conditions, with baselines; long-run statistics"
    export_help = "write a SavedModel: an observed window and a horizon in, the forecast out"
    example_noun = "sequences"
    shipped_dir = SHIPPED
    shipped_models = ("lorenz-lstm", "lorenz-gru", "henon-lstm", "lotka-volterra-lstm")
    default_model = "lorenz-lstm"
    system_models = {"lorenz": "lorenz-lstm", "henon": "henon-lstm", "lotka-volterra": "lotka-volterra-lstm"}
    shipped_model_help = "".join(f"; --system {system}: {model}" for system, model in system_models.items())
    presets = PRESETS
    vocabulary_names = ()
    input_name = "window"
    decoding = None
    train_batch_size = 64
    train_epochs = 60
    token_examples = False  # windows of a float series, batched by `dataset`

    def __init__(self):
        self._cache = {}  # trajectories and training windows, by the arguments that make them (`_cached`)

    # --- command line ----------------------------------------------------------------------------

    def add_data_arguments(self, parser, command):
        # One destination, `args.data`: a system's name or a CSV file. `eval` defaults to the model's system.
        parser.add_argument("--system", dest="data", action=DataSource, choices=sorted(SYSTEMS),
                            default=None if command == "eval" else "lorenz",
                            help="the system to simulate (default: " + ("the model's)" if command == "eval"
                                                                        else "lorenz)"))
        parser.add_argument("--data", dest="data", action=DataSource, metavar="FILE.csv", default=argparse.SUPPRESS,
                            help="your own series instead: one column per variable, one row per step; split by "
                                 "time, 80%% train, 10%% validation, 10%% test")
        where = ": on the observed windows and the baselines' training data" if command == "eval" else ""
        parser.add_argument("--noise", type=fraction, default=0.0,
                            help="observation noise, Gaussian, as a fraction of each variable's standard deviation "
                                 f"over the system's reference run or your series' training split (e.g. 0.01){where}")
        parser.add_argument("--trajectories", type=positive_int, default=TRAJECTORIES,
                            help=f"simulated training trajectories (default {TRAJECTORIES})"
                                 + ("; the baselines are fitted on them" if command == "eval" else ""))
        parser.add_argument("--trajectory-steps", type=bounded(int, "an integer in 10..1000000",
                                                               lambda n: 10 <= n <= 1_000_000),
                            default=TRAJECTORY_STEPS,
                            help=f"steps per simulated trajectory (default {TRAJECTORY_STEPS})")

    def add_vocabulary_arguments(self, parser):
        parser.add_argument("--window", type=positive_int, default=WINDOW,
                            help=f"observed steps per training window, and before every forecast (default {WINDOW})")
        parser.add_argument("--rollout", type=bounded(int, "an integer in 0..1000", lambda n: 0 <= n <= 1000),
                            default=0, help="closed-loop steps after each training window: the model learns from its "
                                            "own forecasts (default 0: teacher forcing only)")
        parser.add_argument("--stride", type=positive_int, default=STRIDE,
                            help=f"steps between two training windows (default {STRIDE})")

    def add_train_arguments(self, parser):
        add_size_arguments(parser)

    def add_predict_arguments(self, parser):
        parser.add_argument("--system", choices=sorted(SYSTEMS), help="the system (default: the model's)")
        parser.add_argument("--observations", metavar="FILE.csv",
                            help="forecast your own series: one column per variable, one row per step; the last "
                                 "window of rows is read")
        steps = bounded(int, f"an integer in 1..{MAX_STEPS}", lambda n: 1 <= n <= MAX_STEPS)
        parser.add_argument("--steps", type=steps,
                            default=1000, help=f"steps to forecast (default 1000, at most {MAX_STEPS:,})")
        parser.add_argument("--seed", type=bounded(int, "an integer in 0..2147483647", lambda n: 0 <= n < 2**31),
                            default=0, help="which held-out initial condition (default 0)")
        parser.add_argument("--noise", type=fraction, default=0.0,
                            help="observation noise on the simulated window, a fraction of each variable's "
                                 "standard deviation over the system's reference run (not with --observations)")
        parser.add_argument("--plot", metavar="FILE.png", type=output_file,
                            help="draw each variable over time and the phase portrait")
        parser.add_argument("--csv", metavar="FILE.csv", type=output_file, help="write the forecast as CSV")

    def add_eval_arguments(self, parser):
        parser.add_argument("--conditions", type=positive_int, default=CONDITIONS,
                            help=f"held-out initial conditions (default {CONDITIONS})")
        parser.add_argument("--horizon", type=bounded(int, f"an integer in 1..{MAX_STEPS}",
                                                      lambda n: 1 <= n <= MAX_STEPS),
                            help=f"forecast steps per condition (default {HORIZON_LYAPUNOV_TIMES} Lyapunov times "
                                 f"for a chaotic system, else {HORIZON_STEPS})")
        parser.add_argument("--long-run", type=bounded(int, f"an integer in 100..{MAX_STEPS}",
                                                       lambda n: 100 <= n <= MAX_STEPS),
                            default=LONG_RUN,
                            help=f"steps of the free runs compared in distribution (default {LONG_RUN})")
        parser.add_argument("--long-run-starts", type=positive_int, default=LONG_RUN_STARTS,
                            help="free runs, from that many held-out windows; their distances are given as "
                                 f"median [min-max] (default {LONG_RUN_STARTS})")
        parser.add_argument("--no-baselines", action="store_true",
                            help="the model only: no persistence, linear autoregression or echo state network")
        parser.add_argument("--plot", metavar="FILE.png", type=output_file,
                            help="draw each variable's long-run distribution, truth against the forecasters")

    def extra_commands(self):
        def arguments(parser):
            parser.add_argument("--quick", action="store_true", help="a tiny run in seconds (for tests)")
            parser.add_argument("--json", action="store_true", help="print JSON")
            parser.add_argument("--plot", metavar="FILE.png", type=output_file,
                                help="draw the gradient norms, the accuracy against the gap, and the clipping runs")

        return {"gradients": ("vanishing gradients: tanh RNN, GRU and LSTM recalling a value across a gap",
                              arguments, gradients)}

    def model_arguments(self, args):
        """The preset, --units, --num-layers, and the normalisation of the training data (or of the
        --init-from model, so that fine-tuning keeps the model's units)."""
        arguments = {**super().model_arguments(args), **preset_overrides(args)}
        if getattr(args, "init_from", None):
            from apps.common.model_directory import ModelDirectory

            previous = ModelDirectory(args.init_from).config().get("arguments", {})
            arguments.update({key: previous[key] for key in NORMALISATION if key in previous})
            return arguments
        trajectories = self.trajectories(args, "train")
        spread = np.ptp(np.concatenate(trajectories), axis=0)  # (D,)
        constant = [name for name, width in zip(self.describe_data(args)["variables"], spread, strict=True)
                    if width == 0]
        if constant:
            raise UserError(f"{args.data}: {', '.join(constant)} never changes in the training data: leave it out")
        arguments.update(normalisation(trajectories))
        return arguments

    # --- data ------------------------------------------------------------------------------------

    def trajectories(self, args, split, noisy=True):
        """The split's trajectories, a list of float64 (T_i, D) arrays; with --noise added when `noisy`.

        Made once per process for the same arguments (`_cached`): `train` asks for the training
        split for the normalisation, the batches and the learning-rate schedule.
        """
        count = {"train": args.trajectories, "validation": max(4, args.trajectories // 8),
                 "test": getattr(args, "conditions", CONDITIONS)}[split]
        clean = self._cached(("trajectories", args.data, split, count, args.trajectory_steps),
                             lambda: self._clean_trajectories(args.data, split, count, args.trajectory_steps))
        if not noisy or not args.noise:
            return clean
        return self._cached(("noisy", args.data, split, count, args.trajectory_steps, args.noise),
                            lambda: observation_noise(clean, args.noise, self.reference_states(args).std(axis=0),
                                                      SPLIT_SEEDS[split] + 100))

    def _clean_trajectories(self, data, split, count, steps):
        if data in SYSTEMS:
            system = SYSTEMS[data]
            return list(system.trajectory(system.initial_conditions(count, seed=SPLIT_SEEDS[split]), steps))
        from datasets.series_csv import load_series_csv

        _, series = load_series_csv(data)
        start, end = (round(bound * len(series)) for bound in CSV_SPLITS[split])
        return [series[start:end]]

    def reference_states(self, args):
        """States (N, D) that fix the data's scales (the noise's standard deviations, the valid
        prediction time's error scale): the system's long reference run
        (`System.reference_states`), or the clean training split of a user's series."""
        if args.data in SYSTEMS:
            return SYSTEMS[args.data].reference_states
        return np.concatenate(self.trajectories(args, "train", noisy=False))

    def _cached(self, key, make):
        """`make()`, computed once per `key` (a tuple of the arguments it depends on)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def describe_data(self, args):
        """What a model directory records of its data: system, variables, dt, Lyapunov exponent."""
        if args.data in SYSTEMS:
            return SYSTEMS[args.data].describe()
        from datasets.series_csv import load_series_csv

        names, _ = load_series_csv(args.data)
        return {"system": None, "variables": names, "dt": None, "lyapunov_exponent": None}

    def shipped_model_for(self, args):
        """--system names the shipped LSTM of that system (forecast's `args.system`, eval's `args.data`)."""
        system = getattr(args, "system", None) or getattr(args, "data", None)
        return self.system_models.get(system, self.default_model)

    def data_source(self, args, config):
        """`eval` with neither --system nor --data: the model's own system."""
        if args.data is None:
            return self._system_for(None, config.get("training", {}), "eval --system", "--data").name
        return args.data

    def load_eval_split(self, args, split):
        """The held-out trajectories, without noise (`evaluate` adds it to the observed windows only)."""
        return self.trajectories(args, split, noisy=False)

    def load_split(self, args, split):
        """(inputs, targets) training windows of the split's trajectories."""
        trajectories = self.trajectories(args, split)
        key = ("windows", args.data, split, args.trajectories, args.trajectory_steps, args.noise, args.window,
               args.rollout, args.stride)
        windows = self._cached(key, lambda: training_windows(trajectories, args.window, args.rollout, args.stride))
        if not windows:
            steps = max(len(t) for t in trajectories)
            raise UserError(f"{args.data}: the {split} split has {steps} steps, fewer than a training window of "
                            f"{args.window + args.rollout + 1} (--window {args.window} + --rollout {args.rollout} + 1)")
        return windows

    def build_vocabularies(self, train_examples, args):
        return {}

    def dataset(self, examples, vocabularies, batch_size, shuffle, drop_remainder=False):
        import tensorflow as tf

        inputs = np.stack([x for x, _ in examples])  # (N, W + K, D)
        targets = np.stack([y for _, y in examples])
        data = tf.data.Dataset.from_tensor_slices((inputs, targets))
        if shuffle:
            data = data.shuffle(len(examples), seed=0, reshuffle_each_iteration=True)
        return data.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

    # --- model -----------------------------------------------------------------------------------

    def architecture(self, name):
        from apps.dynamics.model import DynamicsForecaster

        return DynamicsForecaster

    def build_model(self, architecture, arguments, vocabularies):
        model = self.architecture(architecture)(**arguments)
        model(np.zeros((1, 2, len(arguments["mean"])), "float32"))
        return model

    def compile(self, model, architecture, args):
        """Adam with a cosine decay of the learning rate to 1% over the planned epochs; the loss is
        the squared error of the increments in units of their standard deviation."""
        import keras

        from apps.common import training
        from apps.dynamics.model import increment_loss

        steps = args.epochs * math.ceil(len(self.load_split(args, "train")) / args.batch_size)  # cached
        schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate or LEARNING_RATE, steps, alpha=0.01)
        model.compile(training.Adam(schedule, clipnorm=1.0), loss=increment_loss(model.step_cell.step_std))

    def training_record(self, args):
        record = {**self.describe_data(args), "noise": args.noise, "window": args.window, "rollout": args.rollout,
                  "stride": args.stride}
        if args.data in SYSTEMS:
            record.update({"trajectories": args.trajectories, "trajectory_steps": args.trajectory_steps})
        return record

    # --- serving ---------------------------------------------------------------------------------

    def build_server(self, model, vocabularies, config, **options):
        from apps.dynamics.serving import ForecastServer

        return ForecastServer(model, max_horizon=MAX_STEPS)

    # --- commands --------------------------------------------------------------------------------

    def predict(self, runner, inputs, args):
        if inputs:
            raise UserError(f"forecast takes no inputs as arguments (got {inputs[0]!r}): use --observations FILE.csv "
                            "for your own series, or --system")
        directory = runner.model_directory(args)
        data = directory.config().get("training", {})
        window, variables = data.get("window", WINDOW), data.get("variables")
        if args.observations:
            if args.system:
                raise UserError("--system and --observations exclude each other: the series is the system")
            if args.noise:
                raise UserError(f"--noise {args.noise} adds noise to a simulated window: --observations reads your "
                                "series as it is")
            observed, truth, source = self._observed_series(args.observations, window, variables), None, None
        else:
            source = self._system_for(args.system, data, "forecast --system", "--observations")
            observed, truth = self.held_out_window(source, window, args.steps, args.seed, args.noise)
        serving = directory.load_serving(optimize=False)
        forecast, result = self.forecast_of(serving, data, observed, truth, args.steps,
                                            args.observations or source.name)
        if args.json:
            print(json.dumps({**result, "forecast": forecast.tolist(),
                              **({"truth": truth.tolist()} if truth is not None else {})}))
        else:
            what = (f"the last {window} rows of {args.observations}" if args.observations
                    else f"a {window}-step window of {source.title} (seed {args.seed})")
            print(f"{args.steps} steps forecast from {what}")
            if truth is not None:
                print(self._validity_line(result))
            if not args.csv and not args.plot:
                print("last step: " + ", ".join(f"{name} {value:.4g}" for name, value in zip(variables, forecast[-1],
                                                                                               strict=True)))
        sys.stdout.flush()  # the files last: one that cannot be written loses nothing printed
        if args.csv:
            write_file(args.csv, lambda temporary: _write_csv(temporary, variables, forecast))
            print(f"forecast written to {args.csv}", file=sys.stderr)
        if args.plot:
            self.plot_forecast(forecast, truth, observed, data, result, args.plot)

    def held_out_window(self, source, window, steps, seed=0, noise=0.0):
        """`forecast --seed`'s window of a simulated system and the truth after it: (W, D) and
        (steps, D) float64, from initial condition FORECAST_SEED + seed, with --noise on the window."""
        trajectory = source.trajectory(source.initial_conditions(1, seed=FORECAST_SEED + seed), window + steps)[0]
        observed, truth = trajectory[:window], trajectory[window:]
        observed = observation_noise([observed], noise, source.reference_states.std(axis=0), FORECAST_SEED + seed)[0]
        return observed, truth

    def forecast_of(self, serving, data, observed, truth, steps, source_name):
        """The exported model's forecast (steps, D) of an observed window (W, D), and what `forecast`
        reports of it (with the valid prediction time when the truth (steps, D) is known, else None).

        Args:
            serving: the model directory's loaded SavedModel. data: its config's "training".
            source_name: the system's name or the observations' file, for the report.
        """
        import tensorflow as tf

        signature = serving.signatures["serving_default"]
        forecast = signature(window=tf.constant(observed[None], tf.float32),
                             horizon=tf.constant(steps, tf.int32))["forecast"].numpy()[0].astype(np.float64)
        result = {"source": source_name, "variables": data.get("variables"), "window": data.get("window", WINDOW),
                  "steps": steps, "dt": data.get("dt")}
        if truth is not None:
            source = self._system_for(None, data, "forecast --system", "--observations")
            result.update(self._validity(forecast, truth, data, metrics.error_scale(source.reference_states)))
        return forecast, result

    def _observed_series(self, path, window, variables):
        from datasets.series_csv import load_series_csv

        names, series = load_series_csv(path)
        if series.shape[1] != len(variables):
            raise UserError(f"{path} has {series.shape[1]} column{'s' * (series.shape[1] != 1)}, but the model "
                            f"forecasts {len(variables)} variables ({', '.join(variables)})")
        if len(series) < window:
            raise UserError(f"{path} has {len(series)} rows, fewer than the model's window of {window} steps")
        return series[-window:]

    def _system_for(self, name, data, option, own_series_option):
        """The model's system (`name`, if given, must be it)."""
        trained = data.get("system")
        if trained is None:
            raise UserError(f"the model was trained on a series of your own, not a simulated system: "
                            f"give {own_series_option} FILE.csv")
        if name and name != trained:
            raise UserError(f"the model was trained on {trained}, not {name}: {option} {trained}, or a model trained "
                            f"with `train --system {name}`")
        return SYSTEMS[trained]

    def _validity(self, forecast, truth, data, scale):
        """The valid prediction time of one forecast (T, D) against the truth (T, D), with the
        system's fixed error scale (`apps.dynamics.metrics`)."""
        steps = int(metrics.valid_prediction_steps(forecast[None], truth[None], scale)[0])
        result = {"valid_prediction_steps": steps, "error_scale": round(scale, 4),
                  "threshold": metrics.THRESHOLD, "censored": steps == len(truth)}
        if data.get("lyapunov_exponent"):
            result["valid_prediction_lyapunov_times"] = round(
                float(metrics.lyapunov_times(steps, data["dt"], data["lyapunov_exponent"])), 3)
        return result

    def _validity_line(self, result):
        steps = result["valid_prediction_steps"]
        discrete = result.get("dt") == 1  # a map: a step is an iteration, not a span of time
        line = f"valid prediction time: {'at least ' if result['censored'] else ''}{steps} " + (
            "iterations" if discrete else "steps")
        if result.get("dt") and not discrete:
            line += f" = {steps * result['dt']:.3g} time units"
        if "valid_prediction_lyapunov_times" in result:
            line += f" = {result['valid_prediction_lyapunov_times']:.2f} Lyapunov times"
        return line + f" (normalised error threshold {result['threshold']})"

    def plot_forecast(self, forecast, truth, observed, data, result, path):
        """`forecast --plot`: the window, the forecast and the truth over time (`forecast_of`'s report)."""
        from apps.dynamics.plots import plot_forecast

        times, label = time_axis(np.arange(1, len(forecast) + 1), data)
        observed_times, _ = time_axis(np.arange(1 - len(observed), 1), data)
        valid = None
        if truth is not None and not result["censored"]:
            valid = time_axis([result["valid_prediction_steps"]], data)[0][0]
        title = f"{result['source']}: {len(forecast)} steps from a {len(observed)}-step window"
        if truth is not None:
            title += "; " + self._validity_line(result).split(" (")[0]
        plot_forecast(times, forecast, result["variables"], path, truth=truth, observed_times=observed_times,
                      observed=observed, time_label=label, valid_time=valid, title=title)
        print(f"plot written to {path}", file=sys.stderr)

    def evaluate(self, runner, directory, trajectories, args):
        """Valid prediction time over held-out conditions and long-run distances, model and baselines."""
        from apps.dynamics import baselines

        config = directory.config()
        data = config.get("training", {})
        if args.data in SYSTEMS:
            self._system_for(args.data, data, "eval --system", "--data")
        window, variables = data.get("window", WINDOW), data.get("variables")
        if trajectories[0].shape[1] != len(variables):
            raise UserError(f"{args.data} has {trajectories[0].shape[1]} variables, the model forecasts "
                            f"{len(variables)} ({', '.join(variables)})")
        horizon = args.horizon or (
            math.ceil(HORIZON_LYAPUNOV_TIMES / (data["dt"] * data["lyapunov_exponent"]))
            if data.get("lyapunov_exponent") else HORIZON_STEPS)
        windows, truths = self._conditions(trajectories, window, horizon, args)
        reference = self.reference_states(args)
        windows = np.stack(observation_noise(list(windows), args.noise, reference.std(axis=0),
                                             SPLIT_SEEDS["test"] + 200))
        scale = metrics.error_scale(reference)

        forecasters = {f"model ({config.get('architecture')})": self._served(directory)}
        if not args.no_baselines:
            training = self.trajectories(args, "train")
            for baseline in (baselines.Persistence(), baselines.LinearAutoregression(), baselines.EchoStateNetwork()):
                print(f"fitting {baseline.name} ...", file=sys.stderr)
                forecasters[baseline.name] = self._baseline_forecast(baseline, training, args)
        valid, long_runs = {}, {}
        for name, forecast in forecasters.items():
            steps = metrics.valid_prediction_steps(forecast(windows, horizon), truths, scale)
            valid[name] = {"steps": metrics.summary(steps), "censored": int(np.sum(steps == horizon))}
            if data.get("lyapunov_exponent"):
                valid[name]["lyapunov_times"] = metrics.summary(
                    metrics.lyapunov_times(steps, data["dt"], data["lyapunov_exponent"]))
            long_runs[name] = forecast(windows[:args.long_run_starts], args.long_run)
        held_out = np.concatenate(trajectories)
        distances = {name: metrics.long_run_spread(runs, held_out, variables) for name, runs in long_runs.items()}

        def plot():
            from apps.dynamics.plots import plot_distributions

            pooled = {name: np.concatenate(list(runs)) for name, runs in long_runs.items()}
            plot_distributions({"truth": held_out, **pooled}, variables, args.plot,
                               title=f"{len(windows[:args.long_run_starts])} free runs of {args.long_run} steps "
                                     f"against {len(held_out)} held-out true states")
            print(f"plot written to {args.plot}", file=sys.stderr)

        return {WRITE_AFTER: [plot] if args.plot else [],
                "conditions": len(windows), "window": window, "horizon": horizon, "noise": args.noise,
                "threshold": metrics.THRESHOLD, "error_scale": round(scale, 4), "dt": data.get("dt"),
                "lyapunov_exponent": data.get("lyapunov_exponent"), "valid_prediction_time": valid,
                "long_run": {"steps": args.long_run, "starts": len(windows[:args.long_run_starts]),
                             "wasserstein": distances}}

    def _baseline_forecast(self, baseline, training, args):
        """`baseline` fitted on the training trajectories: its forecast, whose ValueErrors (data too
        short for the baseline, say) are one clear line."""
        more = "a larger --trajectory-steps" if args.data in SYSTEMS else "a longer series"
        hint = f"use --no-baselines, or {more}"
        try:
            baseline.fit(training)
        except ValueError as error:
            raise UserError(f"{baseline.name} cannot be fitted on {args.data}: {error}: {hint}") from None

        def forecast(windows, horizon):
            try:
                return baseline.forecast(windows, horizon)
            except ValueError as error:
                raise UserError(f"{baseline.name} cannot forecast: {error}: {hint}") from None

        return forecast

    def _conditions(self, trajectories, window, horizon, args):
        """Observed windows (N, W, D) and the truth after them (N, horizon, D) from held-out trajectories."""
        needed = window + horizon
        longest = max(len(t) for t in trajectories)
        if longest < needed:
            hint = ("--trajectory-steps" if args.data in SYSTEMS else "a longer series")
            raise UserError(f"the {args.split} trajectories have {longest} steps, fewer than the model's window of "
                            f"{window} plus a horizon of {horizon}: lower --horizon or give {hint}")
        per_trajectory = math.ceil(args.conditions / len(trajectories))  # the extra ones are cut below
        stretches = []
        for trajectory in trajectories:
            if len(trajectory) >= needed:
                starts = np.unique(np.linspace(0, len(trajectory) - needed, per_trajectory).round().astype(int))
                stretches += [trajectory[start : start + needed] for start in starts]
        stretches = np.stack(stretches[: args.conditions])
        return stretches[:, :window], stretches[:, window:]

    def _served(self, directory):
        """The SavedModel's forecast as a NumPy function (windows (B, W, D), horizon) -> (B, horizon, D)."""
        import tensorflow as tf

        signature = directory.load_serving().signatures["serving_default"]

        def forecast(windows, horizon):
            outputs = signature(window=tf.constant(windows, tf.float32), horizon=tf.constant(horizon, tf.int32))
            return outputs["forecast"].numpy().astype(np.float64)

        return forecast

    def format_metrics(self, metrics):
        chaotic = metrics.get("lyapunov_exponent") is not None
        unit = "Lyapunov times" if chaotic else "steps"
        lines = [f"  valid prediction time in {unit}, median [25%-75%] over {metrics['conditions']} conditions "
                 f"(window {metrics['window']}, horizon {metrics['horizon']} steps, noise {metrics['noise']}, "
                 f"error threshold {metrics['threshold']}):"]
        for name, valid in metrics["valid_prediction_time"].items():
            values = valid["lyapunov_times" if chaotic else "steps"]
            censored = f"  ({valid['censored']} valid to the horizon)" if valid["censored"] else ""
            lines.append(f"    {name:18s} {values['median']:8.2f}  [{values['p25']:.2f}-{values['p75']:.2f}]{censored}")
        long_run = metrics["long_run"]
        lines.append(f"  {long_run['steps']}-step free runs from {long_run['starts']} windows, Wasserstein distance "
                     "to the true distribution, median [min-max]:")
        for name, distances in long_run["wasserstein"].items():
            cells = "  ".join(f"{variable} " + ("diverged" if spread is None else
                                                f"{spread['median']:.3f} [{spread['min']:.3f}-{spread['max']:.3f}]")
                              for variable, spread in distances.items())
            lines.append(f"    {name:18s} {cells}")
        return lines


def _write_csv(path, variables, forecast):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(variables)
        writer.writerows(forecast.tolist())


def gradients(runner, args):
    """The vanishing-gradient experiment (`apps.dynamics.gradients`): a table, and a plot with --plot."""
    from apps.dynamics import gradients as experiment

    settings = experiment.QUICK if args.quick else experiment.FULL
    log = None if args.json else (lambda line: print(line, file=sys.stderr))
    result = experiment.run_experiment(settings, log=log)
    if args.json:
        clipping = {key: [loss if math.isfinite(loss) else None for loss in value] if isinstance(value, list) else value
                    for key, value in result["clipping"].items()}  # a loss that ran off to inf is null
        print(json.dumps({**result, "clipping": clipping}))
    else:
        print("\n".join(gradient_table(result, experiment.TOLERANCE)))
    sys.stdout.flush()
    if args.plot:  # after the table: a picture that cannot be written loses none of it
        from apps.dynamics.plots import plot_gradient_experiment

        plot_gradient_experiment(result["gradient_norms"], result["gaps"], result["accuracy"], result["clipping"],
                                 args.plot, chance=experiment.CHANCE)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


def gradient_table(result, tolerance):
    """The lines `gradients` prints: accuracy against the gap, gradient ratios, clipping."""
    gaps = result["gaps"]
    lines = [f"recall accuracy (within {tolerance} of the marked value) against the gap:",
             "  gap      " + "".join(f"{gap:>8d}" for gap in gaps)]
    for cell, values in result["accuracy"].items():
        lines.append(f"  {cell:9s}" + "".join(f"{value:8.3f}" for value in values))
    longest = max(gaps)
    lines.append(f"||dL/dh_t|| at distance {longest} from the end, relative to the last step (trained models):")
    for cell, curves in result["gradient_norms"].items():
        trained, initial = curves["trained"], curves["initial"]
        lines.append(f"  {cell:9s} {trained[longest] / trained[0]:.2e}"
                     f"  (untrained: {initial[longest] / initial[0]:.2e})")
    clip = result["clipping"]
    lines.append(f"clipping (tanh RNN, recurrent matrix {clip['gain']} x orthogonal, SGD {clip['learning_rate']}; "
                 f"first gradient norm {clip['first_gradient_norm']:.0f}): loss after {len(clip['with'])} updates "
                 f"without clipping {clip['without'][-1]:.3g}, with clipnorm {clip['clipnorm']} "
                 f"{clip['with'][-1]:.3g} (first {clip['with'][0]:.3g})")
    return lines
