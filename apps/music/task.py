"""What is specific to music: the two styles' options, data, models and commands, for the shared runner.

Two styles, one app; the model's architecture says which a model directory holds:

  folk     folk-lstm, an `EventLSTM` over melody event tokens (`apps.music.events`), conditioned
           on the tune's metre and key, trained on O'Neill's tunes (or a MIDI folder's top line).
  chorale  chorale-lstm, a `RollLSTM` over eighth-note frames of an 88-key piano roll
           (`apps.music.roll`), trained on the four-part Bach chorales (or a MIDI folder).

The pieces are `apps.music.data`'s, composing is `apps.music.composing`'s (written out by
`apps.music.outputs`), `eval` is `apps.music.evaluation`'s. Everything else (commands, model
directories, training set-up) is the shared runner's. Module level imports no TensorFlow.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from apps.common.cli import UserError, output_file, positive_int
from apps.common.runner import Runner, add_sampling_arguments, add_size_arguments, bounded, preset_overrides
from apps.common.task import Task
from apps.music import data, events
from apps.music.composing import DEFAULT_BARS, MAX_BARS, MAX_FRAMES
from apps.music.data import DEFAULT_TRANSPOSE, FRAMES, VOCABULARY, WINDOW
from apps.music.roll import NUM_KEYS, key_names

SHIPPED = Path(__file__).resolve().parents[2] / "saved_models" / "music"
STYLES = {"folk": "folk-lstm", "chorale": "chorale-lstm"}
DEFAULT_DATA = {"folk-lstm": "oneills", "chorale-lstm": "chorales"}
EVAL_SAMPLES = 16
PRESETS = {
    "folk-lstm": {
        "tiny": {"embedding_dim": 16, "units": 32, "num_layers": 1, "dropout": 0.0},
        "small": {"embedding_dim": 64, "units": 256, "num_layers": 2, "dropout": 0.2},
    },
    "chorale-lstm": {
        "tiny": {"embedding_dim": 16, "units": 32, "num_layers": 1, "dropout": 0.0},
        "small": {"embedding_dim": 64, "units": 256, "num_layers": 2, "dropout": 0.3},
    },
}


def style_of(architecture):
    return "folk" if architecture == "folk-lstm" else "chorale"


def transpose_range(text):
    """argparse `type=` for --transpose: 0..11 semitones."""
    return bounded(int, "an integer in 0..11", lambda n: 0 <= n <= 11)(text)


class MusicTask(Task):
    name = "music"
    description = sys.modules["apps.music"].__doc__
    predict_command = "compose"
    predict_help = "compose a piece and write it as MIDI, WAV or a piano-roll picture (the default command)"
    inputs_metavar = "inputs"
    inputs_help = argparse.SUPPRESS  # compose takes none: --primer says what to continue
    inputs_required = False
    json_help = "print JSON: the events or frames, the notes, the key and metre"
    train_help = "train a model on the folk tunes (folk-lstm), the chorales (chorale-lstm) or a folder of MIDI files"
    eval_help = "held-out NLL next to simple baselines (an n-gram, per-key Bernoullis); checks on composed pieces"
    export_help = "write a SavedModel: primer and sampling settings in, events (or frames) out"
    example_noun = "pieces"
    shipped_dir = SHIPPED
    shipped_models = tuple(STYLES.values())
    default_model = "folk-lstm"
    shipped_model_help = "; compose " + ", ".join(f"--style {style}: {model}" for style, model in STYLES.items())
    presets = PRESETS
    vocabulary_names = (VOCABULARY,)  # event tokens (folk) or the roll's key names (chorale)
    decoding = None  # compose adds its own sampling options: --length counts bars
    train_batch_size = 32
    train_epochs = 40

    def __init__(self):
        self._tokens = {}  # piece key -> its event tokens (`events.tune_tokens` parses durations: once)

    # --- command line ----------------------------------------------------------------------------

    def add_data_arguments(self, parser, command):
        default = ("the model's training data" if command == "eval"
                   else "oneills for folk-lstm, chorales for chorale-lstm")
        parser.add_argument("--data", help=f"'oneills' (2,009 folk tunes), 'chorales' (Bach's four-part chorales) or a "
                                           f"folder of MIDI files (default: {default})")

    def add_vocabulary_arguments(self, parser):
        parser.add_argument("--transpose", type=transpose_range, default=DEFAULT_TRANSPOSE,
                            help="transpose each training piece by a random number of semitones, up to this many "
                                 f"either way, anew each epoch (default {DEFAULT_TRANSPOSE}; 0: as written)")
        parser.add_argument("--frame", choices=sorted(FRAMES), default="eighth",
                            help="chorale-lstm: the piano roll's grid (default eighth, as the issue's JSB protocol "
                                 "reads; quarter for a second comparison); the model directory records it")
        parser.add_argument("--window", type=positive_int, default=WINDOW,
                            help=f"events (folk) or frames (chorale) per training example (default {WINDOW})")

    def add_train_arguments(self, parser):
        add_size_arguments(parser, "LSTM layer")
        parser.add_argument("--dropout", type=bounded(float, "a number in [0, 1)", lambda x: 0 <= x < 1),
                            help="dropout between layers and before the output (default: the preset's)")

    def model_arguments(self, args):
        return {**super().model_arguments(args), **preset_overrides(args, ("units", "num_layers", "dropout"))}

    def add_predict_arguments(self, parser):
        parser.add_argument("--style", choices=sorted(STYLES),
                            help="folk (a melody, the default) or chorale (four voices): the shipped model of "
                                 "that style; with --model-dir, the model's own")
        parser.add_argument("--primer", help="what to continue: note names ('C4 E4 G4'; 'C4:1/2' gives a duration "
                                             "in quarter notes, 'C3+G3+E4' a chord, 'R' a rest) or a MIDI file")
        parser.add_argument("--key", help="folk: the key to compose in ('G major', 'E minor', 'A dorian', 'Em'); "
                                          "default: the primer's, else the model's choice")
        parser.add_argument("--metre", help="the time signature (6/8, 4/4, ...); default: the primer file's, else "
                                            "the model's choice (folk) or 4/4 (chorale)")
        add_sampling_arguments(parser, MAX_BARS, length_help=f"bars to compose after the primer, 1..{MAX_BARS} "
                                                             f"(default {DEFAULT_BARS['folk']} folk, "
                                                             f"{DEFAULT_BARS['chorale']} chorale)")
        parser.add_argument("--out", metavar="FILE.mid", type=output_file, help="write the piece as a MIDI file")
        parser.add_argument("--wav", metavar="FILE.wav", type=output_file,
                            help="render the piece as audio with FluidSynth (sudo apt-get install fluidsynth "
                                 "fluid-soundfont-gm)")
        parser.add_argument("--soundfont", metavar="FILE.sf2", help="the SoundFont for --wav (default: Debian's "
                                                                    "FluidR3_GM.sf2)")
        parser.add_argument("--roll", metavar="FILE.png", type=output_file, help="draw the piece as a piano roll")

    def add_eval_arguments(self, parser):
        parser.add_argument("--samples", type=bounded(int, "an integer in 0..256", lambda n: 0 <= n <= 256),
                            default=EVAL_SAMPLES,
                            help=f"pieces to compose for the music checks (key, ranges; default {EVAL_SAMPLES}, "
                                 "0: none)")

    # --- data ------------------------------------------------------------------------------------

    def architecture_of(self, args):
        """The architecture a command works with: train's --model (folk-lstm for the portable
        trainer's `pack`, which packs token ids), or the model directory's."""
        if getattr(args, "command", None) in ("train", "pack", "fit"):
            return getattr(args, "model", None) or "folk-lstm"
        if getattr(args, "model_dir", None):
            architecture = Runner(self).model_directory(args).config().get("architecture")
            if architecture not in PRESETS:
                raise UserError(f"{args.model_dir}/config.json names an unknown architecture: {architecture!r}")
            return architecture
        return args.model

    def shipped_model_for(self, args):
        """compose --style names the shipped model of that style."""
        return STYLES[args.style] if getattr(args, "style", None) else self.default_model

    def data_source(self, args, config):
        """Without --data: for `eval`, the model's training data; else the style's corpus."""
        return args.data or config.get("training", {}).get("data") or DEFAULT_DATA[self.architecture_of(args)]

    def load_split(self, args, split):
        """The pieces of one split of `args.data`."""
        from datasets.music import load_music

        architecture = self.architecture_of(args)
        pieces = load_music(args.data, split)
        if style_of(architecture) == "chorale" and args.data == "chorales":
            # 20 of the 371 chorales add instrumental parts; the benchmark's chorales have four voices.
            pieces = [p for p in pieces if len(p.notes) and p.notes[:, 3].max() <= 3]
        return [p for p in pieces if len(p.notes)]

    def tokens(self, piece):
        """The piece's event tokens (`events.tune_tokens`), made once per process."""
        if piece.key not in self._tokens:
            self._tokens[piece.key] = events.tune_tokens(piece)
        return self._tokens[piece.key]

    def build_vocabularies(self, train_pieces, args):
        """folk: the event tokens (`data.event_vocabulary`); chorale: the roll's 88 key names (its
        columns), kept as the "tokens" vocabulary too."""
        if style_of(self.architecture_of(args)) == "chorale":
            return {VOCABULARY: key_names()}
        return {VOCABULARY: data.event_vocabulary(train_pieces, args.transpose, self.tokens)}

    def encode(self, pieces, vocabularies, args=None):
        """folk: windows of `--window` + 1 event ids, as written (the portable trainer's data)."""
        if data.holds_key_names(vocabularies[VOCABULARY]):
            raise UserError("the portable trainer (pack/fit/adopt) takes token models only: train chorale-lstm "
                            "with `train`")
        window = getattr(args, "window", WINDOW)
        sequences = data.event_ids(pieces, vocabularies[VOCABULARY], self.tokens)
        return ([w.tolist() for sequence in sequences for w in data.windows_of(sequence, window)],)

    def model_batch(self, window):
        return data.inputs_and_targets(window)

    def dataset(self, pieces, vocabularies, batch_size, shuffle, drop_remainder=False, args=None):
        """`train`'s batches, transposed anew each epoch by up to `--transpose` semitones when
        shuffled (training), in windows of `--window`: folk (ids (B, T), next ids (B, T)); chorale
        (frames (B, T, 88), next frames (B, T, 88), -1 in padding frames) on the `--frame` grid.
        The style is the vocabulary's (a chorale model's holds the roll's key names)."""
        transpose = getattr(args, "transpose", DEFAULT_TRANSPOSE) if shuffle else 0
        window = getattr(args, "window", WINDOW)
        if data.holds_key_names(vocabularies[VOCABULARY]):
            return data.roll_batches(pieces, batch_size, shuffle, drop_remainder, transpose, window,
                                     self.frame_option(args))
        return data.event_batches(pieces, vocabularies[VOCABULARY], self.tokens, batch_size, shuffle, drop_remainder,
                                  transpose, window)

    @staticmethod
    def frame_option(args):
        """--frame in quarter notes (the default eighth when `args` has none)."""
        return FRAMES[getattr(args, "frame", "eighth")]

    # --- model -----------------------------------------------------------------------------------

    def architecture(self, name):
        from apps.music.model import EventLSTM, RollLSTM

        return EventLSTM if name == "folk-lstm" else RollLSTM

    def example_batch(self):
        return np.array([[2, 3]])

    def build_model(self, architecture, arguments, vocabularies):
        model = self.architecture(architecture)(len(vocabularies[VOCABULARY]), **arguments)
        if style_of(architecture) == "chorale":
            model(np.zeros((1, 2, len(vocabularies[VOCABULARY])), np.float32))
        else:
            model(self.example_batch())
        return model

    def compile(self, model, architecture, args):
        from apps.common import training

        optimizer = training.Adam(args.learning_rate or 2e-3, clipnorm=1.0)
        if style_of(architecture) == "chorale":
            from apps.music.model import frame_nll

            model.compile(optimizer=optimizer, loss=frame_nll)
        else:
            from apps.common.training import masked_accuracy, masked_loss

            model.compile(optimizer=optimizer, loss=masked_loss, metrics=[masked_accuracy])

    def training_record(self, args):
        return {"transpose": getattr(args, "transpose", DEFAULT_TRANSPOSE), "window": getattr(args, "window", WINDOW)}

    def data_settings(self, args):
        """chorale: the frame, in quarter notes (`data.frame_of` reads it back)."""
        if style_of(self.architecture_of(args)) == "chorale":
            return {"frame": self.frame_option(args)}
        return {}

    # --- serving ---------------------------------------------------------------------------------

    def build_server(self, model, vocabularies, config, **options):
        from apps.music.serving import EventServer, RollServer

        if style_of(config["architecture"]) == "chorale":
            frame = data.frame_of(config)
            return RollServer(model, vocabularies[VOCABULARY], max_frames=MAX_FRAMES,
                              default_frames=round(4 / frame) * DEFAULT_BARS["chorale"])  # bars of 4/4
        return EventServer(model, vocabularies[VOCABULARY], default_bars=DEFAULT_BARS["folk"], max_bars=MAX_BARS)

    # --- commands --------------------------------------------------------------------------------

    def predict(self, runner, inputs, args):
        """compose: the primer and the context checked, sampled in the SavedModel, then written out."""
        from apps.music.composing import CompositionRequest, compose_chorale, compose_melody
        from apps.music.outputs import write_outputs

        if inputs:
            raise UserError(f"compose takes no positional arguments (got {' '.join(inputs)!r}): give what to "
                            "continue with --primer")
        directory = runner.model_directory(args)
        architecture = directory.config().get("architecture")
        style = style_of(architecture)
        if args.style and args.style != style:
            raise UserError(f"--style {args.style}: {directory.path} holds a {style} model ({architecture})")
        if style == "chorale":
            for option, value, default in (("--key", args.key, None), ("--top-p", args.top_p, 1.0),
                                           ("--top-k", args.top_k, 0)):
                if value != default:
                    raise UserError(f"{option} applies to folk melodies only: a chorale's keys are drawn one by one "
                                    "(use --temperature)")
        if args.wav:
            from apps.music.midi import AudioUnavailable, check_audio

            try:
                check_audio(args.soundfont)  # before any work
            except AudioUnavailable as error:
                raise UserError(str(error)) from None
        bars = args.length or DEFAULT_BARS[style]
        compose = compose_melody if style == "folk" else compose_chorale
        request = CompositionRequest(primer=args.primer, metre=args.metre, key=args.key, temperature=args.temperature,
                                     top_k=args.top_k, top_p=args.top_p, seed=args.seed)
        return write_outputs(compose(directory, request, bars), request, out=args.out, wav=args.wav,
                             soundfont=args.soundfont, roll=args.roll, as_json=args.json)

    def evaluate(self, runner, directory, pieces, args):
        from apps.music.evaluation import evaluate_chorales, evaluate_melodies

        model, train = runner.load_model(directory), self.load_split(args, "train")
        if style_of(directory.config().get("architecture")) == "chorale":
            return evaluate_chorales(directory, model, pieces, train, samples=args.samples)
        validation = pieces if args.split == "validation" else self.load_split(args, "validation")
        return evaluate_melodies(directory, model, pieces, train, validation, self.tokens, samples=args.samples)

    def format_metrics(self, metrics):
        if "frame_nll" in metrics:
            frames = f"{data.frame_name(metrics['frame'])} frames"
            lines = [f"  frame NLL (JSB protocol: {metrics['frames']} {frames} after each piece's first, sum of "
                     f"{NUM_KEYS} Bernoulli NLLs): model {metrics['frame_nll']:.3f} nats"]
            for name, value in metrics["baselines"].items():
                lines.append(f"    {name:24s} {value:.3f}")
            published = ", ".join(f"{name} {value}" for name, value in metrics["published_jsb"].items())
            lines.append(f"    published on JSB Chorales (Bai et al. 2018; another split, and frames that need not "
                         f"be our {frames}: compare with care): {published}")
        else:
            ngram = metrics["ngram"]
            lines = [f"  NLL per event ({metrics['events']} events after the context tokens): model "
                     f"{metrics['nll_per_event']:.4f} nats, {ngram['order']}-gram {ngram['nll_per_event']:.4f} "
                     f"(order chosen on validation), difference {metrics['margin']:+.4f}"]
        checks = metrics.get("music_checks")
        if checks:
            share = lambda value: "n/a" if value is None else f"{value:.3f}"
            lines.append(f"  {checks['pieces']} composed pieces: {checks['notes']} notes, in key "
                         f"{share(checks['in_key_share'])} (training data {share(checks['training_in_key_share'])}), "
                         f"within range {share(checks['in_range_share'])}, durations positive: "
                         f"{checks['durations_positive']}")
        return lines
