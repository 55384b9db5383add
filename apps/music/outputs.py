"""What `compose` writes: MIDI, WAV (through FluidSynth), a piano-roll PNG, and a summary or JSON.

Files are written only where the command line names them; without any, the piece's events (or
frames) are printed, so a pipe gets text. The summary line goes to stderr, --json to stdout.
"""

import json
import os
import shutil
import sys
import tempfile

import numpy as np

from apps.common.cli import EXIT_PARTIAL, UserError
from apps.music.roll import VOICES

TEMPO = {"folk": 112, "chorale": 72}  # quarter notes per minute in the MIDI file


def write_outputs(piece, request, out=None, wav=None, soundfont=None, roll=None, as_json=False):
    """MIDI, WAV, piano roll and the printed summary of a `composing.Composition`; returns the exit
    status: 1 when a file could not be written (one `error:` line each, after what was printed).

    Args:
        piece: the `Composition`; request: the `CompositionRequest` that made it (for the roll's title).
        out, wav, roll: paths of the MIDI file, the WAV (rendered with `soundfont`, default Debian's)
            and the piano-roll PNG, or None.
        as_json: print the piece as JSON on stdout instead of its text.
    """
    from apps.common.output_files import OutputFileError, write_file
    from apps.music.midi import CHOIR, VIOLIN, write_midi

    program = VIOLIN if piece.style == "folk" else CHOIR
    names = None if piece.style == "folk" else [v.capitalize() for v in VOICES]
    written, failed = [], []

    def attempt(write, done):
        """Runs `write()` (which writes through `write_file`); a failure is kept for after the output."""
        try:
            write()
            written.append(done)
        except OutputFileError as error:
            failed.append(str(error))

    with tempfile.TemporaryDirectory() as scratch:
        midi_path = os.path.join(scratch, "piece.mid")  # the WAV is rendered from this copy
        if out or wav:
            write_midi(piece.timed, midi_path, piece.parts, piece.metre, piece.tonality, TEMPO[piece.style], program,
                       names)
        if out:
            attempt(lambda: write_file(out, lambda temporary: shutil.copyfile(midi_path, temporary)),
                    f"MIDI written to {out}")
        if wav:
            from apps.music.midi import AudioUnavailable, render_wav

            try:
                def render(temporary):
                    render_wav(midi_path, temporary, soundfont)

                attempt(lambda: write_file(wav, render), f"audio written to {wav}")
            except AudioUnavailable as error:
                raise UserError(str(error)) from None
    if roll:
        from apps.music.plots import plot_piano_roll

        title = f"{piece.style}, {piece.tonality or 'no key'}, {piece.metre}, seed {request.seed}, " \
                f"temperature {request.temperature:g}"
        attempt(lambda: plot_piano_roll(piece.timed, roll, title=title, bar_lines=piece.bar_lines,
                                        primer_end=piece.primer_end, voice_names=names),
                f"piano roll drawn in {roll}")
    for line in written:
        print(line, file=sys.stderr)
    summary = {"style": piece.style, "key": piece.tonality, "metre": piece.metre, "notes": len(piece.timed),
               "parts": piece.parts, "quarter_notes": float(np.max(piece.timed[:, 1] + piece.timed[:, 2]))
               if len(piece.timed) else 0.0, **piece.extra}
    if as_json:
        print(json.dumps({**summary, "text": piece.text,
                          "timed_notes": [[int(p), round(o, 4), round(d, 4), int(v)] for p, o, d, v in piece.timed]}))
    else:
        if not written:  # the piece as text: nothing of it is lost when its files are not written
            print(piece.text)
        print(f"{summary['notes']} notes in {summary['parts']} part{'s' * (piece.parts > 1)}, "
              f"{piece.tonality or 'no key'}, {piece.metre}, {summary['quarter_notes']:g} quarter notes"
              + ("" if written or failed else " (--out FILE.mid writes MIDI)"), file=sys.stderr)
    sys.stdout.flush()
    for error in failed:
        print(f"error: {error}", file=sys.stderr)
    return EXIT_PARTIAL if failed else 0
