"""The page's music: a folk tune or a chorale composed from a seed, its piano roll, and its sound.

The piece is composed by `apps.music.composing` (`compose_melody`, `compose_chorale`), exactly as
`python -m apps.music` composes it, on the loaded model (`LoadedModel` answers what they ask of a
model directory). The piano roll is `apps.music.plots.plot_piano_roll`'s picture; the sound is
FluidSynth's rendering of the MIDI file (`apps.music.midi`) where FluidSynth and a SoundFont are
installed, and otherwise a note that says how to install them.

A primer is note names only ("C4 E4 G4", "C4:1/2", "C3+G3+E4", "R"): the command line's
--primer also takes a MIDI file, which a page must not name, so anything else is refused before
`read_primer` sees it.
"""

import os
import re
import tempfile

from apps.explore.inputs import InputError
from apps.explore.pictures import data_url, drawn

PAGE_MAX_BARS = 32
_NOTE = r"[A-Ga-g][#b]?-?\d{1,2}"
_PRIMER_ITEM = re.compile(rf"^(?:[Rr]|{_NOTE}(?:\+{_NOTE})*)(?::\d{{1,2}}(?:/\d{{1,2}}|\.\d{{1,4}})?)?$")
WAV_SAMPLE_RATE = 22050  # half the command line's: the page's sound travels inside the JSON answer


def answer(models, fields, files):
    from apps.music.composing import DEFAULT_BARS, CompositionRequest, compose_chorale, compose_melody
    from apps.music.task import STYLES, style_of

    style = fields.choice("style", sorted(STYLES), "folk")
    names = models.names("music")
    model = fields.values.get("model") or (STYLES[style] if STYLES[style] in names else None)
    loaded = models.get("music", model)
    style = style_of(loaded.config().get("architecture"))
    primer = fields.text("primer", 64, required=False, max_characters=400).strip() or None
    if primer and not all(_PRIMER_ITEM.match(item) for item in primer.split()):
        raise InputError(f"primer: expected note names such as 'C4 E4 G4', 'C4:1/2', 'C3+G3+E4' or 'R', got {primer!r}")
    folk = style == "folk"  # a chorale's keys are drawn one by one: no key, top-k or top-p (as `compose`)
    request = CompositionRequest(
        primer=primer,
        metre=fields.text("metre", 1, required=False, max_characters=8).strip() or None,
        key=(fields.text("key", 3, required=False, max_characters=20).strip() or None) if folk else None,
        temperature=fields.number("temperature", 1.0, 1e-4, 100.0),
        top_k=fields.integer("top_k", 0, 0, 1_000_000) if folk else 0,
        top_p=fields.number("top_p", 1.0, 1e-6, 1.0) if folk else 1.0,
        seed=fields.integer("seed", 0, 0, 2**31 - 1),
    )
    bars = fields.integer("bars", DEFAULT_BARS[style], 1, PAGE_MAX_BARS)
    compose = compose_melody if style == "folk" else compose_chorale
    piece = compose(loaded, request, bars)
    return {"model": loaded.name, "style": style, "key": piece.tonality, "metre": piece.metre,
            "notes": len(piece.timed), "bars": bars, "text": piece.text,
            "score": round(float(piece.extra.get("score", 0.0)), 4),
            "roll": drawn(lambda path: roll_picture(piece, request, path)), **sound(piece)}


def roll_picture(piece, request, path):
    from apps.music.plots import plot_piano_roll
    from apps.music.roll import VOICES

    names = None if piece.style == "folk" else [voice.capitalize() for voice in VOICES]
    title = f"{piece.style}, {piece.tonality or 'no key'}, {piece.metre}, seed {request.seed}, " \
            f"temperature {request.temperature:g}"
    plot_piano_roll(piece.timed, path, title=title, bar_lines=piece.bar_lines, primer_end=piece.primer_end,
                    voice_names=names)


def sound(piece):
    """{"wav": a data: URL} where FluidSynth can render the piece, else {"audio_note": why not}."""
    from apps.music.midi import CHOIR, VIOLIN, AudioUnavailable, check_audio, render_wav, write_midi
    from apps.music.outputs import TEMPO
    from apps.music.roll import VOICES

    try:
        check_audio()
    except AudioUnavailable as error:
        return {"audio_note": f"No sound: {error}".replace("--wav needs", "playing the piece needs")}
    names = None if piece.style == "folk" else [voice.capitalize() for voice in VOICES]
    with tempfile.TemporaryDirectory(prefix="explore-") as folder:
        midi = os.path.join(folder, "piece.mid")
        write_midi(piece.timed, midi, piece.parts, piece.metre, piece.tonality, TEMPO[piece.style],
                   VIOLIN if piece.style == "folk" else CHOIR, names)
        wav = os.path.join(folder, "piece.wav")
        try:
            render_wav(midi, wav, sample_rate=WAV_SAMPLE_RATE)
        except AudioUnavailable as error:
            return {"audio_note": f"No sound: {error}"}
        with open(wav, "rb") as f:
            return {"wav": data_url(f.read(), "audio/wav")}
