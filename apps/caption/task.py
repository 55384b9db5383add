"""What is specific to image captioning: images and their captions, cached CNN grids, attention over pictures.

Everything else (commands, model directories, training set-up, serving) is the shared runner's.
Module level imports no TensorFlow: `--help` and the argument errors stay fast.
"""

import sys
from pathlib import Path

from apps.caption.decoder_options import DECODER_OPTIONS, non_default_options
from apps.caption.encoder import CUTS, ENCODERS
from apps.common import cli
from apps.common.cli import UserError, positive_int
from apps.common.runner import Runner, bounded
from apps.common.task import DEFAULT_BEAM_SIZE, DEFAULT_LENGTH_PENALTY, Task

SHIPPED = Path(__file__).resolve().parents[2] / "saved_models" / "caption"
START, END, UNKNOWN = "[start]", "[end]", "[UNK]"
PAD_ID, UNKNOWN_ID = 0, 1
DECODER_OPTION_HELP = {
    "initial_state": "the LSTM's initial state: from the mean annotation vector (the paper, default), or zeros, so "
                     "that the image reaches the decoder only through the attention",
    "attention_query": "which LSTM state chooses the attention of word t: h_{t-1}, before reading word t-1 (the "
                       "paper, default), or h_t, after reading it (Luong et al. 2015; with the default --lstm-input "
                       "the context of word t-1 is part of what the LSTM read)",
    "lstm_input": "what the LSTM reads: the previous word and the attention context (the paper, default), or the "
                  "word only, so that the image reaches the output only through each step's own attention",
}
MAX_TRAINING_WORDS = 38  # words kept of a training caption: with [start] and [end], at most 40 tokens
PRESETS = {
    "show-attend-tell": {
        "tiny": {"embedding_dim": 16, "units": 32, "attention_units": 16, "dropout": 0.0},
        "small": {"embedding_dim": 256, "units": 512, "attention_units": 256, "dropout": 0.3},
    },
}


def caption_source(args):
    """--data and the options that go with it, as `apps.caption.data` takes them."""
    from apps.caption.data import CaptionSource

    return CaptionSource(data=args.data, scenes=args.scenes, validation_scenes=getattr(args, "validation_scenes", None),
                         image_dir=args.image_dir, data_dir=args.data_dir, max_images=args.max_images)


