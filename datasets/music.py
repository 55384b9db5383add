"""Music as note-event sequences: Bach chorales, O'Neill's Irish tunes, or a folder of MIDI files.

Each piece becomes a float32 array of shape (T, 4), one row per note in time order
(`NOTE_FIELDS`): MIDI pitch, step (quarter notes since the previous note started; 0 for notes
struck together), duration (quarter notes), and voice (0 soprano .. 3 bass for the chorales, the
part index for MIDI, 0 for the one-line ABC tunes). Tied notes are merged and rests are implied by
the steps. The order within a chord is by voice, then pitch, so the encoding is deterministic.

Each piece also keeps what a model may be conditioned on: its `tonality` ("G major", "A dorian":
the key the encoding states, an ABC tune's K: field or a chorale's key; music21's
Krumhansl-Schmuckler analysis where it states none, as in MIDI files), its `metre` (the first time
signature, "6/8"; "" if none) and its `bars`, the offsets in quarter notes of every bar line after
the first bar (its measures' starts, on the time line of the steps), so a pickup bar is known.

Bundled corpora (music21's corpus, BSD-3; see its licence file for some encodings' terms):
  chorales  the 371 four-voice Bach chorales of `music21.corpus.chorales.Iterator()`; key: the
            chorale's catalogue number.
  oneills   O'Neill's "Music of Ireland" (1850), 2,009 one-line ABC tunes; key: file and tune number.
Parsing with music21 takes minutes (the O'Neill ABC files about 5 on one core), so the parsed notes
of both corpora are committed beside this module (`PARSED_DIR`, 470 KB of .npz) and the loaders only
read those; `python -m datasets parse-music` parses the corpora again and rewrites them
(`write_parsed_notes`), which a change to the encoding needs (with `ENCODING_VERSION` bumped).

Example:
    >>> piece = load_music("chorales", "train")[0]
    >>> piece.notes.shape, piece.notes[0]
    ((266, 4), array([67., 0., 1., 0.], dtype=float32))
"""

import collections
import functools
import json
import os
from pathlib import Path

import numpy as np

from datasets.errors import DataError, FormatError
from datasets.splits import SPLITS, check_split, split_of

CORPORA = ("chorales", "oneills")
NOTE_FIELDS = ("pitch", "step", "duration", "voice")
ENCODING_VERSION = 3  # of the note encoding: bump it when that changes, then `python -m datasets parse-music`
# music21's parse of the bundled corpora (pinned in setup.cfg), committed: see the module docstring.
PARSED_DIR = Path(__file__).resolve().parent / "parsed_music"
MIDI_SUFFIXES = (".mid", ".midi")

Piece = collections.namedtuple("Piece", ["key", "title", "notes", "tonality", "metre", "bars"],
                               defaults=("", "", ()))
Piece.__doc__ = """One piece: its split key (str), title (str), notes ((T, 4) float32, `NOTE_FIELDS`),
tonality ("G major"; "" if unknown), metre ("6/8"; "" if unknown) and bars (tuple of float, the
offsets of the bar lines after the first bar, in quarter notes)."""


def load_music(source="chorales", split="train"):
    """Returns the pieces of one split.

    Args:
        source: str or path-like, "chorales", "oneills", or a folder of .mid / .midi files.
        split: str, "train", "validation" or "test".

    Returns:
        list of `Piece`, in corpus order.
    """
    check_split(split)
    return [piece for piece in _load(_argument(source)) if split_of(piece.key) == split]


def music_report(source="chorales"):
    """{split: {"pieces": n, "notes": n}}."""
    report = {s: {"pieces": 0, "notes": 0} for s in SPLITS}
    for piece in _load(_argument(source)):
        counts = report[split_of(piece.key)]
        counts["pieces"] += 1
        counts["notes"] += len(piece.notes)
    return report


def split_counts(corpus):
    """{split: pieces} for the summary table."""
    return {split: counts["pieces"] for split, counts in music_report(corpus).items()}


def parsed_path(corpus, directory=None):
    """Where the parsed notes of a bundled corpus are (in `directory`, default `PARSED_DIR`)."""
    return Path(directory or PARSED_DIR) / f"{corpus}-v{ENCODING_VERSION}.npz"


