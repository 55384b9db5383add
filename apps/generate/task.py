"""What is specific to character-level text generation: windows of text, characters, sampling, scoring.

Everything else (commands, model directories, training set-up, serving) is the shared runner's.
Module level imports no TensorFlow: `fit` may run on JAX.
"""

import math
import sys
from pathlib import Path

from apps.common.cli import EXIT_PARTIAL, UserError, output_file, positive_int, print_json
from apps.common.runner import MAX_LENGTH, preset_overrides
from apps.common.task import Task

SHIPPED = Path(__file__).resolve().parents[2] / "saved_models" / "generate"
WINDOW = 100  # characters of context per training example
DEFAULT_LENGTH = 300  # characters generated when --length is not given
MAX_SAMPLES = 256
MAX_ROWS = 1024  # prompts x samples drawn in one call
MAX_PLOTTED = 400  # characters in a surprisal plot
PAD, UNKNOWN = "", "[UNK]"
PRESETS = {
    "gru": {
        "tiny": {"embedding_dim": 16, "units": 48, "num_layers": 1, "cell": "gru", "dropout": 0.0},
        "small": {"embedding_dim": 64, "units": 512, "num_layers": 2, "cell": "gru", "dropout": 0.1},
    },
    "lstm": {
        "tiny": {"embedding_dim": 16, "units": 48, "num_layers": 1, "cell": "lstm", "dropout": 0.0},
        "small": {"embedding_dim": 64, "units": 512, "num_layers": 2, "cell": "lstm", "dropout": 0.1},
    },
}


def windows_of(text, window):
    """Consecutive pieces of window + 1 characters (input and next-character target), stride `window`."""
    return [text[start : start + window + 1] for start in range(0, max(len(text) - 1, 0), window)]


