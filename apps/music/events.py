"""Folk melodies as event tokens: one token per note, rest or bar line, after the tune's metre and key.

A tune becomes

    <start> <metre:6/8> <key:G> <mode:major> D5:1/2 | G5:1/2 A5:1/2 B5:1/2 ... | <end>

  "D5:1/2"     a note: its pitch name (`theory.pitch_name`) and its duration in quarter notes,
               one joint token, so one token is one event.
  "R:1/4"      a rest: the silence before the next note (gaps are split at bar lines).
  "|"          a bar line, closing each bar (a pickup bar too), so a model can count bars.
  <metre:6/8>, <key:G>, <mode:major>   the conditioning: the time signature and the key (tonic
               and mode) the tune is written in; "?" when the source states none.

Durations are snapped to the nearest of `DURATIONS` (quarter-note fractions down to a twelfth),
and a note lasts at most until the next one starts, so the time line is rebuilt from the tokens
alone (`events_to_melody`). A melody is one line: where a source strikes several notes at once (a
few of O'Neill's tunes, MIDI files), the highest is kept; grace notes (no duration) are dropped.

Shapes: a melody is an (N, 3) float64 array of rows (onset, pitch, duration), onsets and
durations in quarter notes from the start of the tune.
"""

import functools
from fractions import Fraction

import numpy as np

from apps.music.theory import MODES, parse_pitch, parse_tonality, pitch_name, tonic_name

PAD, UNKNOWN, START, END, BAR = "", "[UNK]", "<start>", "<end>", "|"
SPECIAL = (PAD, UNKNOWN, START, END, BAR)
CONTEXT_LENGTH = 4  # <start> <metre:..> <key:..> <mode:..>: the prompt of every tune
REST = "R"
DURATIONS = tuple(Fraction(text) for text in (
    "1/12", "1/8", "1/6", "1/4", "1/3", "3/8", "1/2", "2/3", "3/4", "1", "5/4", "4/3", "3/2", "7/4", "2", "5/2",
    "3", "7/2", "4", "5", "6", "8"))
MIN_GAP = 1 / 24  # silences shorter than this are timing noise, not rests
EPS = 1e-6


def metre_token(metre):
    return f"<metre:{metre or '?'}>"


def key_token(tonic):
    return f"<key:{'?' if tonic is None else tonic_name(tonic)}>"


def mode_token(mode):
    return f"<mode:{mode or '?'}>"


def context_tokens(metre, tonic, mode):
    """The prompt every tune starts with: [<start>, metre, key, mode]."""
    return [START, metre_token(metre), key_token(tonic), mode_token(mode)]


def is_context(token):
    return token.startswith("<") and token not in (START, END)


def snap_duration(quarters):
    """The nearest of `DURATIONS` (a Fraction); the shorter of two equally near."""
    return _snap(round(float(quarters), 6))


@functools.lru_cache(maxsize=4096)
def _snap(quarters):
    return min(DURATIONS, key=lambda d: (abs(float(d) - quarters), d))


def note_token(pitch, duration):
    return f"{pitch_name(pitch)}:{snap_duration(duration)}"


def rest_token(duration):
    return f"{REST}:{snap_duration(duration)}"


def parse_event(token):
    """A token -> ("note", pitch, duration), ("rest", duration), ("bar",), or None for any other."""
    if token == BAR:
        return ("bar",)
    name, _, duration = token.partition(":")
    if not duration or token.startswith("<"):
        return None
    try:
        value = Fraction(duration)
    except (ValueError, ZeroDivisionError):
        return None
    if value <= 0:
        return None
    if name == REST:
        return ("rest", value)
    try:
        return ("note", parse_pitch(name), value)
    except ValueError:
        return None


def melody(notes):
    """(T, 4) step-encoded notes (`datasets.music`) -> (N, 3) melody (onset, pitch, duration).

    Onsets are the running sum of the steps (rounded to 1/48 of a quarter note); of notes struck
    together the highest is kept, grace notes (duration 0) are dropped, and a note is cut where
    the next one starts.
    """
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
    onsets = np.round(np.cumsum(notes[:, 1]) * 48) / 48
    keep = notes[:, 2] > 0
    rows = sorted(zip(onsets[keep], -notes[keep, 0], notes[keep, 2], strict=True))
    line = []
    for onset, negative_pitch, duration in rows:
        if line and abs(line[-1][0] - onset) < EPS:
            continue  # a lower note of the same chord
        line.append([onset, -negative_pitch, duration])
    for this, following in zip(line, line[1:], strict=False):
        this[2] = min(this[2], following[0] - this[0])
    return np.array(line, dtype=np.float64).reshape(-1, 3)


