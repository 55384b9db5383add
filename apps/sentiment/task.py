"""What is specific to sentiment classification: labelled texts, word vectors, explanations.

Everything else (commands, model directories, training set-up, serving) is the shared runner's.
Module level imports no TensorFlow: `fit` may run on JAX.
"""

import sys
from pathlib import Path

from apps.common.cli import EXIT_PARTIAL, UserError, checked_output_file, print_json
from apps.common.task import Task

SHIPPED = Path(__file__).resolve().parents[2] / "saved_models" / "sentiment"
MAX_TOKENS = 1000  # words read per text: a 100,000-character paste is cut, not a memory blow-up
PRETRAINED_WORDS = 20_000  # BERT whole words added to the training words (unseen words keep a vector)
_ARCHITECTURE = {"tiny": {"embedding_dim": 16, "units": 8, "dropout": 0.0},
                 "small": {"embedding_dim": 128, "units": 64, "dropout": 0.3}}
PRESETS = {
    f"{cell}-{pooling}": {size: {**arguments, "cell": cell, "pooling": pooling}
                          for size, arguments in _ARCHITECTURE.items()}
    for cell in ("gru", "lstm") for pooling in ("attention", "last")
}
BAR_WIDTH = 20


# How a CSV/TSV file is read, and the defaults (`file_options`).
FILE_OPTIONS = {"text_column": "text", "label_column": "label", "positive_above": None, "value_classes": False}


