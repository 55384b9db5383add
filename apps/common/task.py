"""What an app tells the shared runner: its data, vocabularies, models, serving and outputs.

An app subclasses `Task` and fills in what is specific to it; `apps.common.runner` turns it into
a command with `predict` (the default), `train`, `eval`, `export` and the portable trainer's
`pack`, `fit`, `adopt`. Data travel as *fields*: each example becomes a tuple of int id
sequences (source ids, target ids; a label is a sequence of one), which the runner batches
(length-bucketed `tf.data` here, NumPy batches on any Keras backend for `fit`) and
`model_batch` turns into the model's `(x, y)`. An app whose examples are not token ids (float
time series) batches them itself for `train` in `dataset`.

Methods that run on the portable trainer's machine, which may have JAX and no TensorFlow
(`architecture`, `build_model`, `compile`, `model_batch`, `example_batch`, `training_record`,
`add_train_arguments`), must not import TensorFlow; nor may this module or the app's task module
at import time.
"""

from apps.common.decoding_defaults import DEFAULT_BEAM_SIZE, DEFAULT_LENGTH_PENALTY

# A key `Task.evaluate` may add to its metrics: callables that write its pictures, which `eval`
# calls after printing the metrics, so a picture that cannot be written loses no figure.
WRITE_AFTER = "write_after"


