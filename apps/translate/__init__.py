"""English->French translation from the command line.

  python -m apps.translate "Jane went to Africa last September."
  python -m apps.translate - < sentences.txt             one sentence per line
  python -m apps.translate --beam 1 --attention map.png "I am cold."
  python -m apps.translate train --data fra.txt --model transformer --out runs/my-model
  python -m apps.translate eval --model attention-gru    BLEU and chrF on the held-out test split
  python -m apps.translate export --out exported/        a SavedModel for TF Serving

Training on a GPU machine that has JAX and no TensorFlow (the portable trainer):
  python -m apps.translate pack --out packed/
  KERAS_BACKEND=jax python -m apps.translate fit --data packed/ --model transformer --out fitted/
  python -m apps.translate adopt --fitted fitted/ --out runs/transformer

Run any command with --help for its options.
"""
