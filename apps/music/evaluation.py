"""`eval`: held-out NLL next to simple baselines on the same events or frames, then music checks.

  folk     NLL per event of every token after the context (the model's and the best n-gram's,
           its order chosen on the validation split), both over the same events.
  chorale  frame NLL by the JSB protocol (`baselines.frame_nll` of every frame after each piece's
           first), next to per-key baselines and the published JSB Chorales figures.

The pieces are scored as written (no transposition).
"""

import numpy as np

from apps.music import checks, events
from apps.music.baselines import KeyMarginal, KeyMarkov, NGramModel, frame_nll
from apps.music.composing import DEFAULT_BARS
from apps.music.data import UNKNOWN_ID, VOCABULARY, event_ids, frame_name, frame_of, piece_roll

NGRAM_ORDERS = range(1, 9)  # the baseline's order is the best of these on the validation split
# Bai, Kolter and Koltun 2018, table 1: JSB Chorales, frame-level NLL (88-key frames, lower is better).
# Their frames' length is the benchmark data's, which need not be ours: compare with care.
PUBLISHED_JSB = {"LSTM": 8.45, "GRU": 8.43, "TCN": 8.10}


def evaluate_melodies(directory, model, pieces, train_pieces, validation_pieces, tokens, samples=0):
    """Held-out NLL per event, the model's and the best n-gram's (order chosen on validation).

    Args:
        directory: the model's `ModelDirectory`; model: its Keras model.
        pieces: the held-out pieces scored; train_pieces, validation_pieces: the n-gram's
            training pieces and those its order is chosen on (`pieces` itself when they are the
            validation split: its event ids are then not made twice).
        tokens: piece -> its event tokens. samples: tunes composed for the music checks (0: none).
    """
    vocabulary = directory.vocabulary(VOCABULARY)
    ids = lambda some: [seq.tolist() for seq in event_ids(some, vocabulary, tokens)]
    held_out = ids(pieces)
    total, count = event_nll(model, held_out)
    ngram = NGramModel(max(NGRAM_ORDERS), len(vocabulary)).fit(ids(train_pieces))
    validation = held_out if validation_pieces is pieces else ids(validation_pieces)
    on_validation = {n: ratio(*ngram.nll(validation, events.CONTEXT_LENGTH, order=n)) for n in NGRAM_ORDERS}
    best = min(on_validation, key=on_validation.get)
    on_split = {n: ngram.nll(held_out, events.CONTEXT_LENGTH, order=n) for n in NGRAM_ORDERS}
    ngram_nll = round(ratio(*on_split[best]), 4)
    nll = total / count
    metrics = {"events": count, "nll_per_event": round(nll, 4),
               "ngram": {"order": best, "events": on_split[best][1], "nll_per_event": ngram_nll,
                         "by_order": {n: round(ratio(*scored), 4) for n, scored in on_split.items()},
                         "smoothing": "interpolated Witten-Bell"},
               "margin": round(ngram_nll - nll, 4),
               "unknown_events": int(sum(i == UNKNOWN_ID for seq in held_out for i in seq))}
    if samples:
        metrics["music_checks"] = checks.melody_checks(directory, train_pieces, samples, DEFAULT_BARS["folk"])
    return metrics


def ratio(total, count):
    return total / max(count, 1)


def event_nll(model, sequences, batch_size=32):
    """Summed NLL of every token after the context (position >= CONTEXT_LENGTH), and their count."""
    from keras import ops

    total, count = 0.0, 0
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    for start in range(0, len(order), batch_size):
        batch = [sequences[i] for i in order[start : start + batch_size]]
        length = max(len(s) for s in batch)
        padded = np.zeros((len(batch), length), np.int32)
        for row, sequence in enumerate(batch):
            padded[row, : len(sequence)] = sequence
        log_probs = ops.convert_to_numpy(ops.log_softmax(model(padded[:, :-1], training=False), axis=-1))
        targets = padded[:, 1:]
        picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
        scored = (targets != 0) & (np.arange(length - 1)[None] + 1 >= events.CONTEXT_LENGTH)
        total -= float(np.sum(picked * scored))
        count += int(scored.sum())
    return total, count


def roll_logits(model, roll):
    """(F, K) roll -> the model's (F, K) logits of each frame, read after the frame before it (a
    silent start frame first), as it was trained."""
    from keras import ops

    inputs = np.concatenate([np.zeros_like(roll[:1]), roll[:-1]])[None]
    return ops.convert_to_numpy(model(inputs, training=False))[0]


def evaluate_chorales(directory, model, pieces, train_pieces, samples=0):
    """Frame NLL by the JSB protocol, next to per-key baselines (fitted on `train_pieces`) and the
    published figures; `samples` chorales composed for the music checks (0: none)."""
    frame = frame_of(directory.config())
    rolls = [piece_roll(p, frame) for p in pieces]
    total = with_first = 0.0
    frames = 0
    for roll in rolls:
        per_frame = frame_nll(roll, roll_logits(model, roll))  # (F,)
        total += float(per_frame[1:].sum())  # the protocol scores every frame after the first
        with_first += float(per_frame.sum())
        frames += len(roll) - 1
    train_rolls = [piece_roll(p, frame) for p in train_pieces]
    baselines = {}
    for baseline in (KeyMarginal(), KeyMarkov()):
        baselines[baseline.name] = round(ratio(*baseline.fit(train_rolls).nll(rolls, skip=1)), 4)
    metrics = {"frames": frames, "frame": frame, "frame_nll": round(ratio(total, frames), 4),
               "frame_nll_with_first_frame": round(with_first / max(frames + len(rolls), 1), 4),
               "baselines": baselines, "published_jsb": PUBLISHED_JSB,
               "note": f"our split of music21's chorales (four-part only) on {frame_name(frame)} frames, not the JSB "
                       "benchmark's split; the published figures' frames need not be ours: compare with care"}
    if samples:
        metrics["music_checks"] = checks.chorale_checks(directory, samples, DEFAULT_BARS["chorale"], frame,
                                                        train_rolls)
    return metrics
