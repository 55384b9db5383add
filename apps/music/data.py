"""What the music models read: event-token vocabularies and windows, piano rolls, transposition.

  folk     each tune's event tokens (`apps.music.events`), as ids of the vocabulary built from the
           training tunes in every transposition `--transpose` makes; windows of `--window` + 1
           ids, the model reads the first `--window` and predicts the last.
  chorale  each piece's piano roll (`apps.music.roll`) on the grid of `--frame`; windows of
           `--window` frames, each read after the frame before it (a silent start frame first).

Training pieces are moved by a random number of semitones, anew each epoch; validation pieces
stay as written. A model directory keeps one vocabulary, "tokens" (tokens_vocabulary.txt): a folk
model's event tokens, or a chorale model's 88 key names, the columns of its roll. The frame of a
chorale model is in its config (`frame_of`).
"""

import itertools

import numpy as np

from apps.music import events
from apps.music.roll import FRAME, NUM_KEYS, key_names, piano_roll, timed_notes, transpose_roll

VOCABULARY = "tokens"  # the one vocabulary a model directory keeps (module docstring)
UNKNOWN_ID = 1  # events.UNKNOWN's id: every event vocabulary starts with events.SPECIAL
WINDOW = 256  # events or frames per training example
DEFAULT_TRANSPOSE = 3  # semitones either way
FRAMES = {"eighth": 0.5, "quarter": 1.0}  # chorale-lstm's --frame: quarter notes per frame


def frame_of(config):
    """The quarter notes per frame of a chorale model's config: its "data_settings", else (for a
    directory written before those) its training record, else the default eighth."""
    settings = config.get("data_settings", {})
    return settings.get("frame", config.get("training", {}).get("frame", FRAME))


def frame_name(frame):
    """0.5 -> "eighth-note": what a frame is, for messages."""
    names = {value: name for name, value in FRAMES.items()}
    return f"{names[frame]}-note" if frame in names else f"{frame:g}-quarter-note"


def holds_key_names(vocabulary):
    """Whether a "tokens" vocabulary is a chorale model's: the roll's key names."""
    return list(vocabulary) == key_names()


def event_vocabulary(pieces, transpose, tokens_of):
    """padding, [UNK], <start>, <end>, "|", then the context tokens and the events of `pieces` in
    every transposition up to `transpose` semitones either way, most frequent first.

    Args:
        pieces: the training `datasets.music.Piece`s.
        transpose: int, 0..11.
        tokens_of: function piece -> its event tokens (`events.tune_tokens`, cached by the task).
    """
    counts = {}
    for piece in pieces:
        for token in tokens_of(piece):
            counts[token] = counts.get(token, 0) + 1
    transposed = {}
    for token, count in counts.items():
        for shift in range(-transpose, transpose + 1):
            moved = events.transpose_token(token, shift)
            transposed[moved] = transposed.get(moved, 0) + count
    for tonic in range(12):  # every key can be asked for
        transposed.setdefault(events.key_token(tonic), 0)
    ranked = sorted((t for t in transposed if t not in events.SPECIAL), key=lambda t: (-transposed[t], t))
    context = [t for t in ranked if events.is_context(t)]
    return [*events.SPECIAL, *context, *[t for t in ranked if not events.is_context(t)]]


def event_ids(pieces, vocabulary, tokens_of):
    """Each piece's event tokens as int32 ids ([UNK] for a token outside the vocabulary)."""
    index = {token: i for i, token in enumerate(vocabulary)}
    return [np.array([index.get(t, UNKNOWN_ID) for t in tokens_of(p)], np.int32) for p in pieces]


def windows_of(sequence, window):
    """Consecutive windows of `window` + 1 items (the last one shorter), overlapping by one, so
    every item but the first is predicted once."""
    return [sequence[start : start + window + 1] for start in range(0, len(sequence) - 1, window)]


def event_batches(pieces, vocabulary, tokens_of, batch_size, shuffle, drop_remainder, transpose, window):
    """(ids (B, T), next ids (B, T)) batches, each tune moved by a random shift when `transpose` > 0."""
    import tensorflow as tf

    from datasets.pipeline import bucketed_batches

    index = {token: i for i, token in enumerate(vocabulary)}
    sequences = event_ids(pieces, vocabulary, tokens_of)
    shifts = list(range(-transpose, transpose + 1))
    # table[s, id]: the id of token `id` moved by shifts[s] semitones ([UNK] if never seen so).
    table = np.array([[index.get(events.transpose_token(t, s), UNKNOWN_ID) if t else 0 for t in vocabulary]
                      for s in shifts], np.int32)
    epochs = itertools.count()

    def windows():
        rng = np.random.default_rng(next(epochs))
        order = rng.permutation(len(sequences)) if shuffle else range(len(sequences))
        for i in order:
            sequence = table[rng.integers(len(shifts)), sequences[i]] if transpose else sequences[i]
            yield from windows_of(sequence, window)

    data = tf.data.Dataset.from_generator(windows, output_signature=tf.TensorSpec([None], tf.int32))
    boundaries = [b for b in (32, 64, 96, 128, 192) if b < window] or [window]
    batches = bucketed_batches(data, batch_size, boundaries=boundaries, cache=False, drop_remainder=drop_remainder)
    return batches.map(inputs_and_targets)


def inputs_and_targets(ids):
    """(B, T + 1) ids -> (ids (B, T), next ids (B, T)): the model reads each and predicts the next."""
    return ids[:, :-1], ids[:, 1:]


def roll_batches(pieces, batch_size, shuffle, drop_remainder, transpose, window, frame):
    """(frames (B, T, K), next frames (B, T, K)) batches, padding frames -1 in the targets (which
    `model.frame_nll` leaves out), each piece moved by a random shift when `transpose` > 0."""
    import tensorflow as tf

    from datasets.pipeline import bucketed_batches

    rolls = [piece_roll(p, frame) for p in pieces]
    epochs = itertools.count()

    def windows():
        rng = np.random.default_rng(next(epochs))
        order = rng.permutation(len(rolls)) if shuffle else range(len(rolls))
        for i in order:
            roll = transpose_roll(rolls[i], int(rng.integers(-transpose, transpose + 1))) if transpose else rolls[i]
            inputs = np.concatenate([np.zeros_like(roll[:1]), roll[:-1]])  # a silent start frame first
            for start in range(0, len(roll), window):
                yield inputs[start : start + window], roll[start : start + window]

    spec = tf.TensorSpec([None, NUM_KEYS], tf.float32)
    data = tf.data.Dataset.from_generator(windows, output_signature=(spec, spec))
    boundaries = [b for b in (64, 96, 128, 192) if b < window] or [window]
    return bucketed_batches(data, batch_size, boundaries=boundaries, cache=False, drop_remainder=drop_remainder,
                            padding_values=(0.0, -1.0), length=lambda inputs, targets: tf.shape(inputs)[0])


def piece_roll(piece, frame=FRAME):
    """A `datasets.music.Piece` -> its (F, 88) piano roll on a grid of `frame` quarter notes."""
    return piano_roll(timed_notes(piece.notes), frame)
