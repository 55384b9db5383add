"""Pieces in and out: MIDI files through music21, WAV audio through FluidSynth.

A piece here is timed notes, an (N, 4) float64 array of rows (pitch, onset, duration, voice),
times in quarter notes, voice 0 the highest part (`apps.music.roll`).

WAV rendering runs the `fluidsynth` program with a General MIDI SoundFont, as Debian ships them:

    sudo apt-get install fluidsynth fluid-soundfont-gm

(`/usr/share/sounds/sf2/FluidR3_GM.sf2`); `--soundfont FILE.sf2` names another.
"""

import glob
import os
import shutil
import subprocess

import numpy as np

from apps.music.theory import parse_tonality, tonic_name

INSTALL_HINT = "sudo apt-get install fluidsynth fluid-soundfont-gm"
SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/share/sounds/sf3")
PREFERRED_SOUNDFONTS = ("FluidR3_GM.sf2", "default-GM.sf2", "FluidR3_GM.sf3")
VIOLIN, CHURCH_ORGAN, CHOIR = 40, 19, 52  # General MIDI programs (0-based)


class AudioUnavailable(Exception):
    """FluidSynth or a SoundFont is missing; the message says how to install them."""


def write_midi(timed, path, parts, metre="4/4", tonality=None, tempo=100, program=VIOLIN, part_names=None):
    """Writes timed notes as a standard MIDI file of `parts` tracks (one per voice).

    Args:
        timed: (N, 4) timed notes; voices 0 .. parts - 1.
        path: str, the .mid file to write.
        parts: int, the number of parts (a voice without notes is an empty part).
        metre: str, the time signature ("6/8").
        tonality: str or None, the key signature's key ("G major").
        tempo: float, quarter notes per minute.
        program: int, the General MIDI program of every part.
        part_names: list of str or None, the parts' names.
    """
    from music21 import instrument, key, meter, note, stream
    from music21 import tempo as tempo_marks

    timed = np.asarray(timed, dtype=np.float64).reshape(-1, 4)
    score = stream.Score()
    for voice in range(parts):
        part = stream.Part(id=f"voice{voice}")
        sound = instrument.Instrument()
        sound.midiProgram = program
        if part_names:
            sound.partName = part.partName = part_names[voice]
        part.insert(0, sound)
        part.insert(0, meter.TimeSignature(metre))
        if tonality:
            tonic, mode = parse_tonality(tonality)
            name = tonic_name(tonic)
            part.insert(0, key.Key(name[0] + name[1:].replace("b", "-"), mode))  # music21 writes flats "-"
        if voice == 0:
            part.insert(0, tempo_marks.MetronomeMark(number=tempo))
        for pitch, onset, duration, _ in timed[timed[:, 3] == voice]:
            part.insert(float(onset), note.Note(int(pitch), quarterLength=float(duration)))
        score.insert(0, part)
    score.write("midi", fp=path)


def read_midi(path):
    """A MIDI file -> (timed notes, metre, tonality); ValueError with one clear line if it is not one.

    Parts are voices (0 the first track), as `datasets.music` reads MIDI folders.
    """
    from music21 import converter

    from datasets.music import score_context, stream_to_notes

    try:
        with open(path, "rb") as file:
            header = file.read(4)
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror or error}") from None
    if header != b"MThd":
        raise ValueError(f"{path} is not a standard MIDI file (it does not start with 'MThd')")
    try:
        score = converter.parse(path, format="midi")
    except Exception as error:  # music21 raises several unrelated types for a broken file
        raise ValueError(f"{path} is not a readable MIDI file ({type(error).__name__}: {error})") from None
    notes = stream_to_notes(score)
    if not len(notes):
        raise ValueError(f"{path} holds no notes")
    tonality, metre, _ = score_context(score)
    onsets = np.cumsum(notes[:, 1].astype(np.float64))
    timed = np.stack([notes[:, 0], onsets, notes[:, 2], notes[:, 3]], axis=1).astype(np.float64)
    return timed, metre, tonality


def find_soundfont(soundfont=None):
    """The SoundFont to render with: `soundfont` if given, else a General MIDI one Debian installs."""
    if soundfont:
        if not os.path.isfile(soundfont):
            raise AudioUnavailable(f"--soundfont {soundfont}: no such file")
        with open(soundfont, "rb") as f:
            header = f.read(12)
        # FluidSynth falls back to its default font on a file it cannot read, and says nothing.
        if header[:4] != b"RIFF" or header[8:12] != b"sfbk":
            raise AudioUnavailable(f"--soundfont {soundfont}: not a SoundFont (.sf2 or .sf3: a RIFF 'sfbk' file)")
        return soundfont
    for directory in SOUNDFONT_DIRS:
        for name in PREFERRED_SOUNDFONTS:
            if os.path.isfile(os.path.join(directory, name)):
                return os.path.join(directory, name)
    found = sorted(f for d in SOUNDFONT_DIRS for f in glob.glob(os.path.join(d, "*.sf[23]")))
    if not found:
        raise AudioUnavailable(f"--wav needs a General MIDI SoundFont (none in {', '.join(SOUNDFONT_DIRS)}): "
                               f"{INSTALL_HINT}, or give --soundfont FILE.sf2")
    return found[0]


def check_audio(soundfont=None):
    """(fluidsynth program, SoundFont path), or AudioUnavailable saying how to install them."""
    program = shutil.which("fluidsynth")
    if program is None:
        raise AudioUnavailable(f"--wav needs the fluidsynth program, which is not installed: {INSTALL_HINT}")
    return program, find_soundfont(soundfont)


def render_wav(midi_path, wav_path, soundfont=None, sample_rate=44100):
    """Renders a MIDI file to a WAV file with FluidSynth (offline, no audio device)."""
    program, soundfont = check_audio(soundfont)
    command = [program, "-ni", "-g", "0.6", "-F", wav_path, "-r", str(sample_rate), soundfont, midi_path]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or not os.path.isfile(wav_path):
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no message"]
        raise AudioUnavailable(f"fluidsynth could not render {midi_path}: {last[0]}")
