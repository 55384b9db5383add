"""What `compose` writes: MIDI, WAV (through FluidSynth), a piano-roll PNG, and a summary or JSON.

Files are written only where the command line names them; without any, the piece's events (or
frames) are printed, so a pipe gets text. The summary line goes to stderr, --json to stdout.
"""

import json
import os
import sys
import tempfile

import numpy as np

from apps.common.cli import UserError
from apps.music.roll import VOICES

TEMPO = {"folk": 112, "chorale": 72}  # quarter notes per minute in the MIDI file


def write_outputs(piece, args):
    """MIDI, WAV, piano roll and the printed summary of a `composing.Composition`."""
    from apps.music.midi import CHOIR, VIOLIN, write_midi

    program = VIOLIN if piece.style == "folk" else CHOIR
    names = None if piece.style == "folk" else [v.capitalize() for v in VOICES]
    midi_path = args.out
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        if args.out or args.wav:
            midi_path = args.out or os.path.join(scratch, "piece.mid")
            write_midi(piece.timed, midi_path, piece.parts, piece.metre, piece.tonality, TEMPO[piece.style], program,
                       names)
            if args.out:
                written.append(f"MIDI written to {args.out}")
        if args.wav:
            from apps.music.midi import AudioUnavailable, render_wav

            try:
                render_wav(midi_path, args.wav, args.soundfont)
            except AudioUnavailable as error:
                raise UserError(str(error)) from None
            written.append(f"audio written to {args.wav}")
    if args.roll:
        from apps.music.plots import plot_piano_roll

        title = f"{piece.style}, {piece.tonality or 'no key'}, {piece.metre}, seed {args.seed}, " \
                f"temperature {args.temperature:g}"
        plot_piano_roll(piece.timed, args.roll, title=title, bar_lines=piece.bar_lines, primer_end=piece.primer_end,
                        voice_names=names)
        written.append(f"piano roll drawn in {args.roll}")
    for line in written:
        print(line, file=sys.stderr)
    summary = {"style": piece.style, "key": piece.tonality, "metre": piece.metre, "notes": len(piece.timed),
               "parts": piece.parts, "quarter_notes": float(np.max(piece.timed[:, 1] + piece.timed[:, 2]))
               if len(piece.timed) else 0.0, **piece.extra}
    if args.json:
        print(json.dumps({**summary, "text": piece.text,
                          "timed_notes": [[int(p), round(o, 4), round(d, 4), int(v)] for p, o, d, v in piece.timed]}))
    else:
        if not written:
            print(piece.text)
        print(f"{summary['notes']} notes in {summary['parts']} part{'s' * (piece.parts > 1)}, "
              f"{piece.tonality or 'no key'}, {piece.metre}, {summary['quarter_notes']:g} quarter notes"
              + ("" if written else " (--out FILE.mid writes MIDI)"), file=sys.stderr)
