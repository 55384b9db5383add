"""Command-line plumbing shared by every app: errors as one line, exit codes, progress.

An app's `__main__` builds an argparse parser with one sub-command per verb and calls
`run(main, argv)`. User errors (`UserError`, and the data loaders' `DataError`) print one line
`error: ...` on stderr and exit with status 2; Ctrl-C exits with 130; nothing else is caught,
so a bug still shows its traceback.
"""

import argparse
import sys

import runtime

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """Bad input from the user: a wrong argument, an unreadable file, a missing model."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are `UserError`s: one `error:` line, exit status 2."""

    def error(self, message):
        raise UserError(message)


def positive_int(text):
    """argparse `type=` for counts: sizes, epochs, beams."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def run(main, argv=None):
    """Calls `main(argv)` and turns user errors into one line on stderr and exit status 2.

    For command-line use only: it also filters TensorFlow's C++ log lines out of stderr.
    """
    runtime.quiet_tensorflow()
    from datasets.errors import DataError

    try:
        status = main(sys.argv[1:] if argv is None else argv)
    except (UserError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return status or 0

