"""Character-level text generation: a language model that samples, scores and is served.

  python -m apps.generate --model-dir runs/gru --prompt "ROMEO:" --length 400
  python -m apps.generate --model-dir runs/gru --temperature 0.8 --top-p 0.9 --seed 7 --samples 3 "JULIET:"
  python -m apps.generate score --model-dir runs/gru "To be, or not to be" --plot surprisal.png
  python -m apps.generate train --model gru --out runs/gru           the bundled plays, or --data FILE.txt
  python -m apps.generate eval --model-dir runs/gru                  held-out nats per character, perplexity
  python -m apps.generate export --model-dir runs/gru --out exported/

No trained model ships yet: train one first. Run any command with --help for its options.
"""
