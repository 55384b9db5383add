"""`compose`: a primer and the context checked here, the continuation sampled in the SavedModel.

  folk     the context (metre, key, mode) and the primer become event tokens; the SavedModel
           writes exactly --length more bar lines (`serving.EventServer`).
  chorale  the primer becomes piano-roll frames; the SavedModel draws enough frames to complete
           the primer's last bar and then --length bars (`serving.RollServer`).

Every problem with what the user asked for is a one-line `UserError` raised before the model runs.
"""

import dataclasses
import os
import sys

import numpy as np

from apps.common.cli import UserError
from apps.music import events, theory
from apps.music.checks import in_voice_range_share
from apps.music.data import VOCABULARY, frame_name, frame_of
from apps.music.roll import LOWEST_KEY, NUM_KEYS, VOICE_RANGES, missed_notes, piano_roll, roll_voices

MAX_BARS = 64
MAX_FRAMES = MAX_BARS * 32  # chorale frames per call: 64 bars of 4/4 even on a grid of sixteenths
DEFAULT_BARS = {"folk": 16, "chorale": 8}
DEFAULT_METRE = "4/4"  # a chorale's, or a primer's when nothing names one
PRIMER_DURATION = {"folk": "1/2", "chorale": "1"}  # quarter notes of a primer note written without one


@dataclasses.dataclass(frozen=True)
class CompositionRequest:
    """What to compose, as `compose` and the explorer's page both ask it.

    Attributes:
        primer: note names ("C4 E4 G4", "C4:1/2", "C3+G3+E4", "R") or a MIDI file's path, or None.
        metre: "6/8", or None (the primer's, else the model's choice; a chorale's default 4/4).
        key: "G major" (folk only), or None.
        temperature, top_k, top_p: the sampling (top-k and top-p for folk only; 0 and 1 turn them off).
        seed: int, the sampler's seed.
    """

    primer: str | None = None
    metre: str | None = None
    key: str | None = None
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0


class Composition:
    """A composed piece: timed notes (N, 4), its parts, metre, key, bar lines and what made it.

    Args:
        style: "folk" or "chorale".
        timed: (N, 4) float64 rows (pitch, onset, duration, voice), times in quarter notes.
        parts: int, 1 (a melody) or 4 (soprano, alto, tenor, bass).
        metre: str, "6/8".
        tonality: str ("G major") or None.
        bar_lines: the bar lines' times, in quarter notes.
        primer_end: float, where the primer ends, or None without one.
        text: the events (folk) or frames (chorale) as text, primer included.
        extra: dict of what else `--json` prints (the model's score, in-key share, ...).
    """

    def __init__(self, style, timed, parts, metre, tonality, bar_lines, primer_end, text, extra=None):
        self.style, self.timed, self.parts, self.metre, self.tonality = style, timed, parts, metre, tonality
        self.bar_lines, self.primer_end, self.text, self.extra = bar_lines, primer_end, text, extra or {}


def read_primer(text, style):
    """--primer -> (timed notes (N, 4), metre or None, tonality or None); UserError if unusable."""
    if text is None:
        return None, None, None
    if not text.strip():
        raise UserError("--primer is empty: give note names (e.g. 'C4 E4 G4') or a MIDI file")
    looks_like_file = os.path.exists(text) or text.lower().endswith((".mid", ".midi"))
    if looks_like_file:
        from apps.music.midi import read_midi

        if not os.path.isfile(text):
            raise UserError(f"--primer {text}: no such file")
        try:
            timed, metre, tonality = read_midi(text)
        except ValueError as error:
            raise UserError(f"--primer {error}") from None
        return timed, metre or None, tonality or None
    try:
        items = events.parse_note_list(text, PRIMER_DURATION[style])
    except ValueError as error:
        raise UserError(f"--primer: {error}") from None
    rows, time = [], 0.0
    for pitches, duration in items:
        if len(pitches) > 1 and style == "folk":
            raise UserError(f"--primer: a folk melody is one line, so no chords "
                            f"({'+'.join(theory.pitch_name(p) for p in pitches)})")
        for pitch in pitches:
            rows.append((pitch, time, float(duration), 0))
        time += float(duration)
    if not rows:
        raise UserError("--primer holds only rests: give at least one note")
    return np.array(rows, dtype=np.float64), None, None


def check_metre(metre):
    """--metre -> its bar length in quarter notes; UserError if it is not a time signature."""
    try:
        return theory.metre_bar_length(metre)
    except ValueError as error:
        raise UserError(f"--metre: {error}") from None