class SentimentTask(Task):
    name = "sentiment"
    description = sys.modules["apps.sentiment"].__doc__
    predict_command = "classify"
    predict_help = "label texts with the probability of each class (the default command)"
    inputs_metavar = "texts"
    inputs_help = "texts to classify; '-' reads one per line from stdin"
    nothing_to_do = "nothing to classify: give texts as arguments, or '-' to read one per line from stdin"
    inputs_required = False  # checked in `predict`, after `--explain TEXT` gives its text back
    json_help = "print JSON: text, label, probabilities, words and their attention weights"
    train_help = "train a classifier on Rotten Tomatoes sentences, a CSV/TSV file or TFDS imdb_reviews"
    eval_help = "accuracy, macro-F1, confusion matrix and calibration on held-out texts"
    export_help = "write a SavedModel: strings in, probabilities, label and per-word weights out"
    example_noun = "texts"
    shipped_dir = SHIPPED
    shipped_models = ("gru-attention",)
    default_model = "gru-attention"
    presets = PRESETS
    vocabulary_names = ("words", "classes")
    decoding = None
    batch_size = 256
    train_epochs = 15
    eval_splits = ("test", "validation", "all")

    # --- command line ----------------------------------------------------------------------------

    def add_data_arguments(self, parser, command):
        parser.add_argument("--data", default="rt_snippets",
                            help="rt_snippets (Rotten Tomatoes sentences, the default), rt_corpus (a second "
                                 "Rotten Tomatoes corpus), rotten_tomatoes (both, without repeats), imdb (TFDS "
                                 "imdb_reviews, prepared), or a .csv/.tsv file")
        parser.add_argument("--text-column", help="the text column of a CSV/TSV file (default: 'text'; for eval, "
                                                  "the model's training file's)")
        parser.add_argument("--label-column", help="the label column of a CSV/TSV file (default: 'label'; for eval, "
                                                   "the model's training file's)")
        parser.add_argument("--positive-above", type=float, metavar="N",
                            help="numeric labels (star ratings): positive above N, else negative")
        parser.add_argument("--classes", dest="value_classes", action="store_true",
                            help="more than two numeric labels: each value its own class")
        parser.add_argument("--data-dir", help="TFDS data directory holding a prepared imdb_reviews")

    def add_vocabulary_arguments(self, parser):
        parser.add_argument("--embeddings", choices=("minilm", "random"), default="minilm",
                            help="initial word vectors: MiniLM's token-embedding table (384-d, the default; "
                                 f"adds {PRETRAINED_WORDS:,} common words beyond the training data) or random")

    def add_train_arguments(self, parser):
        parser.add_argument("--fine-tune-embeddings", action="store_true",
                            help="let training move pretrained word vectors (by default they stay fixed)")

    def add_predict_arguments(self, parser):
        parser.add_argument("--explain", nargs="?", const="-", metavar="FILE.png",
                            help="show which words decided: coloured in the terminal, or drawn into FILE.png")

    def add_eval_arguments(self, parser):
        parser.add_argument("--keep-seen", action="store_true",
                            help="on a corpus other than the model's, keep texts that are also in its training "
                                 "data (by default they are left out: an out-of-sample figure)")

    def model_arguments(self, args):
        arguments = super().model_arguments(args)
        if getattr(args, "embeddings", "random") == "minilm":
            from datasets.word_vectors import DIMENSION

            arguments["embedding_dim"] = DIMENSION
            arguments["train_embeddings"] = bool(getattr(args, "fine_tune_embeddings", False))
        return arguments

    # --- data ------------------------------------------------------------------------------------

    def load_split(self, args, split):
        from datasets.sentiment import load_sentiment

        options = {**self.file_options(args), "data_dir": args.data_dir}
        if split == "all":
            return [e for s in ("train", "validation", "test") for e in load_sentiment(args.data, s, **options)]
        return load_sentiment(args.data, split, **options)

    def file_options(self, args):
        """How a CSV/TSV file is read: the command line's options; for `eval`, those the model's
        training file was read with (config.json) where the command line is silent; else defaults."""
        recorded = {}
        if args.command == "eval":
            path = args.model_dir or self.shipped_dir / args.model
            recorded = self.directory(path).config().get("training", {}).get("file_options", {})
        options = {}
        for key, default in FILE_OPTIONS.items():
            given = getattr(args, key, None)
            options[key] = given if given not in (None, False) else recorded.get(key, default)
        return options

    def build_vocabularies(self, train_examples, args):
        """Words of the training texts, most frequent first (then MiniLM's common words); classes."""
        from collections import Counter

        from datasets.sentiment import sentiment_classes
        from datasets.vocabulary import tokenize_many

        counts = Counter(word for words in tokenize_many([text for text, _ in train_examples]) for word in words)
        words = sorted(counts, key=lambda word: (-counts[word], word))
        if getattr(args, "embeddings", "random") == "minilm":
            from datasets.word_vectors import whole_words

            seen = set(words)
            words += [word for word in whole_words(PRETRAINED_WORDS) if word not in seen]
        classes = sentiment_classes(args.data, **self.file_options(args), data_dir=args.data_dir)
        return {"words": ["", "[UNK]", *words], "classes": list(classes)}

    def encode(self, examples, vocabularies):
        from datasets.vocabulary import tokenize_many

        ids = {word: index for index, word in enumerate(vocabularies["words"])}
        texts = [[ids.get(word, 1) for word in words[:MAX_TOKENS]]
                 for words in tokenize_many([text for text, _ in examples])]
        return texts, [[label] for _, label in examples]

    def model_batch(self, words, label):
        return words, label[:, 0]

    # --- model -----------------------------------------------------------------------------------

    def architecture(self, name):
        from apps.sentiment.model import SentimentClassifier

        return SentimentClassifier

    def build_model(self, architecture, arguments, vocabularies):
        model = self.architecture(architecture)(len(vocabularies["words"]), len(vocabularies["classes"]),
                                                **arguments)
        model(self.example_batch())
        return model

    def example_batch(self):
        import numpy as np

        return np.array([[2, 3]])

    def initialize(self, model, vocabularies, args):
        """MiniLM word vectors for every word that has one; padding, [UNK] and the rest stay random."""
        if getattr(args, "embeddings", "random") != "minilm":
            return
        from datasets.word_vectors import word_vectors

        vectors, found = word_vectors(vocabularies["words"])
        found[:2] = False  # padding and [UNK] are ours
        table = model.embedding.embeddings.numpy()
        table[found] = vectors[found]
        model.embedding.embeddings.assign(table)
        print(f"{int(found.sum()):,} of {len(found):,} words start from MiniLM vectors", file=sys.stderr)

    def compile(self, model, architecture, args):
        import keras

        from apps.common import training

        optimizer = training.Adam(args.learning_rate or 2e-3, clipnorm=1.0)
        model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])

    def training_record(self, args):
        from pathlib import Path

        record = {"embeddings": getattr(args, "embeddings", "random"),
                  "fine_tune_embeddings": bool(getattr(args, "fine_tune_embeddings", False))}
        if Path(args.data).is_file():  # so that `eval` reads a file the way training did
            record["file_options"] = self.file_options(args)
        return record

    # --- serving ---------------------------------------------------------------------------------

    def build_server(self, model, vocabularies, config, **options):
        """Strings in; probabilities, label, the words read and their attention weights out."""
        import tensorflow as tf

        from apps.common.serving import TEXT, ClassifierServer
        from datasets.vocabulary import standardize, vectorizer_from_vocabulary

        vectorizer = vectorizer_from_vocabulary(vocabularies["words"])

        def preprocess(text):
            ids = tf.cast(vectorizer(text), tf.int32)[:, :MAX_TOKENS]
            words = tf.strings.split(standardize(text)).to_tensor("", shape=tf.shape(ids, out_type=tf.int64))
            # One padding column: never zero columns, even for a batch of empty strings.
            ids, words = tf.pad(ids, [[0, 0], [0, 1]]), tf.pad(words, [[0, 0], [0, 1]], constant_values="")
            return {"inputs": ids, "passthrough": {"words": words}}

        return ClassifierServer(model, preprocess, vocabularies["classes"], TEXT, preprocess_layers=[vectorizer],
                                call=model.explain)

    # --- commands --------------------------------------------------------------------------------

    def predict(self, runner, texts, args):
        from apps.common.serving import run_in_batches

        explain = args.explain  # None, "-" (shade the words in the terminal) or a picture's path
        if explain not in (None, "-"):
            if explain.lower().endswith(".png"):
                explain = checked_output_file(explain, "--explain")
            elif args.inputs == ["-"]:
                raise UserError("--explain takes no text when '-' reads the texts from stdin")
            else:  # `--explain "Some text"`: the text was meant for the classifier
                texts, explain = [explain, *texts], "-"
        if not any(text.strip() for text in texts):
            raise UserError(self.nothing_to_do)
        directory = runner.model_directory(args)
        signature = directory.load_serving().signatures["serving_default"]
        progress = "texts" if len(texts) > 1000 else None
        rows = run_in_batches(signature, texts, self.batch_size, self.input_name, progress=progress)
        classes = directory.vocabulary("classes")
        results = [classification_record(text, row, classes) for text, row in zip(texts, rows, strict=True)]
        for index, result in enumerate(results):
            if "error" in result:
                print(f"line {index + 1}: {result['error']}", file=sys.stderr)
        if args.json:
            print_json(results)
        else:  # an empty line for a failed text, so rows stay aligned with the inputs
            for result in results:
                print("" if "error" in result else _format(result, colour=explain == "-" and sys.stdout.isatty(),
                                                           weights=explain == "-"))
        failed = sum("error" in result for result in results)
        if failed == len(results):
            raise UserError("no text had a word to classify")
        if explain not in (None, "-"):  # after the labels: a failed write loses none of them
            sys.stdout.flush()
            _plot(results, explain)
        return EXIT_PARTIAL if failed else 0

    def evaluate(self, runner, directory, examples, args):
        import numpy as np

        from apps.common import metrics
        from apps.common.serving import run_in_batches

        config = directory.config()
        trained_on = config.get("training", {}).get("data")
        excluded = 0
        if trained_on and trained_on != args.data and not args.keep_seen:
            examples, excluded = _unseen(examples, trained_on)
            if not examples:
                raise UserError(f"every {args.split} text of {args.data} is in {trained_on}'s training data")
        signature = directory.load_serving().signatures["serving_default"]
        rows = run_in_batches(signature, [text for text, _ in examples], self.batch_size, self.input_name,
                              progress="texts", keep=("probabilities",))
        probabilities = np.stack([row["probabilities"] for row in rows])
        labels, predictions = np.array([label for _, label in examples]), probabilities.argmax(axis=1)
        classes = directory.vocabulary("classes")
        return {
            "classes": classes,
            "excluded_as_seen_in_training": excluded,
            "evaluated": len(examples),
            "accuracy": round(metrics.accuracy(labels, predictions), 4),
            "macro_f1": round(metrics.macro_f1(labels, predictions, len(classes)), 4),
            "expected_calibration_error": round(metrics.expected_calibration_error(probabilities, labels), 4),
            "confusion_matrix": metrics.confusion_matrix(labels, predictions, len(classes)).tolist(),
        }

    def format_metrics(self, metrics):
        lines = []
        if metrics["excluded_as_seen_in_training"]:
            lines.append(f"  left out {metrics['excluded_as_seen_in_training']} texts also in the model's training "
                         f"data; {metrics['evaluated']} evaluated")
        lines += [f"  accuracy {metrics['accuracy']:.4f}   macro-F1 {metrics['macro_f1']:.4f}   "
                  f"expected calibration error {metrics['expected_calibration_error']:.4f}",
                  "  confusion matrix (rows: true class, columns: predicted):"]
        width = max(len(name) for name in metrics["classes"]) + 2
        lines.append(" " * (width + 2) + "".join(f"{name:>{width}}" for name in metrics["classes"]))
        for name, row in zip(metrics["classes"], metrics["confusion_matrix"], strict=True):
            lines.append(f"  {name:>{width}}" + "".join(f"{count:>{width}}" for count in row))
        return lines


