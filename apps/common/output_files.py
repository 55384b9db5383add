"""Every file an app writes for the user (a plot, a MIDI or WAV file, a CSV) goes through `write_file`.

The content is written to a temporary name beside the target and renamed into place, so a failed
write (a full disk, a path the argument check could not foresee, such as /proc/x.png as root)
leaves no half file. The failure is an `OutputFileError`: one line naming the path and the reason,
which `apps.common.cli.run` prints after the results already printed, with exit status 1 (some of
the work is done and shown; `EXIT_PARTIAL`).

Example:
    >>> write_file("out.csv", lambda tmp: Path(tmp).write_text("a,b\\n"))      # doctest: +SKIP
"""

import os
import tempfile

from apps.common.cli import OutputFileError
from runtime.files import default_file_mode

_rename = os.replace  # tests replace it to inject a failure at the last step


def write_file(path, write):
    """Calls `write(temporary_path)` and renames the result to `path`.

    Args:
        path: str, the file to write. Its extension is kept on the temporary name, so a writer
            that picks the format from it (matplotlib's `savefig`) sees the same one.
        write: callable(str) that writes the whole content to the path it is given.

    Raises:
        OutputFileError: naming `path` and the operating system's reason; nothing is left behind.
    """
    directory, name = os.path.split(os.fspath(path))
    temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(dir=directory or os.curdir, prefix=f".{name}.",
                                                 suffix=os.path.splitext(name)[1])
        os.close(descriptor)
        write(temporary)
        os.chmod(temporary, default_file_mode())  # mkstemp makes 0600
        _rename(temporary, path)
        temporary = None
    except OSError as error:
        raise OutputFileError(f"cannot write {path}: {error.strerror or error}") from None
    finally:  # whatever went wrong, no half file is left beside the target
        if temporary is not None and os.path.lexists(temporary):
            os.unlink(temporary)


def save_figure(figure, path, **savefig_options):
    """`figure.savefig(path, **savefig_options)` through `write_file`."""
    write_file(path, lambda temporary: figure.savefig(temporary, **savefig_options))


def numbered_path(path, index, count):
    """`path` for a single output (`count` 1), else "STEM-<index + 1>.EXT": one file per input.

    `count` None numbers the file whatever the number of outputs (a sample whose size may be 1).
    """
    if count == 1:
        return path
    stem, suffix = os.path.splitext(path)
    return f"{stem}-{index + 1}{suffix}"
