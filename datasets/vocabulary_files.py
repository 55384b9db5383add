"""Vocabulary files: one token per line, UTF-8, id = line number. Plain Python, no TensorFlow,
so the portable trainer can read them on a machine that has only JAX.

A character vocabulary holds the newline itself, so three characters are escaped: a newline is
written `\\n` (backslash, n), a carriage return `\\r` and a backslash `\\\\`. A file written before
escaping (which refused newlines) reads back the same, a lone backslash token included; only a
token that was a backslash followed by "n", "r" or a backslash would change.
"""

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {"\\\\": "\\", "\\n": "\n", "\\r": "\r"}


def save_vocabulary(vocabulary, path):
    """Writes a vocabulary, one token per line, UTF-8 (newlines and backslashes escaped).

    Args:
        vocabulary: list of str, or a TextVectorization / StringLookup layer.
        path: path-like, the file to write.
    """
    if hasattr(vocabulary, "get_vocabulary"):
        vocabulary = vocabulary.get_vocabulary()
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(_escape(token) + "\n" for token in vocabulary))


def load_vocabulary(path):
    """Reads a file written by `save_vocabulary`; returns the list of tokens (padding "" first)."""
    with open(path, encoding="utf-8") as f:
        return [_unescape(line) for line in f.read().split("\n")[:-1]]


def _escape(token):
    return "".join(_ESCAPES.get(character, character) for character in token)


def _unescape(line):
    if "\\" not in line:
        return line
    out, index = [], 0
    while index < len(line):
        pair = line[index : index + 2]
        if pair in _UNESCAPES:
            out.append(_UNESCAPES[pair])
            index += 2
        else:
            out.append(line[index])
            index += 1
    return "".join(out)