def classification_record(text, row, classes):
    """One text's record from its row of the serving signature: label, probabilities, and the
    words read with their attention weights; {"text", "error"} when it had no word to read.
    `classify --json` prints it and the explorer's page (`apps.explore`) shades the words with it."""
    words = [w.decode("utf-8") for w in row["words"] if w]
    if not words:
        return {"text": text, "error": "no words to classify (empty or whitespace)"}
    weights = [round(float(w), 4) for w in row["attention"][: len(words)]]
    probabilities = {name: round(float(p), 4) for name, p in zip(classes, row["probabilities"], strict=True)}
    return {"text": text, "label": row["label"].decode("utf-8"), "probability": max(probabilities.values()),
            "probabilities": probabilities, "words": words, "attention": weights}


def _format(result, colour, weights):
    line = f"{result['label']:<9} {result['probability']:.3f}  "
    if not weights:
        return line + result["text"]
    if colour:  # a darker background for a heavier weight (ANSI 256-colour greys)
        peak = max(result["attention"]) or 1.0
        shades = [255 - round(9 * w / peak) for w in result["attention"]]
        return line + " ".join(f"\x1b[48;5;{s}m\x1b[30m{word}\x1b[0m"
                               for word, s in zip(result["words"], shades, strict=True))
    return line + " ".join(f"{word}({w:.2f})" for word, w in zip(result["words"], result["attention"], strict=True))


def _plot(results, path):
    from apps.common.output_files import numbered_path
    from apps.common.plots import plot_attention

    drawn = [r for r in results if "error" not in r]
    for index, result in enumerate(drawn):
        target = numbered_path(path, index, len(drawn))
        plot_attention([result["attention"]], result["words"], [result["label"]], target,
                       title=f"{result['label']} {result['probability']:.3f}", xlabel="words", ylabel="")
        print(f"attention written to {target}", file=sys.stderr)


def _unseen(examples, trained_on):
    """The examples not in `trained_on`'s training split (by `same_text_key`: the same sentence quoted
    or punctuated differently counts as seen), and how many were left out."""
    from datasets.sentiment import load_sentiment, same_text_key

    seen = {same_text_key(text) for text, _ in load_sentiment(trained_on, "train")}
    kept = [(text, label) for text, label in examples if same_text_key(text) not in seen]
    return kept, len(examples) - len(kept)