class Task:
    """One app. Class attributes describe it; methods are its hooks, overridden as needed.

    Attributes:
        name: the package under `apps/`: the command is `python -m apps.<name>`.
        description: the command's --help text.
        predict_command: the default sub-command's name ("translate", "caption", ...); `predict`
            is its alias.
        predict_help, train_help, eval_help, export_help: the sub-commands' --help lines.
        inputs_metavar, inputs_help: how --help names and explains the default command's inputs.
        nothing_to_do: the error when every input is empty.
        inputs_required: False lets the default command run on no input (a generator's empty prompt).
        json_help: --help of the default command's --json.
        example_noun: what the data's examples are called in messages and metrics ("pairs").
        shipped_dir: pathlib.Path of `saved_models/<name>`, or None.
        shipped_models: names of the shipped model directories; default_model: the default.
        shipped_model_help: what --help adds to the default when other options choose the shipped
            model (`shipped_model_for`).
        presets: {architecture name: {size ("tiny", "small"): constructor arguments}}, plain data
            (the command line reads the names without importing Keras); `architecture(name)`
            gives the class.
        vocabulary_names: the vocabularies a model directory keeps (`<name>_vocabulary.txt`).
        optional_vocabulary_names: vocabularies a model directory may keep (older ones lack them).
        carried_config_keys: config.json entries that describe vocabularies, which `train
            --init-from` carries over with the vocabularies themselves.
        input_name: the serving signature's input ("text", "image_bytes").
        decoding: "beam" (the default command and `export` take --beam, the config records the
            beam and length penalty), "sample" (the default command takes --temperature, --top-k,
            --top-p, --seed, --length), or None (a classifier). `build_server` decides what the
            SavedModel is.
        batch_size: inputs per serving call in `predict` and `eval`.
        train_batch_size, train_epochs: the defaults of `train` and `fit`.
        eval_splits: the splits `eval --split` accepts ("test" is the default).
        token_examples: True when the training examples are token ids, which the runner batches and
            the portable trainer (`pack`, `fit`, `adopt`) packs; False for an app whose examples are
            something else (float series, cached CNN grids): it batches them itself in `dataset`,
            trains with `train`, and has no portable-trainer commands.
    """

    name = None
    description = ""
    predict_command = "predict"
    predict_help = "run the model on inputs (the default command)"
    inputs_metavar = "inputs"
    inputs_help = "inputs; '-' reads one per line from stdin"
    nothing_to_do = "nothing to do: give inputs as arguments, or '-' to read them from stdin"
    inputs_required = True  # False: the default command may run on no input (a generator's empty prompt)
    json_help = "print JSON"
    train_help = "train a model"
    eval_help = "metrics on a held-out split"
    export_help = "write a SavedModel for TF Serving"
    example_noun = "examples"  # what `eval` counts ("pairs", "images")
    shipped_dir = None
    shipped_models = ()
    default_model = None
    shipped_model_help = ""
    presets = {}
    vocabulary_names = ()
    optional_vocabulary_names = ()
    carried_config_keys = ()
    input_name = "text"
    decoding = "beam"
    batch_size = 32
    train_batch_size = 64
    train_epochs = 20
    eval_splits = ("test", "validation")
    token_examples = True

    # --- command line ----------------------------------------------------------------------------

    def add_data_arguments(self, parser, command):
        """--data and friends, for `train`, `eval` and `pack`."""
        parser.add_argument("--data", default="bundled", help="a data file, or 'bundled' (default)")

    def add_vocabulary_arguments(self, parser):
        """Options that shape the vocabularies and the training examples, for `train` and `pack`."""

    def add_train_arguments(self, parser):
        """Training options beyond the shared ones (--model, --size, --epochs, ...), for `train` and `fit`."""

    def add_predict_arguments(self, parser):
        """Options of the default command beyond --model, --model-dir, --json, and --beam or the
        sampling options (`decoding`)."""

    def extra_commands(self):
        """Sub-commands beyond the shared ones: {name: (help, add_arguments(parser), run(runner, args))}.

        Each gets --model / --model-dir; `run` returns the exit status.
        """
        return {}

    def add_eval_arguments(self, parser):
        """Options of `eval` beyond --model, --model-dir, --split, --limit, --json, --write."""

    def directory(self, path):
        """The `ModelDirectory` at `path`, with this app's vocabularies."""
        from apps.common.model_directory import ModelDirectory

        return ModelDirectory(path, self.vocabulary_names, self.optional_vocabulary_names)

    # --- data ------------------------------------------------------------------------------------

    def shipped_model_for(self, args):
        """The shipped model a command runs when --model is not given, decided once after parsing:
        `default_model`, unless another option names the model (music's --style, dynamics' --system)."""
        return self.default_model

    def data_source(self, args, config):
        """The data `train`, `eval` and `pack` read: `args.data`, or what it means when not given
        (the model's own training data for `eval`, a style's corpus). The runner asks once, at the
        edge, and the hooks below see the answer as `args.data`, which config.json and metrics.json
        record. `config`: the config.json of the model `eval` scores; {} for `train` and `pack`."""
        return args.data

    def load_split(self, args, split):
        """The training examples of one split ("train", "validation") of `args.data`; what `train`
        and `pack` read (and `eval`, unless `load_eval_split` says otherwise)."""
        raise NotImplementedError

    def load_eval_split(self, args, split):
        """The held-out examples `eval` scores ("test", "validation"); by default `load_split`'s. An
        app whose training examples are not what it scores (windows against whole trajectories,
        cached grids against images) overrides it."""
        return self.load_split(args, split)

    def build_vocabularies(self, train_examples, args):
        """{name: list of tokens} from the training examples only."""
        raise NotImplementedError

    def grown_vocabularies(self, vocabularies, train_examples, count):
        """`train --init-from --add-words`: `vocabularies` with up to `count` of the training
        examples' most frequent unknown tokens appended to each vocabulary the model indexes
        (`apps.common.vocabulary_growth.grown_vocabulary`). Old tokens keep their ids. An app
        whose models can grow overrides this; `train` offers --add-words only then."""
        raise NotImplementedError

    def can_grow_vocabularies(self):
        return type(self).grown_vocabularies is not Task.grown_vocabularies

    def encode(self, examples, vocabularies, args=None):
        """Examples -> fields: a tuple of lists of int id sequences, one list per field.

        `args`: the parsed command line of `train` or `pack` (its data options), when the caller
        has one. An override may leave `args` out of its signature (`with_args`)."""
        raise NotImplementedError

    def model_batch(self, *fields):
        """Padded field batches (tf tensors or NumPy arrays, (B, T) each) -> the model's (x, y)."""
        raise NotImplementedError

    def dataset(self, examples, vocabularies, batch_size, shuffle, drop_remainder=False, args=None):
        """`train`'s batches of (x, y) as a `tf.data.Dataset`, or None (the default): the runner's
        token-id pipeline (`encode`, length-bucketed batches, `model_batch`). For examples that are
        not token ids, e.g. windows of a float time series. `args`: `train`'s parsed command line,
        when the caller has one; an override may leave it out of its signature (`with_args`)."""
        return None

    # --- model -----------------------------------------------------------------------------------

    def model_arguments(self, args):
        """The constructor arguments that `train` and `fit` build: the --model/--size preset, with
        any overrides the app's training options give (a layer count, ...)."""
        return dict(self.presets[args.model][args.size])

    def initialize(self, model, vocabularies, args):
        """Sets pretrained weights (embeddings, ...) of a freshly built model before `train`; not
        called when `--init-from` gives the weights, and a resumed run's backup overrides it."""

    def example_batch(self):
        """A tiny model input that builds every weight."""
        raise NotImplementedError

    def architecture(self, name):
        """The keras.Model class of an architecture name (imported here, not at module level)."""
        raise NotImplementedError

    def build_model(self, architecture, arguments, vocabularies):
        """A built Keras model; by default `architecture(name)(*vocabulary sizes, **arguments)`."""
        sizes = [len(vocabularies[name]) for name in self.vocabulary_names]
        model = self.architecture(architecture)(*sizes, **arguments)
        model(self.example_batch())
        return model

    def compile(self, model, architecture, args):
        """Optimizer, loss and metrics for `train` and `fit` (args: the parsed command line)."""
        raise NotImplementedError

    def config_extras(self):
        """Keys the config records beside the architecture (decoding settings by default)."""
        if self.decoding == "beam":
            return {"beam_size": DEFAULT_BEAM_SIZE, "length_penalty": DEFAULT_LENGTH_PENALTY}
        return {}

    def training_record(self, args):
        """Extra provenance for config.json's "training" (label smoothing, ...)."""
        return {}

    def data_settings(self, args):
        """How the model reads its data beyond the vocabularies (a piano roll's frame length): the
        config records them as "data_settings", and `train --init-from` refuses a model trained
        with others. {} (the default) for a model whose vocabularies say it all."""
        return {}

    # --- serving ---------------------------------------------------------------------------------

    def build_server(self, model, vocabularies, config, **options):
        """The `tf.Module` that `export` writes (a SequenceServer or ClassifierServer)."""
        raise NotImplementedError

    # --- commands --------------------------------------------------------------------------------

    def predict(self, runner, inputs, args):
        """The default command on a list of raw inputs; prints the results."""
        raise NotImplementedError

    def evaluate(self, runner, directory, examples, args):
        """Metrics (a dict) of the model of `directory` (a `ModelDirectory`) on held-out examples."""
        raise NotImplementedError

    def format_metrics(self, metrics):
        """Lines that `eval` prints (without --json)."""
        return [f"  {key}: {value}" for key, value in metrics.items()]


def with_args(hook, args):
    """{"args": args} for a task hook that takes the parsed command line as `args` (`encode`,
    `dataset`), else {}: overrides written before the hooks took it keep working."""
    import inspect

    if args is None or "args" not in inspect.signature(hook).parameters:
        return {}
    return {"args": args}