class GenerationTask(Task):
    name = "generate"
    description = sys.modules["apps.generate"].__doc__
    predict_command = "generate"
    predict_help = "write text from a prompt (the default command)"
    inputs_metavar = "prompts"
    inputs_help = "prompts to continue ('-' reads one per line from stdin); none: start from a newline"
    inputs_required = False
    json_help = "print JSON: prompt, text, score (log-probability of the generated characters)"
    train_help = "train a language model on the bundled plays or a UTF-8 text file"
    eval_help = "held-out nats per character and perplexity"
    export_help = "write a SavedModel: prompt and sampling settings in, text out"
    example_noun = "windows"
    shipped_dir = SHIPPED
    shipped_models = ("gru",)
    default_model = "gru"
    presets = PRESETS
    vocabulary_names = ("characters",)
    decoding = "sample"

    # --- command line ----------------------------------------------------------------------------

    def add_data_arguments(self, parser, command):
        parser.add_argument("--data", default="shakespeare",
                            help="'shakespeare' (38 bundled plays, split by play; the default) or a UTF-8 text file")

    def add_vocabulary_arguments(self, parser):
        parser.add_argument("--window", type=positive_int, default=WINDOW, help="characters per training example")

    def add_train_arguments(self, parser):
        parser.add_argument("--num-layers", type=positive_int,
                            help="recurrent layers (default: the preset's; the card compares 1, 2 and 3)")
        parser.add_argument("--units", type=positive_int, help="units per recurrent layer (default: the preset's)")

    def model_arguments(self, args):
        return {**super().model_arguments(args), **preset_overrides(args)}

    def add_predict_arguments(self, parser):
        parser.add_argument("--prompt", help="the text to continue (also: prompts as arguments)")
        parser.add_argument("--samples", type=positive_int, default=1, help="samples per prompt, drawn in one batch")
        parser.add_argument("--stream", action="store_true",
                            help="print characters as they are made, for one prompt (one compiled step per "
                                 "character; the same text as without --stream)")
        parser.add_argument("--xla", action="store_true",
                            help="compile the sampling loop with XLA: seconds to compile, then several times "
                                 "faster per character (for long texts); a seed gives another text than without")

    def extra_commands(self):
        def arguments(parser):
            parser.add_argument("texts", nargs="*", help="texts to score; '-' reads one per line from stdin")
            parser.add_argument("--json", action="store_true", help="print JSON")
            parser.add_argument("--plot", metavar="FILE.png", type=output_file,
                                help="draw the surprisal of each character (one file per text)")

        return {"score": ("log-probability, nats per character and perplexity of texts", arguments, score)}

    # --- data ------------------------------------------------------------------------------------

    def load_split(self, args, split):
        from datasets.text_corpus import load_text

        return windows_of(load_text(args.data, split), getattr(args, "window", WINDOW))

    def build_vocabularies(self, train_windows, args):
        """Padding, [UNK], then every character of the training text, most frequent first."""
        from collections import Counter

        counts = Counter(character for window in train_windows for character in window)
        characters = sorted(counts, key=lambda c: (-counts[c], c))
        return {"characters": [PAD, UNKNOWN, *characters]}

    def encode(self, windows, vocabularies):
        ids = {character: index for index, character in enumerate(vocabularies["characters"])}
        return ([[ids.get(character, 1) for character in window] for window in windows],)

    def model_batch(self, window):
        return window[:, :-1], window[:, 1:]

    # --- model -----------------------------------------------------------------------------------

    def architecture(self, name):
        from apps.generate.model import CharLanguageModel

        return CharLanguageModel

    def example_batch(self):
        import numpy as np

        return np.array([[1, 1]])

    def training_record(self, args):
        return {"window": getattr(args, "window", WINDOW)}

    def compile(self, model, architecture, args):
        from apps.common import training
        from apps.common.training import masked_accuracy, masked_loss

        optimizer = training.Adam(args.learning_rate or 2e-3, clipnorm=1.0)
        model.compile(optimizer=optimizer, loss=masked_loss, metrics=[masked_accuracy])

    # --- serving ---------------------------------------------------------------------------------

    def build_server(self, model, vocabularies, config, **options):
        """Prompt (characters) and sampling settings in, text out; the sampling loop in the graph."""
        import keras
        import tensorflow as tf

        from apps.common.serving import CHARACTERS, TEXT, SequenceServer

        characters = vocabularies["characters"]
        lookup = keras.layers.StringLookup(vocabulary=characters[2:], mask_token=PAD, oov_token=UNKNOWN)

        def preprocess(text):
            text = tf.where(tf.strings.length(text) > 0, text, "\n")  # an empty prompt starts a new line
            ids = tf.cast(lookup(tf.strings.unicode_split(text, "UTF-8")).to_tensor(), tf.int32)
            lengths = tf.reduce_sum(tf.cast(ids > 0, tf.int32), axis=1)
            # The length is the `sample` signature's max_new_tokens; this is only its ceiling.
            return {"inputs": ids, "prompt": ids, "prompt_lengths": lengths,
                    "max_lengths": tf.fill(tf.shape(lengths), MAX_LENGTH),
                    "is_empty": tf.zeros(tf.shape(lengths), tf.bool)}

        return SequenceServer(model, preprocess, characters, end_id=-1, input_spec=TEXT, separator=CHARACTERS,
                              mode="sample", sampling={"max_new_tokens": DEFAULT_LENGTH},
                              preprocess_layers=[lookup], suppressed_ids=(0, 1))  # never padding or [UNK]

    # --- commands --------------------------------------------------------------------------------

    def predict(self, runner, prompts, args):
        if args.samples > MAX_SAMPLES:
            raise UserError(f"--samples must be at most {MAX_SAMPLES}, got {args.samples}")
        prompts = prompts + ([args.prompt] if args.prompt is not None else []) or [""]
        if len(prompts) * args.samples > MAX_ROWS:
            raise UserError(f"{len(prompts)} prompts x {args.samples} samples: at most {MAX_ROWS} at once")
        directory = runner.model_directory(args)
        _warn_unknown(prompts, directory.vocabulary("characters"))
        if args.stream:
            if args.xla:
                raise UserError("--stream and --xla do not go together: --stream runs one step per character")
            if args.samples > 1 or args.json or len(prompts) > 1:
                raise UserError("--stream writes one sample of one prompt as text: leave out --samples, --json "
                                "and other prompts")
            stream(runner.load_model(directory), directory.vocabulary("characters"), prompts[0], args)
            return
        signature = directory.load_serving(optimize=False).signatures["sample_xla" if args.xla else "sample"]
        batch = [prompt for prompt in prompts for _ in range(args.samples)]  # one batch: N different samples
        from apps.common.serving import run_in_batches

        rows = run_in_batches(signature, batch, len(batch), self.input_name, keep=("text", "score"),
                              temperature=float(args.temperature), top_k=args.top_k, top_p=float(args.top_p),
                              seed=args.seed, max_new_tokens=args.length or DEFAULT_LENGTH)
        results = [{"prompt": prompt, "text": row["text"].decode("utf-8"), "score": float(row["score"])}
                   for prompt, row in zip(batch, rows, strict=True)]
        if args.json:
            print_json(results)
        else:
            print("\n\n".join(r["prompt"] + r["text"] for r in results))

    def evaluate(self, runner, directory, windows, args):
        window = directory.config().get("training", {}).get("window", WINDOW)
        if window != WINDOW:  # evaluate with the context length the model was trained with
            from datasets.text_corpus import load_text

            windows = windows_of(load_text(args.data, args.split), window)[: args.limit]
        model = runner.load_model(directory)
        data = runner.dataset(windows, directory.vocabularies(), 64, shuffle=False)
        total, characters = _summed_nats(model, data)
        nats = total / characters  # every character counts once, whatever batch it is in
        return {"characters": characters, "nats_per_character": round(nats, 4),
                "perplexity": round(math.exp(nats), 3)}

    def format_metrics(self, metrics):
        return [f"  {metrics['nats_per_character']:.4f} nats per character, perplexity {metrics['perplexity']:.3f} "
                f"({metrics['characters']} characters)"]