def write_parsed_notes(corpus, directory=None, progress=False):
    """Parses a bundled corpus with music21 and writes its notes (atomically) to
    `parsed_path(corpus, directory)`; returns that path."""
    pieces = list(_parse_chorales(progress) if corpus == "chorales" else _parse_oneills(progress))
    path = parsed_path(corpus, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    notes = np.concatenate([p.notes for p in pieces]) if pieces else np.zeros((0, 4), np.float32)
    starts = np.cumsum([0] + [len(p.notes) for p in pieces])
    partial = path.with_name(path.name + ".partial.npz")
    meta = [[p.key, p.title, p.tonality, p.metre, list(p.bars)] for p in pieces]
    np.savez_compressed(partial, notes=notes, starts=starts, meta=np.array(json.dumps(meta)))
    os.replace(partial, path)  # atomic: a reader sees the old file or the whole new one
    return path


def _argument(source):
    source = os.fspath(source)
    if source in CORPORA:
        return (source, str(parsed_path(source)))
    path = Path(source)
    if path.is_dir():
        files = tuple((str(p), p.stat().st_mtime_ns) for p in sorted(path.rglob("*"))
                      if p.suffix.lower() in MIDI_SUFFIXES)
        if not files:
            raise DataError(f"the folder {source!r} has no .mid or .midi files")
        return ("midi", str(path.resolve()), files)
    raise DataError(f"source must be one of {', '.join(CORPORA)} or a folder of MIDI files; got {source!r} "
                    "(no such folder)")


@functools.lru_cache(maxsize=4)
def _load(source):
    if source[0] == "midi":
        return tuple(_parse_midi(source[1], [Path(f) for f, _ in source[2]]))
    path = Path(source[1])
    if not path.is_file():  # parsing takes minutes: done once, not by a training run
        raise DataError(f"no parsed notes of {source[0]} at {path}: run `make data`, then "
                        f"`python -m datasets parse-music {source[0]}`")
    with np.load(path) as data:
        notes, starts, meta = data["notes"], data["starts"], json.loads(str(data["meta"]))
    return tuple(Piece(key, title, notes[starts[i]:starts[i + 1]], tonality, metre, tuple(bars))
                 for i, (key, title, tonality, metre, bars) in enumerate(meta))


def stream_to_notes(score, voices=True):
    """Turns a music21 score into (T, 4) float32 note events (see `NOTE_FIELDS`).

    Args:
        score: a music21 Score (parts = voices) or a single-line stream.
        voices: bool, number the parts as voices; False puts every note in voice 0.
    """
    from music21 import harmony

    events = []
    parts = list(score.parts) if voices and hasattr(score, "parts") and len(score.parts) else [score]
    for voice, part in enumerate(parts):
        for element in part.stripTies().flatten().notes:
            if isinstance(element, harmony.ChordSymbol):  # accompaniment symbols, not notes played
                continue
            offset, duration = float(element.offset), float(element.duration.quarterLength)
            for pitch in element.pitches:
                events.append((offset, voice, pitch.midi, duration))
    events.sort()
    rows, previous = [], 0.0
    for offset, voice, pitch, duration in events:
        rows.append((pitch, offset - previous, duration, voice))
        previous = offset
    return np.array(rows, dtype=np.float32).reshape(-1, 4)


def score_context(score):
    """(tonality, metre, bars) of a music21 score or single-line stream (see `Piece`).

    The tonality is the first `Key` the encoding states (with its mode), else music21's
    Krumhansl-Schmuckler key analysis; the metre the first time signature; the bar lines the
    starts of the first part's measures after its first.
    """
    from music21 import key, meter

    stated = list(score.recurse().getElementsByClass(key.Key))
    found = stated[0] if stated else None
    if found is None:
        try:
            found = score.analyze("key")
        except Exception:  # music21 raises several types for a piece with no pitches
            found = None
    tonality = f"{found.tonic.name.replace('-', 'b')} {found.mode}" if found is not None else ""
    signatures = list(score.recurse().getElementsByClass(meter.TimeSignature))
    metre = signatures[0].ratioString if signatures else ""
    part = score.parts[0] if hasattr(score, "parts") and len(score.parts) else score
    starts = sorted({float(m.offset) for m in part.getElementsByClass("Measure")})
    return tonality, metre, tuple(start for start in starts if start > 0)


def _bar(total, progress, desc, unit="piece"):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not progress)


def _parse_chorales(progress):
    from music21 import corpus

    chorales = corpus.chorales.Iterator()
    with _bar(len(chorales), progress, "parsing chorales") as bar:
        for score in chorales:
            number = score.metadata.number
            title = score.metadata.title or f"Chorale {number}"
            yield Piece(f"chorale:{number}", title, stream_to_notes(score), *score_context(score))
            bar.update()


def _parse_oneills(progress):
    """The tunes of every O'Neill file, in file order; the 39 files are parsed on every core at once
    (music21's ABC parser is pure Python: about 5 minutes on one core)."""
    from concurrent.futures import ProcessPoolExecutor

    from music21 import corpus

    files = [str(path) for path in sorted(corpus.getComposer("oneills1850"))]
    workers = min(len(files), os.cpu_count() or 1)
    with _bar(len(files), progress, "parsing O'Neill's tunes", unit="file") as bar, \
            ProcessPoolExecutor(workers) as pool:
        for pieces in pool.map(_oneills_file, files):  # results come back in file order
            yield from pieces
            bar.update()


def _oneills_file(path):
    """The tunes of one O'Neill ABC file, as `Piece`s (a worker process's job)."""
    from music21 import corpus

    pieces = []
    parsed = corpus.parse(path)
    for score in parsed.scores if hasattr(parsed, "scores") else [parsed]:  # an Opus, or one tune
        number = score.metadata.number
        notes = stream_to_notes(score, voices=False)
        if len(notes):
            # Tune numbers restart in some files, so the file is part of the key.
            key = f"oneills:{Path(path).stem}/{number}"
            pieces.append(Piece(key, score.metadata.title or f"Tune {number}", notes, *score_context(score)))
    return pieces


def _parse_midi(folder, files):
    from music21 import converter

    for path in files:
        try:
            score = converter.parse(str(path), format="midi")
        except Exception as error:  # music21 raises several unrelated types for a broken file
            raise FormatError(path, None, f"a standard MIDI file ({type(error).__name__}: {error})") from None
        yield Piece(f"midi:{path.relative_to(folder).as_posix()}", path.stem, stream_to_notes(score),
                    *score_context(score))
