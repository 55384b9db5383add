"""Vocabulary files: one token per line, UTF-8, id = line number. Plain Python, no TensorFlow,
so the portable trainer can read them on a machine that has only JAX."""


def save_vocabulary(vocabulary, path):
    """Writes a vocabulary, one token per line, UTF-8.

    Args:
        vocabulary: list of str, or a TextVectorization / StringLookup layer.
        path: path-like, the file to write.
    """
    if hasattr(vocabulary, "get_vocabulary"):
        vocabulary = vocabulary.get_vocabulary()
    tokens = list(vocabulary)
    for token in tokens:
        if "\n" in token:
            raise ValueError(f"vocabulary tokens must not contain a newline; got {token!r}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(tokens) + "\n")


def load_vocabulary(path):
    """Reads a file written by `save_vocabulary`; returns the list of tokens (padding "" first)."""
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1]