def score(runner, args):
    """The log-probability of each text under the model: a teacher-forced pass, after a newline.

    The model's whole distribution counts, [UNK] included (sampling never draws padding or
    [UNK]), so a character never seen in training costs a lot: that is what the model thinks.
    """
    from apps.common.runner import read_inputs

    texts = read_inputs(args.texts, "texts")
    if not any(texts):
        raise UserError("nothing to score: give texts as arguments, or '-' to read them from stdin")
    directory = runner.model_directory(args)
    model, characters = runner.load_model(directory), directory.vocabulary("characters")
    scored = [t for t in texts if t]
    _warn_unknown(scored, characters)
    log_probs = iter([character_log_probabilities(model, characters, text) for text in scored])
    records, surprisals = [], []
    for index, text in enumerate(texts):
        if not text:  # a row of its own, so rows stay aligned with the inputs
            if index not in texts.undecodable:  # that one was reported as it was read
                print(f"line {index + 1}: empty text, nothing to score", file=sys.stderr)
            records.append({"text": text, "error": "empty text"})
            continue
        values = next(log_probs)
        total = float(sum(values))
        nats = -total / len(text)
        records.append({"text": text, "log_probability": round(total, 4), "nats_per_character": round(nats, 4),
                        "perplexity": round(math.exp(nats), 3)})
        surprisals.append((index, text, [-p for p in values]))
    if args.json:
        print_json(records)
    else:
        for r in records:
            print("" if "error" in r else f"{r['log_probability']:10.2f} nats  {r['nats_per_character']:.3f} "
                  f"nats/char  perplexity {r['perplexity']:8.3f}  {r['text']}")
    sys.stdout.flush()
    for index, text, surprisal in surprisals if args.plot else ():  # after the scores: a failed write loses none
        _plot_surprisal(text, surprisal, args.plot, index, len(texts))
    return EXIT_PARTIAL if len(scored) < len(texts) else 0


def stream(model, characters, prompt, args):
    """Writes `prompt`, then each sampled character as soon as it is drawn (`CharacterStream`)."""
    sys.stdout.write(prompt)
    sampled = CharacterStream(model, characters).sample(prompt, float(args.temperature), args.top_k,
                                                        float(args.top_p), args.seed, args.length or DEFAULT_LENGTH)
    for character, _ in sampled:
        sys.stdout.write(character)
        sys.stdout.flush()
    sys.stdout.write("\n")


