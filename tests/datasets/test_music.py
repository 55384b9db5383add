import numpy as np
import pytest

from datasets import music
from datasets.errors import DataError, FormatError
from datasets.music import NOTE_FIELDS, load_music, music_report
from datasets.splits import SPLITS

# Pieces per split, recorded from the bundled corpora (music21's, pinned). Exact: a change to the
# split moves pieces and shows here.
EXPECTED_PIECES = {
    "chorales": {"train": 336, "validation": 18, "test": 17},
    "oneills": {"train": 1806, "validation": 98, "test": 105},
}

# Named pieces and the split they were recorded in.
KNOWN_SPLITS = [
    ("chorales", "chorale:1", "train"),
    ("chorales", "chorale:41", "validation"),
    ("chorales", "chorale:27", "test"),
    ("oneills", "oneills:0001-0050/1", "train"),
    ("oneills", "oneills:0001-0050/6", "validation"),
    ("oneills", "oneills:0051-0100/67", "test"),
]


@pytest.mark.parametrize("corpus", sorted(EXPECTED_PIECES))
def test_bundled_pieces_per_split_and_no_leak(corpus):
    assert music.parsed_path(corpus).is_file(), "the committed parse is missing: python -m datasets parse-music"
    report = music_report(corpus)
    assert {split: report[split]["pieces"] for split in SPLITS} == EXPECTED_PIECES[corpus]
    keys = {s: [p.key for p in load_music(corpus, s)] for s in SPLITS}
    everything = sum(keys.values(), [])
    assert len(everything) == len(set(everything))  # each piece (key) in exactly one split


@pytest.mark.parametrize("corpus, key, split", KNOWN_SPLITS)
def test_a_named_piece_stays_in_its_recorded_split(corpus, key, split):
    assert [s for s in SPLITS if key in {p.key for p in load_music(corpus, s)}] == [split]


def test_chorale_note_events():
    piece = load_music("chorales", "train")[0]
    assert piece.key == "chorale:1" and piece.title == "Aus meines Herzens Grunde"
    notes = piece.notes
    assert notes.dtype == np.float32 and notes.shape[1] == len(NOTE_FIELDS)
    assert set(np.unique(notes[:, 3])) == {0, 1, 2, 3}  # four voices
    assert (notes[:, 1] >= 0).all() and (notes[:, 2] > 0).all()
    assert 30 <= notes[:, 0].min() and notes[:, 0].max() <= 90
    # The first chord: all four voices struck together, soprano first.
    np.testing.assert_array_equal(notes[:4, 1], 0)
    np.testing.assert_array_equal(notes[:4, 3], [0, 1, 2, 3])


def test_oneills_is_one_voice():
    piece = load_music("oneills", "validation")[0]
    assert set(np.unique(piece.notes[:, 3])) == {0}


def _write_midi(path, pitches):
    from music21 import note, stream

    part = stream.Part()
    for pitch in pitches:
        part.append(note.Note(pitch, quarterLength=0.5))
    stream.Score([part]).write("midi", fp=str(path))


def test_midi_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    for i in range(12):
        _write_midi(tmp_path / "sub" / f"tune{i}.mid", [60 + i, 62 + i, 64 + i])
    pieces = [p for s in SPLITS for p in load_music(tmp_path, s)]
    assert sorted(p.key for p in pieces) == sorted(f"midi:sub/tune{i}.mid" for i in range(12))
    tune = next(p for p in pieces if p.key == "midi:sub/tune0.mid")
    np.testing.assert_allclose(tune.notes, [[60, 0, 0.5, 0], [62, 0.5, 0.5, 0], [64, 0.5, 0.5, 0]])


def test_midi_folder_errors(tmp_path):
    with pytest.raises(DataError, match="no .mid or .midi files"):
        load_music(tmp_path)
    (tmp_path / "broken.mid").write_bytes(b"not a midi file at all")
    with pytest.raises(FormatError, match=r"broken\.mid: expected a standard MIDI file"):
        load_music(tmp_path)
    with pytest.raises(DataError, match="'no/such/folder'"):
        load_music("no/such/folder")


def test_pieces_keep_their_key_metre_and_bar_lines():
    chorale = load_music("chorales", "train")[0]  # "Aus meines Herzens Grunde", G major, 3/4, a one-beat pickup
    assert (chorale.tonality, chorale.metre) == ("G major", "3/4")
    assert chorale.bars[:3] == (1.0, 4.0, 7.0)
    tune = next(p for p in load_music("oneills", "train") if p.key == "oneills:0001-0050/1")
    assert (tune.tonality, tune.metre) == ("G minor", "2/4") and tune.bars[:2] == (2.0, 4.0)
    assert music.Piece("k", "t", np.zeros((0, 4))).tonality == ""  # the new fields have defaults


def test_the_committed_notes_are_music21s_parse_of_the_corpus():
    """A sample parsed again here (the first chorales, the smallest O'Neill files) equals the committed
    notes, so a change to the encoding or to music21 cannot go unnoticed (python -m datasets parse-music)."""
    import itertools

    from music21 import corpus

    files = sorted(corpus.getComposer("oneills1850"), key=lambda path: path.stat().st_size)[:3]
    reparsed = {
        "chorales": list(itertools.islice(music._parse_chorales(progress=False), 3)),
        "oneills": [piece for path in files for piece in music._oneills_file(str(path))],
    }
    for name, pieces in reparsed.items():
        committed = {piece.key: piece for split in SPLITS for piece in load_music(name, split)}
        assert len(pieces) >= 3
        for piece in pieces:
            kept = committed[piece.key]
            np.testing.assert_array_equal(piece.notes, kept.notes)
            assert (piece.title, piece.tonality, piece.metre, piece.bars) == \
                (kept.title, kept.tonality, kept.metre, kept.bars), piece.key