# --- folk -------------------------------------------------------------------------------------------


def compose_melody(directory, request, bars):
    """A folk melody of `bars` bars for a `CompositionRequest`: context and primer as tokens, the
    continuation from the SavedModel."""
    vocabulary = directory.vocabulary(VOCABULARY)
    known = set(vocabulary)
    # The context tokens the model knows, most common first; "?" (none stated) is no choice.
    metres = [t[7:-1] for t in vocabulary if t.startswith("<metre:") and t != "<metre:?>"]
    modes = [t[6:-1] for t in vocabulary if t.startswith("<mode:") and t[6:-1] in theory.MODES]
    timed, primer_metre, primer_tonality = read_primer(request.primer, "folk")
    metre = request.metre or primer_metre
    if metre:
        check_metre(metre)
        if events.metre_token(metre) not in known:
            where = "--metre" if request.metre else f"--primer {request.primer}: its metre"
            raise UserError(f"{where} {metre} is not one the model knows ({', '.join(metres) or 'none'}): "
                            "give --metre")
    if (request.key or timed is not None) and not metre:
        # The context comes in a fixed order, metre first: a key or a primer needs one.
        if not metres:
            raise UserError(f"{'--key' if request.key else '--primer'}: the model of {directory.path} knows no time "
                            "signature to write it in (its tunes state none): compose without one")
        metre = metres[0]
    primer_tokens = []
    if timed is not None:
        bar_length = theory.metre_bar_length(metre)
        line = events.melody(np.stack([timed[:, 0], np.diff(timed[:, 1], prepend=0.0), timed[:, 2], timed[:, 3]], 1))
        end = float(line[-1, 0] + line[-1, 2])
        bar_times = np.arange(bar_length, end + bar_length, bar_length)
        primer_tokens = [_known_note(token, vocabulary, known) for token in
                         events.melody_tokens(line, bar_times, close=False)]
    tonic = mode = None
    if request.key:
        try:
            tonic, mode = theory.parse_tonality(request.key)
        except ValueError as error:
            raise UserError(f"--key: {error}") from None
        if mode not in modes:
            raise UserError(f"--key {request.key}: the model knows the modes "
                            f"{', '.join(modes) or 'none (its tunes state none)'}")
    elif timed is not None and modes:  # without a mode the model knows, it picks the key itself
        try:
            tonic, mode = theory.parse_tonality(primer_tonality or "")
        except ValueError:  # none stated, or a mode this app does not name
            tonic, mode = theory.find_key(timed[:, 0], timed[:, 2])
        if mode not in modes:  # a key estimated from a few notes: keep its tonic, take a mode the model knows
            mode = modes[0]
    context = []
    if metre:
        context.append(events.metre_token(metre))
        if tonic is not None:
            context += [events.key_token(tonic), events.mode_token(mode)]
    from apps.common.serving import run_in_batches

    signature = directory.load_serving(optimize=False).signatures["sample"]
    [row] = run_in_batches(signature, [" ".join(context + primer_tokens)], 1, "primer",
                           keep=("events", "score", "truncated"), temperature=float(request.temperature),
                           top_k=request.top_k, top_p=float(request.top_p), seed=request.seed, bars=bars)
    generated = row["events"].decode("utf-8").split()
    # A SavedModel exported before "truncated" existed: count the bar lines it wrote.
    written_bars = generated.count(events.BAR)
    truncated = bool(row["truncated"]) if "truncated" in row else written_bars < bars
    if truncated:
        print(f"warning: the model wrote {written_bars} of the {bars} bars asked for, then reached its limit of "
              "events per bar (a bar line never came): the tune ends early", file=sys.stderr)
    tokens = context + primer_tokens + generated
    line, bar_lines = events.events_to_melody(tokens)
    metre, tonic, mode = events.read_context(tokens)
    timed = np.concatenate([line[:, 1:2], line[:, 0:1], line[:, 2:3], np.zeros((len(line), 1))], axis=1)
    primer_end = events.events_duration(primer_tokens) if primer_tokens else None
    tonality = theory.tonality_name(tonic, mode) if tonic is not None and mode else None
    in_key_share = theory.in_key_share(timed[:, 0], tonic, mode) if tonality else None
    return Composition("folk", timed, 1, metre or DEFAULT_METRE, tonality, bar_lines, primer_end, " ".join(tokens),
                       {"score": float(row["score"]), "in_key_share": in_key_share, "truncated": truncated})


