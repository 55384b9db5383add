"""`tf.data` pipelines: token-id sequences to length-bucketed, cached, prefetched batches.

Batching examples of similar length wastes less compute on padding; `bucketed_batches` uses
`tf.data.Dataset.bucket_by_sequence_length`. An element is one 1-D int sequence or a tuple / dict
of them (e.g. source and target ids); its length is the longest of its sequences, and every
sequence is padded with 0 (TextVectorization's padding id) to the longest in its batch.

Example:
    >>> ds = sequence_dataset([[5, 6], [7, 8, 9, 10, 11]], [[1, 2, 3], [4]])
    >>> batches = bucketed_batches(ds, batch_size=2, boundaries=(4, 8))
    >>> [tuple(x.shape) for x in next(iter(batches))]
    [(1, 2), (1, 3)]
"""

import tensorflow as tf

DEFAULT_BOUNDARIES = (8, 16, 24, 32, 48, 64)


def sequence_dataset(*sequences):
    """A dataset of variable-length int sequences from Python lists.

    Args:
        *sequences: one or more lists of equal length, each a list of int sequences or a
            tf.RaggedTensor (e.g. `vectorizer(texts)` of a `ragged=True` TextVectorization), such
            as source ids and target ids of the same pairs.

    Returns:
        tf.data.Dataset of int64 tensors of shape (T,), or tuples of them for several lists.
    """
    if not sequences:
        raise ValueError("sequence_dataset needs at least one list of sequences; got none")
    lengths = [int(s.nrows()) if isinstance(s, tf.RaggedTensor) else len(s) for s in sequences]
    if len(set(lengths)) != 1:
        raise ValueError(f"all sequence lists must have the same length; got {lengths}")
    ragged = [tf.cast(s, tf.int64) if isinstance(s, tf.RaggedTensor) else _ragged(s) for s in sequences]
    data = tf.data.Dataset.from_tensor_slices(ragged[0] if len(ragged) == 1 else tuple(ragged))
    # Slicing a RaggedTensor gives ragged elements; make them plain 1-D tensors.
    return data.map(lambda *x: _dense(x[0]) if len(x) == 1 else tuple(_dense(t) for t in x))


def _ragged(sequences):
    """A list of int sequences as a (N, None) int64 RaggedTensor, built from one flat array.

    `tf.ragged.constant` walks the Python lists element by element: minutes for a few million ids.
    """
    import numpy as np

    lengths = np.array([len(x) for x in sequences], dtype=np.int64)
    flat = np.fromiter((i for x in sequences for i in x), dtype=np.int64, count=int(lengths.sum()))
    return tf.RaggedTensor.from_row_lengths(flat, lengths)


def _dense(t):
    return t.to_tensor() if isinstance(t, tf.RaggedTensor) else t


def element_length(*element):
    """The longest sequence in an element (tensors, or a dict of them, as tf.data passes them).

    Scalars and higher-rank tensors (labels, images) are ignored.
    """
    lengths = [tf.shape(t)[0] for t in tf.nest.flatten(element) if t.shape.rank == 1]
    return tf.reduce_max(tf.stack(lengths))


def bucketed_batches(dataset, batch_size, boundaries=DEFAULT_BOUNDARIES, shuffle_buffer=None, seed=0,
                     cache=True, drop_remainder=False, padding_values=None, length=element_length):
    """Caches, shuffles, length-buckets, batches and prefetches `dataset`.

    Args:
        dataset: tf.data.Dataset whose elements are 1-D int tensors or tuples / dicts of them
            (or, with `length`, any tensors padded along their first dimension).
        batch_size: int, examples per batch (every bucket uses the same size).
        boundaries: increasing ints, the bucket length limits; longer examples go in a last bucket.
        shuffle_buffer: int or None, shuffle before bucketing (training); None keeps the order.
        seed: int, the shuffle seed, so a run can be repeated.
        cache: bool or str, cache the elements in memory (True) or in this file prefix (str).
        drop_remainder: bool, drop each bucket's last incomplete batch (fixed shapes).
        padding_values: None (0 everywhere), or the padding value of each component of an
            element, in its structure (e.g. (0.0, -1.0): inputs padded with 0, targets with -1).
        length: function of an element's components -> its length for bucketing; by default
            `element_length`, the longest 1-D sequence (e.g. `lambda x, y: tf.shape(x)[0]` for
            (T, K) frames).

    Returns:
        tf.data.Dataset of padded batches, (B, T, ...) per component, T the longest in the batch.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    boundaries = list(boundaries)
    if not boundaries or boundaries != sorted(set(boundaries)) or boundaries[0] < 1:
        raise ValueError(f"boundaries must be strictly increasing positive integers; got {boundaries!r}")
    if cache:
        # Cache before shuffling so each epoch reshuffles the cached elements.
        dataset = dataset.cache(cache if isinstance(cache, str) else "")
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.bucket_by_sequence_length(
        length, bucket_boundaries=boundaries, bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=padding_values, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)
