"""Deterministic, leak-free splits: an example's split is a function of its key alone.

The key groups examples that must stay together (every paraphrase of one Bible verse, every line
of one play, one chorale). Hashing the key with SHA-256 gives the same split on every machine and
Python version (unlike `hash()`, which is salted per process), and never depends on file order.
"""

import hashlib

SPLITS = ("train", "validation", "test")
FRACTIONS = (0.90, 0.05, 0.05)


def check_split(split):
    """Returns `split` if it is one of `SPLITS`, else raises ValueError naming the value."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    return split


def key_fraction(key, salt=""):
    """Maps a key to a number in [0, 1), uniformly and reproducibly.

    Args:
        key: str, the grouping key.
        salt: str, gives an independent draw for another purpose (e.g. sub-sampling).
    """
    digest = hashlib.sha256(f"{salt}{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(key, fractions=FRACTIONS):
    """Returns "train", "validation" or "test" for `key` (about 90 / 5 / 5 by default)."""
    u = key_fraction(key)
    total = 0.0
    for name, fraction in zip(SPLITS, fractions, strict=True):
        total += fraction
        if u < total:
            return name
    return SPLITS[-1]