def melody_tokens(line, bars=(), close=True):
    """(N, 3) melody and its bar lines -> event tokens (notes, rests, bar lines).

    Args:
        line: (N, 3) melody, onsets increasing.
        bars: the bar lines after the first bar, in quarter notes.
        close: True for a whole tune: a last "|" closes its last bar. False for a primer: bar
            lines up to its end only, so the continuation starts a new bar exactly when the
            primer fills its last one.
    """
    tokens, time = [], 0.0
    pending = sorted(float(b) for b in bars)
    index = 0
    for onset, pitch, duration in line:
        # The silence before this note, split at the bar lines inside it.
        while index < len(pending) and pending[index] <= onset + EPS:
            bar = pending[index]
            if bar - time > MIN_GAP:
                tokens.append(rest_token(bar - time))
            tokens.append(BAR)
            time, index = max(time, bar), index + 1
        if onset - time > MIN_GAP:
            tokens.append(rest_token(onset - time))
        tokens.append(note_token(int(pitch), duration))
        time = onset + float(snap_duration(duration))
    if close:
        while index < len(pending) and pending[index] < time - EPS:  # bar lines inside the last note
            tokens.append(BAR)
            index += 1
        tokens.append(BAR)
    else:
        while index < len(pending) and pending[index] <= time + EPS:
            tokens.append(BAR)
            index += 1
    return tokens


def tune_context(piece):
    """(metre, tonic pitch class or None, mode or None) of a `datasets.music.Piece`."""
    tonic, mode = None, None
    if getattr(piece, "tonality", ""):
        try:
            tonic, mode = parse_tonality(piece.tonality)
        except ValueError:  # a mode this app does not name (music21 knows hypo-modes)
            pass
    return getattr(piece, "metre", "") or "", tonic, mode


def tune_tokens(piece):
    """A `datasets.music.Piece` -> its whole token sequence, from <start> to <end>."""
    metre, tonic, mode = tune_context(piece)
    line = melody(piece.notes)
    return context_tokens(metre, tonic, mode) + melody_tokens(line, getattr(piece, "bars", ())) + [END]


def transpose_token(token, shift):
    """The token `shift` semitones higher (notes and the key; anything else unchanged)."""
    if token.startswith("<key:") and token != "<key:?>":
        from apps.music.theory import parse_tonic

        return key_token(parse_tonic(token[5:-1]) + shift)
    event = parse_event(token)
    if event and event[0] == "note":
        return f"{pitch_name(event[1] + shift)}:{event[2]}"
    return token


def events_to_melody(tokens):
    """Event tokens -> ((N, 3) melody, bar-line times); other tokens (context, END) are skipped.

    The time line is rebuilt from durations: each note starts where the previous note or rest ended.
    """
    line, bar_times, time = [], [], Fraction(0)
    for token in tokens:
        event = parse_event(token)
        if event is None:
            continue
        if event[0] == "bar":
            bar_times.append(float(time))
        elif event[0] == "rest":
            time += event[1]
        else:
            line.append((float(time), event[1], float(event[2])))
            time += event[2]
    return np.array(line, dtype=np.float64).reshape(-1, 3), bar_times


def events_duration(tokens):
    """Quarter notes from the start to the end of the last note or rest of event tokens."""
    time = Fraction(0)
    for token in tokens:
        event = parse_event(token)
        if event and event[0] != "bar":
            time += event[-1]
    return float(time)


def read_context(tokens):
    """(metre, tonic, mode) named by a token sequence's context tokens; None for each one missing."""
    metre = tonic = mode = None
    for token in tokens:
        if token.startswith("<metre:") and token != "<metre:?>":
            metre = token[7:-1]
        elif token.startswith("<key:") and token != "<key:?>":
            from apps.music.theory import parse_tonic

            tonic = parse_tonic(token[5:-1])
        elif token.startswith("<mode:") and token[6:-1] in MODES:
            mode = token[6:-1]
    return metre, tonic, mode


def parse_note_list(text, default_duration):
    """Primer notes as text -> [(pitches, duration)]: a tuple of MIDI numbers (empty: a rest) and a Fraction.

    Items are separated by spaces: "C4" (a note of `default_duration` quarter notes), "C4:1/2"
    (with its duration), "C3+G3+E4" (a chord), "R" or "R:1" (a rest). Raises ValueError naming
    the first bad item.
    """
    items = []
    for item in text.split():
        names, _, duration = item.partition(":")
        try:
            value = Fraction(duration) if duration else Fraction(default_duration)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{item!r}: {duration!r} is not a duration in quarter notes (e.g. 1, 1/2, 0.75)") from None
        if not 0 < value <= 16:
            raise ValueError(f"{item!r}: a duration must be more than 0 and at most 16 quarter notes, got {duration}")
        if names.upper() == REST:
            items.append(((), value))
            continue
        items.append((tuple(parse_pitch(name) for name in names.split("+")), value))
    return items
