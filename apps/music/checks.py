"""Music checks on composed pieces, next to the same measures of the training pieces.

What a held-out NLL cannot say: whether the notes of a composed piece stay in its key, in the
range of the training music (a melody) or of each voice (a chorale), and whether every note
lasts. `eval` composes pieces from an empty primer through the SavedModel, as `compose` does.
A measure with nothing to measure (no piece with a known key, no notes) is None.
"""

import numpy as np

from apps.music import events, theory
from apps.music.roll import VOICE_RANGES, VOICES, roll_voices


def in_voice_range_share(timed):
    """The share of notes inside their voice's range (`roll.VOICE_RANGES`, soprano first); nan for none."""
    timed = np.asarray(timed).reshape(-1, 4)
    if not len(timed):
        return float("nan")
    inside = [VOICE_RANGES[int(v)][0] <= p <= VOICE_RANGES[int(v)][1] for p, _, _, v in timed]
    return float(np.mean(inside))


def in_key(pitches, tonic, mode):
    """(N,) bool: which pitches (MIDI numbers) are in the key."""
    return np.isin(np.asarray(pitches).astype(int) % 12, sorted(theory.key_pitch_classes(tonic, mode)))


def share(flags, digits=4):
    """The share of true flags, rounded; None for no flags."""
    return round(float(np.mean(flags)), digits) if len(flags) else None


def melody_checks(directory, train_pieces, samples, bars):
    """Melodies composed from an empty primer (the model picks metre and key): in-key share against
    the training tunes' (those that state a key), pitch range, durations."""
    from apps.common.serving import run_in_batches

    training_pitches, training_inside = [], []
    for piece in train_pieces:
        pitches = events.melody(piece.notes)[:, 1]
        training_pitches += pitches.tolist()
        _, tonic, mode = events.tune_context(piece)
        if tonic is not None and mode is not None:
            training_inside += in_key(pitches, tonic, mode).tolist()
    low, high = (min(training_pitches), max(training_pitches)) if training_pitches else (None, None)
    signature = directory.load_serving(optimize=False).signatures["sample"]
    rows = run_in_batches(signature, [""] * samples, samples, "primer", keep=("events",), temperature=1.0, top_k=0,
                          top_p=1.0, seed=0, bars=bars)
    inside, in_range, durations, notes = [], [], [], 0
    for row in rows:
        tokens = row["events"].decode("utf-8").split()
        line, _ = events.events_to_melody(tokens)
        _, tonic, mode = events.read_context(tokens)
        notes += len(line)
        if tonic is not None and mode:
            inside += in_key(line[:, 1], tonic, mode).tolist()
        if low is not None:
            in_range += ((line[:, 1] >= low) & (line[:, 1] <= high)).tolist()
        durations += line[:, 2].tolist()
    return {"pieces": samples, "bars_each": bars, "notes": notes,
            "in_key_share": share(inside),
            "training_in_key_share": share(training_inside),
            "in_range_share": share(in_range),
            "training_range": [theory.pitch_name(low), theory.pitch_name(high)] if low is not None else None,
            "durations_positive": bool(all(d > 0 for d in durations))}


def chorale_checks(directory, samples, bars, frame, train_rolls):
    """Chorales of `bars` bars of 4/4 composed from silence: voices in range, in-key share (the
    Krumhansl key of each piece, the same estimate for the training chorales), keys per frame."""
    import tensorflow as tf

    frames = round(4 / frame) * bars
    signature = directory.load_serving(optimize=False).signatures["sample"]
    outputs = signature(primer=tf.constant([""] * samples), temperature=tf.constant(1.0),
                        seed=tf.constant(0), frames=tf.constant(frames))
    composed = outputs["roll"].numpy()  # (samples, frames, K)
    inside, in_range, durations, notes = [], [], [], 0
    for roll in composed:
        timed = roll_voices(roll, frame)
        notes += len(timed)
        if len(timed):
            tonic, mode = theory.find_key(timed[:, 0], timed[:, 2])
            inside += in_key(timed[:, 0], tonic, mode).tolist()
            in_range += [in_voice_range_share(timed)] * len(timed)
            durations += timed[:, 2].tolist()
    training_inside = []
    for roll in train_rolls:
        timed = roll_voices(roll, frame)
        if len(timed):
            tonic, mode = theory.find_key(timed[:, 0], timed[:, 2])
            training_inside += in_key(timed[:, 0], tonic, mode).tolist()
    training_keys = [r.sum(-1) for r in train_rolls]
    return {"pieces": samples, "bars_each": bars, "notes": notes,
            "in_key_share": share(inside),
            "training_in_key_share": share(training_inside),
            "in_range_share": share(in_range),
            "voice_ranges": {v: [theory.pitch_name(lo), theory.pitch_name(hi)]
                             for v, (lo, hi) in zip(VOICES, VOICE_RANGES, strict=True)},
            "keys_per_frame": round(float(composed.sum(-1).mean()), 3),
            "training_keys_per_frame": round(float(np.mean(np.concatenate(training_keys))), 3)
            if training_keys else None,
            "durations_positive": bool(all(d > 0 for d in durations))}
