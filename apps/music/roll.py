"""Chorales as a piano roll: 88 keys (MIDI 21..108) on a grid of eighth notes, and back to four voices.

    roll[f, k] = 1  if key k (MIDI 21 + k) sounds at the start of frame f, i.e. at time f * frame

The frame is half a quarter note (an eighth) by default, as the JSB Chorales benchmark's protocol
reads. A note shorter than a frame that starts between two frame starts (a sixteenth passing
note) does not show (`missed_notes` finds them), and a key held over several frames looks the
same as one struck again on each: the roll keeps harmony and rhythm on the grid, not articulation.

The roll does not say which voice sings a key. `roll_voices` recovers four voices from each
frame's sounding keys sorted from high to low (soprano, alto, tenor, bass): four keys give one
each; fewer are given to the voices whose last pitches are nearest in order (a voice rests); more
keep the highest, the lowest and two spread evenly between. A voice's key held over consecutive
frames becomes one note.

Shapes: F frames, K = 88 keys; timed notes are (N, 4) float64 rows (pitch, onset, duration,
voice), times in quarter notes.
"""

import itertools

import numpy as np

from apps.music.theory import pitch_name

LOWEST_KEY, NUM_KEYS = 21, 88
FRAME = 0.5  # quarter notes per frame: eighth notes
VOICES = ("soprano", "alto", "tenor", "bass")
# Lowest and highest pitch of each voice over music21's 351 four-part chorales (all splits):
# soprano A3..A5, alto F3..D5, tenor C3..A4, bass C2..E4.
VOICE_RANGES = ((57, 81), (53, 74), (48, 69), (36, 64))
EPS = 1e-6


def key_names():
    """The roll's columns: ["A0", "Bb0", ..., "C8"]."""
    return [pitch_name(LOWEST_KEY + k) for k in range(NUM_KEYS)]


def timed_notes(notes):
    """(T, 4) step-encoded notes (`datasets.music`) -> (T, 4) timed notes (pitch, onset, duration, voice)."""
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
    return np.stack([notes[:, 0], np.cumsum(notes[:, 1]), notes[:, 2], notes[:, 3]], axis=1)


def piano_roll(timed, frame=FRAME, frames=None):
    """Timed notes -> (F, 88) float32 roll; keys outside 21..108 are left out.

    Args:
        timed: (N, 4) timed notes.
        frame: float, quarter notes per frame.
        frames: int or None, F; default up to the end of the last note.
    """
    timed = np.asarray(timed, dtype=np.float64).reshape(-1, 4)
    if frames is None:
        end = float(np.max(timed[:, 1] + timed[:, 2])) if len(timed) else 0.0
        frames = int(np.ceil(end / frame - EPS))
    roll = np.zeros((frames, NUM_KEYS), np.float32)
    for (pitch, _, duration, _), (first, last) in zip(timed, frame_spans(timed, frame), strict=True):
        key = int(pitch) - LOWEST_KEY
        if not 0 <= key < NUM_KEYS or duration <= 0:
            continue
        roll[first:min(last, frames), key] = 1.0
    return roll


def frame_spans(timed, frame=FRAME):
    """(N, 2) int: the frames each note sounds in, [first, last): those whose start falls within it.

    first is the first frame start at or after the onset, last the first at or after the end.
    """
    timed = np.asarray(timed, dtype=np.float64).reshape(-1, 4)
    first = np.ceil(timed[:, 1] / frame - EPS)
    last = np.ceil((timed[:, 1] + timed[:, 2]) / frame - EPS)
    return np.stack([first, last], axis=1).astype(np.int64)


def missed_notes(timed, frame=FRAME):
    """(N,) bool: the notes `piano_roll` cannot show, which lie between two frame starts."""
    spans = frame_spans(timed, frame)
    return spans[:, 1] <= spans[:, 0]


def transpose_roll(roll, shift):
    """The roll `shift` keys higher (columns moved; keys pushed off either end are dropped)."""
    moved = np.zeros_like(roll)
    if shift >= 0:
        moved[:, shift:] = roll[:, : roll.shape[1] - shift]
    else:
        moved[:, :shift] = roll[:, -shift:]
    return moved


def roll_voices(roll, frame=FRAME, voices=4):
    """(F, 88) roll -> timed notes in `voices` parts (0 the highest), held keys merged into notes.

    See the module docstring for how keys are given to voices.
    """
    roll = np.asarray(roll) > 0.5
    previous = [None] * voices  # each voice's last pitch
    sounding = [None] * voices  # (pitch, first frame) of each voice's current note
    notes = []

    def end(voice, frame_index):
        if sounding[voice] is not None:
            pitch, start = sounding[voice]
            notes.append((pitch, start * frame, (frame_index - start) * frame, voice))
            sounding[voice] = None

    for index, row in enumerate(roll):
        keys = sorted((LOWEST_KEY + np.flatnonzero(row)).tolist(), reverse=True)  # high to low
        assigned = dict(zip(_voices_for(keys, previous, voices), _kept(keys, voices), strict=True))
        for voice in range(voices):
            pitch = assigned.get(voice)
            if sounding[voice] is not None and sounding[voice][0] != pitch:
                end(voice, index)
            if pitch is not None:
                previous[voice] = pitch
                if sounding[voice] is None:
                    sounding[voice] = (pitch, index)
    for voice in range(voices):
        end(voice, len(roll))
    timed = np.array(sorted(notes, key=lambda n: (n[1], n[3])), dtype=np.float64).reshape(-1, 4)
    return timed


def _kept(keys, voices):
    """At most `voices` of the keys (high to low): the highest, the lowest, and others spread evenly."""
    if len(keys) <= voices:
        return keys
    picks = np.round(np.linspace(0, len(keys) - 1, voices)).astype(int)
    return [keys[i] for i in picks]


def _voices_for(keys, previous, voices):
    """The voices (in order, high to low) that sing `min(len(keys), voices)` keys: every voice
    for a full chord, else the ordered choice nearest the voices' last pitches."""
    count = min(len(keys), voices)
    if count == voices:
        return list(range(voices))
    kept = _kept(keys, voices)
    best, best_cost = None, None
    for chosen in itertools.combinations(range(voices), count):
        # A voice with no pitch yet sits at its usual place: spread over the chorale's range.
        cost = sum(abs(pitch - (previous[v] if previous[v] is not None else 72 - 8 * v))
                   for v, pitch in zip(chosen, kept, strict=True))
        if best_cost is None or cost < best_cost:
            best, best_cost = list(chosen), cost
    return best
