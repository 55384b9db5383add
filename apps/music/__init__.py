"""Music generation: folk melodies and four-voice chorales you can hear.

  python -m apps.music --out tune.mid                                 a folk tune from the shipped model
  python -m apps.music --style chorale --out chorale.mid --wav chorale.wav --roll chorale.png
  python -m apps.music --primer "D5 F#5 A5" --key "D major" --metre 6/8 --length 16 --seed 3 --out jig.mid
  python -m apps.music --style chorale --primer my.mid --temperature 0.8 --out more.mid
  python -m apps.music train --model folk-lstm --out runs/folk        O'Neill's tunes (or --data FOLDER of MIDI)
  python -m apps.music train --model chorale-lstm --out runs/chorale  Bach's chorales, eighth-note piano roll
  python -m apps.music eval --model-dir runs/folk                     held-out NLL next to an n-gram baseline
  python -m apps.music export --model-dir runs/folk --out exported/   a SavedModel: primer in, events out

--length counts bars (at most 64). --wav needs FluidSynth and a General MIDI SoundFont
(sudo apt-get install fluidsynth fluid-soundfont-gm). `--model-dir DIR` uses a model of your own.
Run any command with --help for its options.
"""