def _known_note(token, vocabulary, known):
    """A primer token the model knows: itself, or the note with the nearest duration the model has."""
    if token in known:
        return token
    event = events.parse_event(token)
    if event is None or event[0] != "note":
        raise UserError(f"--primer: {token} is not something the model has seen")
    name = theory.pitch_name(event[1])
    candidates = [t for t in vocabulary if t.startswith(name + ":")]
    if not candidates:
        notes = [events.parse_event(t) for t in vocabulary]
        pitches = sorted({note[1] for note in notes if note and note[0] == "note"})
        raise UserError(f"--primer: {name} is outside the model's range "
                        f"({theory.pitch_name(pitches[0])}..{theory.pitch_name(pitches[-1])})")
    return min(candidates, key=lambda t: abs(float(events.parse_event(t)[2]) - float(event[2])))


# --- chorale ----------------------------------------------------------------------------------------


def compose_chorale(directory, request, bars):
    """A chorale: the primer as frames, the continuation drawn frame by frame in the SavedModel.

    The model draws the frames that complete the primer's last bar, then `bars` bars, so the
    bar lines (counted from the start) fall on bar starts.
    """
    frame = frame_of(directory.config())
    timed, primer_metre, _ = read_primer(request.primer, "chorale")
    metre = request.metre or primer_metre or DEFAULT_METRE
    bar_length = check_metre(metre)
    frames_per_bar = bar_length / frame
    if abs(frames_per_bar - round(frames_per_bar)) > 1e-6:
        raise UserError(f"--metre {metre}: a bar of {bar_length} quarter notes is not a whole number of frames")
    frames_per_bar = round(frames_per_bar)
    primer_roll = np.zeros((0, NUM_KEYS), np.float32)
    if timed is not None:
        outside = [p for p in timed[:, 0] if not LOWEST_KEY <= p < LOWEST_KEY + NUM_KEYS]
        if outside:
            raise UserError(f"--primer: {theory.pitch_name(int(outside[0]))} is outside the piano's 88 keys "
                            "(A0..C8)")
        low, high = VOICE_RANGES[-1][0], VOICE_RANGES[0][1]
        unsung = [p for p in timed[:, 0] if not low <= p <= high]
        if unsung:
            raise UserError(f"--primer: {theory.pitch_name(int(unsung[0]))} is outside the chorales' range "
                            f"({theory.pitch_name(low)}..{theory.pitch_name(high)})")
        missed = timed[missed_notes(timed, frame)]
        if len(missed):
            names = ", ".join(f"{theory.pitch_name(int(p))} at {o:g}" for p, o, _, _ in missed[:3])
            print(f"warning: --primer: {len(missed)} note{'s' * (len(missed) > 1)} between two {frame_name(frame)} "
                  f"frame starts left out ({names}{', ...' * (len(missed) > 3)}; onsets in quarter notes): the "
                  "roll holds a note on the frames whose start it covers", file=sys.stderr)
        primer_roll = piano_roll(timed, frame)
    frames = bars * frames_per_bar + (-len(primer_roll)) % frames_per_bar
    if frames > MAX_FRAMES:
        raise UserError(f"--length {bars} bars of --metre {metre} take {frames} {frame_name(frame)} frames, more than "
                        f"the {MAX_FRAMES} one piece may have: give a smaller --length or --metre")
    key_names = directory.vocabulary(VOCABULARY)  # a chorale model's "tokens" are the roll's key names
    primer_text = " ".join("+".join(key_names[k] for k in np.flatnonzero(f)) or "." for f in primer_roll)
    signature = directory.load_serving(optimize=False).signatures["sample"]
    import tensorflow as tf

    outputs = signature(primer=tf.constant([primer_text]), temperature=tf.constant(float(request.temperature)),
                        seed=tf.constant(request.seed), frames=tf.constant(frames))
    roll = np.concatenate([primer_roll, outputs["roll"].numpy()[0]])
    timed = roll_voices(roll, frame)
    tonic, mode = theory.find_key(timed[:, 0], timed[:, 2]) if len(timed) else (0, "major")
    bar_lines = [float(t) for t in np.arange(bar_length, len(roll) * frame + 1e-9, bar_length)]  # from the start
    frames_text = outputs["frames"].numpy()[0].decode("utf-8")
    return Composition("chorale", timed, 4, metre, theory.tonality_name(tonic, mode), bar_lines,
                       len(primer_roll) * frame or None, (primer_text + " " + frames_text).strip(),
                       {"score": float(outputs["score"].numpy()[0]),
                        "in_key_share": theory.in_key_share(timed[:, 0], tonic, mode),
                        "in_voice_range_share": in_voice_range_share(timed)})
