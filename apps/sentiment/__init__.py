"""Sentiment: a many-to-one classifier (bidirectional GRU, attention pooling) that shows which words decided.

  python -m apps.sentiment "A gorgeous, witty, seductive movie."     label and probability (shipped model)
  python -m apps.sentiment --explain "Flat, tedious and far too long."   each word shaded by its attention
  python -m apps.sentiment --explain words.png "..."                 the attention drawn into a picture
  python -m apps.sentiment - < reviews.txt                            one text per line, batched
  python -m apps.sentiment train --model gru-attention --out runs/sentiment   Rotten Tomatoes sentences,
        or --data reviews.csv --text-column review --label-column stars, or --data imdb (TFDS, prepared)
  python -m apps.sentiment eval --model-dir runs/sentiment            accuracy, macro-F1, confusion, calibration
  python -m apps.sentiment eval --data rt_corpus --split all          another corpus, texts seen in training left out
  python -m apps.sentiment export --model-dir runs/sentiment --out exported/

`--model-dir DIR` uses a model of your own. Run any command with --help for its options.
"""
