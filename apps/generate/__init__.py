"""Character-level text generation: a language model that samples, scores and is served.

  python -m apps.generate --prompt "ROMEO:" --length 400          the shipped model (saved_models/generate/gru)
  python -m apps.generate --temperature 0.8 --top-p 0.9 --seed 7 --samples 3 "JULIET:"
  python -m apps.generate --stream --prompt "KING LEAR:"           characters appear as they are made
  python -m apps.generate score "To be, or not to be" --plot surprisal.png
  python -m apps.generate train --model gru --out runs/gru           the bundled plays, or --data FILE.txt
  python -m apps.generate eval --model-dir runs/gru                  held-out nats per character, perplexity
  python -m apps.generate export --model-dir runs/gru --out exported/

`--model-dir DIR` uses a model of your own. Run any command with --help for its options.
"""