class CaptionTask(Task):
    name = "caption"
    description = sys.modules["apps.caption"].__doc__
    predict_command = "caption"
    predict_help = "caption images (the default command)"
    inputs_metavar = "images"
    inputs_help = "image files or folders of images; '-' reads paths from stdin, one per line"
    nothing_to_do = "nothing to caption: give image files or folders, or '-' to read paths from stdin"
    json_help = "print JSON: caption, score, and where each word's attention peaks"
    train_help = "train a captioner on StampScenes, a Flickr8k-style folder, a COCO-style json or TFDS coco_captions"
    eval_help = "BLEU-1..4 greedy and beam; on StampScenes, attention on the named objects"
    export_help = "write a SavedModel: image bytes in, caption, score and attention out"
    example_noun = "images"
    shipped_dir = SHIPPED
    shipped_models = ("flickr8k", "stamp-scenes")
    default_model = "flickr8k"
    presets = PRESETS
    vocabulary_names = ("words",)
    input_name = "image_bytes"
    decoding = "beam"
    batch_size = 32
    train_batch_size = 64
    train_epochs = 30
    eval_splits = ("test", "new_stamps", "validation")
    token_examples = False  # cached CNN grids with their captions, batched by `dataset`

    # --- command line ----------------------------------------------------------------------------

    def add_data_arguments(self, parser, command):
        evaluating = command == "eval"
        parser.add_argument("--data", default=None if evaluating else "stamp-scenes",
                            help="stamp-scenes (generated StampScenes" + (", the default)" if not evaluating else ")")
                                 + ", flickr8k (the downloaded Flickr8k: `python -m datasets fetch flickr8k`), a "
                                 "Flickr8k-style folder (images and captions.txt or *.token.txt, with the standard "
                                 "split files when present), a COCO-style .json file, or tfds (a prepared TFDS "
                                 "coco_captions)" + ("; default: the data the model was trained on" if evaluating
                                                     else ""))
        training = command in ("train", "pack")
        parser.add_argument("--scenes", type=positive_int, default=12_000 if training else 500,
                            help="StampScenes per split: " + ("training scenes (default 12000)" if training
                                                              else "held-out scenes (default 500)"))
        if training:
            parser.add_argument("--validation-scenes", type=positive_int, default=500,
                                help="StampScenes for validation (default 500)")
            parser.add_argument("--feature-cache", metavar="DIR",
                                help="where the CNN features are cached (default: <seqmodels cache>/caption-features)")
        parser.add_argument("--max-images", type=positive_int,
                            help="a folder, json or tfds: use the first N images of each split only")
        parser.add_argument("--image-dir", help="a COCO-style json: the folder of its images (default: the json's)")
        parser.add_argument("--data-dir", help="tfds: the TFDS data directory holding a prepared coco_captions")

    def add_vocabulary_arguments(self, parser):
        parser.add_argument("--min-count", type=positive_int, default=1,
                            help="words seen fewer times in the training captions become [UNK] (default 1; "
                                 "5 is usual for Flickr8k and COCO)")
        parser.add_argument("--vocabulary-size", type=positive_int, default=10_000,
                            help="the most frequent words kept (default 10000)")

    def add_train_arguments(self, parser):
        parser.add_argument("--encoder", choices=tuple(ENCODERS), default="mobilenet_v2",
                            help="the image encoder: mobilenet_v2 (ImageNet weights, a 7 x 7 grid, the default), "
                                 "mobilenet_v2_14x14 (the same CNN's finer 14 x 14 grid, block_13_expand_relu) or "
                                 "tiny (a small fixed random CNN, for tests and smoke runs)")
        parser.add_argument("--fine-tune-blocks", type=int, choices=tuple(CUTS), default=0,
                            help="train MobileNetV2's top K inverted residual blocks with the decoder (default 0: "
                                 "the CNN stays frozen)")
        parser.add_argument("--attention-penalty", type=bounded(float, "a number >= 0", lambda x: x >= 0),
                            default=1.0, help="lambda of the doubly stochastic attention penalty (default 1.0, as "
                                              "in the paper; 0 turns it off)")
        for name, choices in DECODER_OPTIONS.items():
            parser.add_argument("--" + name.replace("_", "-"), choices=choices, default=choices[0],
                                help=DECODER_OPTION_HELP[name])
        parser.add_argument("--grid-coordinates", action="store_true",
                            help="append each grid location's (x, y) to its annotation vector")

    def add_predict_arguments(self, parser):
        parser.add_argument("--attention", metavar="OUT.png", type=cli.output_file,
                            help="draw the image, then one panel per word with its attention over the picture "
                                 "(OUT-1.png, OUT-2.png, ... for several images)")

    def add_eval_arguments(self, parser):
        parser.add_argument("--beam", type=positive_int, default=DEFAULT_BEAM_SIZE,
                            help="beam size compared with greedy (default 4)")
        parser.add_argument("--plot", metavar="FILE.png", type=cli.output_file,
                            help="draw the beam captions' attention of a few random held-out images "
                                 "(FILE-1.png, ...)")
        parser.add_argument("--plot-images", type=positive_int, default=4, help="how many images --plot draws (4)")
        parser.add_argument("--plot-seed", type=int, default=0, help="which random images --plot draws (seed 0)")
        parser.add_argument("--samples", type=int, default=0, metavar="N",
                            help="print N random held-out images' beam captions next to their first reference "
                                 "(drawn with --plot-seed, never chosen by their results; default 0)")

    # --- data ------------------------------------------------------------------------------------

    def data_source(self, args, config):
        """`eval` without --data: the data the model was trained on."""
        from apps.caption import data

        return args.data or data.trained_on(config)

    def load_eval_split(self, args, split):
        """Held-out images and their references."""
        from apps.caption import data

        # The directory the runner evaluates (--model-dir, else the shipped --model): its encoder's image size.
        config = Runner(self).model_directory(args).config()
        encoder = config.get("arguments", {}).get("encoder", "mobilenet_v2")
        return data.evaluation_split(caption_source(args), split, ENCODERS[encoder].image_size)

    def load_split(self, args, split):
        """A split's cached CNN grids and captions."""
        from apps.caption import data
        from apps.caption.encoder import check_encoder
        from apps.caption.features import default_cache_dir

        try:
            check_encoder(args.encoder, args.fine_tune_blocks)
        except ValueError as error:
            raise UserError(f"--encoder {args.encoder} --fine-tune-blocks {args.fine_tune_blocks}: {error}") from None
        cache = args.feature_cache or default_cache_dir()
        return data.training_split(caption_source(args), split, args.encoder, args.fine_tune_blocks, cache)

    def build_vocabularies(self, train_examples, args):
        """Words of the training captions seen at least --min-count times, most frequent first."""
        from collections import Counter

        from datasets.vocabulary import tokenize_many

        captions = [caption for captions in train_examples.captions for caption in captions]
        counts = Counter(word for words in tokenize_many(captions) for word in words)
        words = sorted((w for w, n in counts.items() if n >= args.min_count), key=lambda w: (-counts[w], w))
        return {"words": ["", UNKNOWN, START, END, *words[: max(args.vocabulary_size - 4, 0)]]}

    def caption_ids(self, examples, vocabularies):
        """(image index (P,), ids (P, T) int32 0-padded) of every caption of every image: [start] words [end]."""
        import numpy as np

        from datasets.vocabulary import tokenize_many

        ids = {word: index for index, word in enumerate(vocabularies["words"])}
        owners = [i for i, captions in enumerate(examples.captions) for _ in captions]
        sequences = [[ids[START], *(ids.get(w, UNKNOWN_ID) for w in words[:MAX_TRAINING_WORDS]), ids[END]]
                     for words in tokenize_many([c for captions in examples.captions for c in captions])]
        padded = np.zeros((len(sequences), max(map(len, sequences))), np.int32)
        for row, sequence in enumerate(sequences):
            padded[row, : len(sequence)] = sequence
        return np.asarray(owners, np.int32), padded

    def dataset(self, examples, vocabularies, batch_size, shuffle, drop_remainder=False):
        """Batches ((grids, caption in), caption out); grids read from the memory-mapped cache per batch."""
        import numpy as np
        import tensorflow as tf

        owners, ids = self.caption_ids(examples, vocabularies)
        grids = examples.grids
        data = tf.data.Dataset.from_tensor_slices((owners, ids))
        if shuffle:
            data = data.shuffle(len(owners), seed=0, reshuffle_each_iteration=True)

        def load(owner, ids):
            batch = tf.numpy_function(lambda index: np.asarray(grids[index]), [owner], tf.float16)
            batch.set_shape((None, *grids.shape[1:]))
            length = tf.reduce_max(tf.reduce_sum(tf.cast(ids != PAD_ID, tf.int32), axis=1))
            ids = ids[:, :length]  # the batch's longest caption, not the data's
            return (batch, ids[:, :-1]), ids[:, 1:]

        data = data.batch(batch_size, drop_remainder=drop_remainder).map(load)
        return data.prefetch(tf.data.AUTOTUNE)

    # --- model -----------------------------------------------------------------------------------

    def model_arguments(self, args):
        return {**super().model_arguments(args), "encoder": args.encoder, "fine_tune_blocks": args.fine_tune_blocks,
                **non_default_options(vars(args)),
                **({"grid_coordinates": True} if args.grid_coordinates else {})}

    def architecture(self, name):
        from apps.caption.model import ShowAttendTell

        return ShowAttendTell

    def build_model(self, architecture, arguments, vocabularies):
        import numpy as np

        from apps.caption.encoder import cached_grid_shape

        model = self.architecture(architecture)(len(vocabularies["words"]), **arguments)
        grid = cached_grid_shape(arguments.get("encoder", "mobilenet_v2"), arguments.get("fine_tune_blocks", 0))
        model([np.zeros((1, *grid), "float32"), np.array([[2, 3]])])
        return model

    def example_batch(self):
        import numpy as np

        from apps.caption.encoder import cached_grid_shape

        return [np.zeros((1, *cached_grid_shape("mobilenet_v2")), "float32"), np.array([[2, 3]])]

    def initialize(self, model, vocabularies, args):
        """Fine-tuned top blocks start from MobileNetV2's ImageNet weights."""
        if model.fine_tune_blocks:
            from apps.caption.encoder import copy_imagenet_weights

            copy_imagenet_weights(model.top)

    def compile(self, model, architecture, args):
        from apps.common import training
        from apps.common.training import masked_accuracy, masked_loss

        def cross_entropy(y_true, y_pred):  # the loss without the attention penalty, for the curves
            return masked_loss(y_true, y_pred)

        model.compile(optimizer=training.Adam(args.learning_rate or 1e-3, clipnorm=1.0), loss=masked_loss,
                      metrics=[masked_accuracy, cross_entropy], attention_penalty=args.attention_penalty)

    def training_record(self, args):
        record = {"attention_penalty": args.attention_penalty, "min_count": args.min_count}
        if args.data in ("stamp-scenes", "bundled"):
            record["scenes"] = {"train": args.scenes, "validation": args.validation_scenes}
        return record

    # --- serving ---------------------------------------------------------------------------------

    def build_server(self, model, vocabularies, config, beam_size=None):
        from apps.caption.serving import caption_server

        words = vocabularies["words"]
        return caption_server(model, words, beam_size or config.get("beam_size", DEFAULT_BEAM_SIZE),
                              config.get("length_penalty", DEFAULT_LENGTH_PENALTY),
                              suppressed_ids=(PAD_ID, UNKNOWN_ID, words.index(START)))

    # --- commands --------------------------------------------------------------------------------

    def predict(self, runner, inputs, args):
        from apps.caption.captioning import caption_files

        return caption_files(runner.model_directory(args), inputs, self.batch_size, beam=args.beam,
                             attention=args.attention, as_json=args.json)

    def evaluate(self, runner, directory, examples, args):
        from apps.caption.evaluation import evaluate

        return evaluate(directory, examples, self.batch_size, args.beam, samples=args.samples, plot=args.plot,
                        plot_images=args.plot_images, plot_seed=args.plot_seed)

    def format_metrics(self, metrics):
        lines = []
        if metrics.get("unreadable"):
            lines.append(f"  {metrics['unreadable']} unreadable images left out")
        for sample in metrics.get("samples", ()):
            lines.append(f"  {sample['image']}: {sample['caption']}  |  reference: {sample['reference']}")
        for label, scores in metrics.items():
            if not isinstance(scores, dict) or "bleu1" not in scores:
                continue
            bleu = "   ".join(f"BLEU-{n} {scores[f'bleu{n}']:6.2f}" for n in range(1, 5))
            lines.append(f"  {label:<8} {bleu}   (sacreBLEU, {scores['seconds']} s)")
            coco = scores.get("coco")
            if coco:
                bleu = "   ".join(f"BLEU-{n} {coco[f'bleu{n}']:6.2f}" for n in range(1, 5))
                meteor = "  n/a (no Java)" if coco["meteor"] is None else f"{coco['meteor']:6.2f}"
                lines.append(f"  {'':<8} {bleu}   METEOR {meteor}   CIDEr {coco['cider']:6.2f}   (coco-caption)")
            box = scores.get("attention_in_box")
            if box and box["object_words"]:
                lines.append(f"  {'':<8} attention on the named object: peak inside its box for "
                             f"{100 * box['peak_in_box']:.1f}% of {box['object_words']} object words "
                             f"(chance {100 * box['peak_chance']:.1f}%), "
                             f"{100 * box['mass_in_box']:.1f}% of the mass inside on average "
                             f"(chance, the box's area share, {100 * box['area_share']:.1f}%)")
        return lines
