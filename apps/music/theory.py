"""The little music theory the app needs: pitch names, keys and modes, key finding, voice ranges.

Plain Python and NumPy (no music21), so serving-side code and tests stay light.

Pitches are MIDI numbers (middle C, C4, is 60). A pitch name is a letter, an optional sharp "#"
or flat "b", and an octave: "C4", "F#5", "Bb3". Names are written with the sharps and flats of
`PITCH_CLASS_NAMES`, one spelling per pitch class, so a name maps to one pitch and back.
"""

import re

import numpy as np

PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_PITCH = re.compile(r"^([A-Ga-g])(#|b)?(-?\d+)$")
_TONIC = re.compile(r"^([A-Ga-g])(#|b)?$")

# Intervals above the tonic. A minor key also counts its raised 6th and 7th (the melodic and
# harmonic minor's, Bach's leading notes) as in the key: `key_pitch_classes`.
MODES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
}
_MODE_ABBREVIATIONS = {"maj": "major", "m": "minor", "min": "minor", "dor": "dorian", "phr": "phrygian",
                       "lyd": "lydian", "mix": "mixolydian", "loc": "locrian", "ion": "major", "aeo": "minor",
                       "ionian": "major", "aeolian": "minor", "": "major"}

# Krumhansl and Kessler's (1982) probe-tone profiles, tonic first.
_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def pitch_name(pitch):
    """MIDI number -> name, e.g. 61 -> "C#4"."""
    pitch = int(pitch)
    return f"{PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}"


def parse_pitch(text):
    """A pitch name ("C4", "F#5", "Bb3", "eb4") -> MIDI number; ValueError naming the text if it is none."""
    match = _PITCH.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a note name (a letter A-G, an optional # or b, an octave: C4, F#5, Bb3)")
    letter, accidental, octave = match.groups()
    shift = {"#": 1, "b": -1}.get(accidental or "", 0)
    return _LETTERS[letter.upper()] + shift + 12 * (int(octave) + 1)


def tonic_name(pitch_class):
    return PITCH_CLASS_NAMES[int(pitch_class) % 12]


def parse_tonic(text):
    """"G", "F#", "Bb" -> pitch class; ValueError if it is not a note letter."""
    match = _TONIC.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a key's tonic (a letter A-G and an optional # or b)")
    letter, accidental = match.groups()
    return (_LETTERS[letter.upper()] + {"#": 1, "b": -1}.get(accidental or "", 0)) % 12


def parse_tonality(text):
    """A key -> (tonic pitch class, mode).

    Accepts "G major", "E minor", "A dorian", "D mixolydian", and the short ABC forms "G", "Em",
    "Ador", "Dmix" (case-insensitive mode). Raises ValueError naming the text otherwise.
    """
    text = text.strip()
    parts = text.split()
    if len(parts) == 2:
        tonic, mode = parts
    elif len(parts) == 1:
        match = re.match(r"^([A-Ga-g](?:#|b)?)(.*)$", text)
        if not match:
            raise ValueError(f"{text!r} is not a key (e.g. 'G major', 'E minor', 'A dorian', 'Em')")
        tonic, mode = match.groups()
    else:
        raise ValueError(f"{text!r} is not a key (e.g. 'G major', 'E minor', 'A dorian', 'Em')")
    mode = mode.lower()
    mode = _MODE_ABBREVIATIONS.get(mode, mode)
    if mode not in MODES:
        raise ValueError(f"{text!r}: unknown mode {mode!r} (one of {', '.join(MODES)})")
    return parse_tonic(tonic), mode


def tonality_name(tonic, mode):
    return f"{tonic_name(tonic)} {mode}"


def key_pitch_classes(tonic, mode):
    """The set of pitch classes in a key: its mode's scale, plus a minor key's raised 6th and 7th."""
    intervals = set(MODES[mode]) | ({9, 11} if mode == "minor" else set())
    return {(tonic + interval) % 12 for interval in intervals}


def in_key_share(pitches, tonic, mode):
    """The share of `pitches` (MIDI numbers) whose pitch class is in the key; nan for none."""
    pitches = np.asarray(pitches, dtype=np.int64)
    if pitches.size == 0:
        return float("nan")
    inside = np.isin(pitches % 12, sorted(key_pitch_classes(tonic, mode)))
    return float(inside.mean())


def find_key(pitches, durations=None):
    """The Krumhansl-Schmuckler key of notes: (tonic pitch class, "major" or "minor").

    The duration-weighted pitch-class histogram is correlated with the Krumhansl-Kessler major
    and minor profiles rotated to each of the 12 tonics; the best of the 24 wins.

    Args:
        pitches: (N,) MIDI numbers.
        durations: (N,) weights (quarter notes), or None to count each note once.
    """
    pitches = np.asarray(pitches, dtype=np.int64)
    weights = np.ones(len(pitches)) if durations is None else np.asarray(durations, dtype=np.float64)
    histogram = np.bincount(pitches % 12, weights=weights, minlength=12)
    if not histogram.any():
        return 0, "major"
    best, best_score = (0, "major"), -np.inf
    for mode, profile in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)):
        for tonic in range(12):
            score = np.corrcoef(histogram, np.roll(profile, tonic))[0, 1]
            if score > best_score:
                best, best_score = (tonic, mode), score
    return best


def metre_bar_length(metre):
    """"6/8" -> 3.0, the bar's length in quarter notes; ValueError for anything else."""
    match = re.match(r"^\s*(\d+)\s*/\s*(\d+)\s*$", metre or "")
    if not match or int(match.group(1)) == 0 or int(match.group(2)) not in (1, 2, 4, 8, 16, 32):
        raise ValueError(f"{metre!r} is not a time signature (e.g. 4/4, 6/8, 3/4)")
    return int(match.group(1)) * 4.0 / int(match.group(2))