class CharacterStream:
    """Characters drawn one at a time, each as soon as it is made: `generate --stream` and the
    explorer's page (`apps.explore`).

    One compiled step per character (the model's `step`, then the sampler's draw, seeded by the
    position as in the in-graph loop), with the recurrent state carried from call to call, so a
    seed gives the same text as the exported sampler. The sampling settings are tensors, so the
    step is traced once per `CharacterStream`, whatever the settings; a server keeps one per model.

    Args:
        model: a `CharLanguageModel` (`Runner.load_model`).
        characters: list of str, its vocabulary (index = id).
    """

    def __init__(self, model, characters):
        import tensorflow as tf

        from apps.common.decoding import RandomSampler, suppress_tokens

        self.model, self.characters = model, characters
        self._ids = {character: index for index, character in enumerate(characters)}
        step = suppress_tokens(model.step, (0, 1))

        @tf.function
        def next_character(token, state, index, temperature, top_k, top_p, seed):
            logits, state, _ = step(token, state, {}, index)
            log_probs = tf.nn.log_softmax(logits)
            drawn = RandomSampler(temperature, top_k, top_p, seed).next_token(log_probs, index)
            return drawn, tf.gather(log_probs, drawn, batch_dims=1), state

        self._next_character = next_character

    def sample(self, prompt, temperature=1.0, top_k=0, top_p=1.0, seed=0, length=DEFAULT_LENGTH):
        """Yields (character, surprisal) for `length` characters after `prompt` ("" starts a line).

        The surprisal, -log p(character | what came before) in nats, is read from the
        distribution drawn from before tempering and cutting: the model's, without padding and
        [UNK], which are never drawn (`score` counts [UNK] in; the two differ by its probability).
        """
        import tensorflow as tf

        settings = (tf.constant(temperature, tf.float32), tf.constant(top_k, tf.int32),
                    tf.constant(top_p, tf.float32), tf.constant(seed, tf.int32))
        prompt_ids = [self._ids.get(character, 1) for character in prompt or "\n"]
        state, _ = self.model.encode(tf.constant([prompt_ids]))
        for index, token in enumerate(prompt_ids[:-1]):  # read the prompt
            _, _, state = self._next_character(tf.constant([token]), state, tf.constant(index), *settings)
        token = tf.constant([prompt_ids[-1]])
        for index in range(len(prompt_ids) - 1, len(prompt_ids) - 1 + length):
            token, log_prob, state = self._next_character(token, state, tf.constant(index), *settings)
            yield self.characters[int(token[0])], -float(log_prob[0])


def _summed_nats(model, data):
    """The summed negative log-likelihood of every real (non-padding) target, and their count."""
    import tensorflow as tf

    @tf.function
    def batch_sum(x, y):
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x, training=False))
        real = tf.not_equal(y, 0)
        return tf.reduce_sum(tf.where(real, nll, 0.0)), tf.reduce_sum(tf.cast(real, tf.int64))

    total, count = 0.0, 0
    for x, y in data:
        batch_total, batch_count = batch_sum(x, y)
        total, count = total + float(batch_total), count + int(batch_count)
    return total, count


def character_log_probabilities(model, characters, text):
    """log p(c_i | newline, c_1..c_{i-1}) for each character of `text`, in nats (a list)."""
    import numpy as np
    from keras import ops

    ids = {character: index for index, character in enumerate(characters)}
    sequence = np.array([[ids.get("\n", 1), *(ids.get(c, 1) for c in text)]])
    log_probs = ops.convert_to_numpy(ops.log_softmax(model(sequence[:, :-1], training=False), axis=-1))[0]
    return [float(log_probs[i, token]) for i, token in enumerate(sequence[0, 1:])]


def _warn_unknown(texts, characters):
    unknown = sorted({c for text in texts for c in text} - set(characters))
    if unknown:
        print(f"warning: characters never seen in training, read as [UNK]: {''.join(unknown)!r}", file=sys.stderr)


def _plot_surprisal(text, surprisal, path, index, count):
    from apps.common.output_files import numbered_path
    from apps.generate.plots import plot_surprisal

    target = numbered_path(path, index, count)
    title = f"{sum(surprisal) / len(text):.3f} nats per character"
    if len(text) > MAX_PLOTTED:
        title += f" (the first {MAX_PLOTTED} of {len(text)} characters drawn)"
    plot_surprisal(list(text[:MAX_PLOTTED]), surprisal[:MAX_PLOTTED], target, title=title)
    print(f"surprisal plot written to {target}", file=sys.stderr)
