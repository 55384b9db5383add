"""What the apps' output files and the data downloads share, below both packages."""

import os


def default_file_mode():
    """The mode `open` gives a new file: 0o666 less the process's umask. A file made under a
    temporary name (`mkstemp`, `NamedTemporaryFile`: 0600) gets it before it is renamed into place."""
    mask = os.umask(0)  # reading the umask means setting it: put it back at once
    os.umask(mask)
    return 0o666 & ~mask
