"""Command-line plumbing shared by every app: errors as one line, exit codes, progress.

An app's `__main__` builds an argparse parser with one sub-command per verb and calls
`run(main, argv)`. User errors (`UserError`, and the data loaders' `DataError`) print one line
`error: ...` on stderr and exit with status 2; an output file that cannot be written
(`apps.common.output_files`) prints one such line after the results, with status 1; Ctrl-C
exits with 130; nothing else is caught,
so a bug still shows its traceback. Output paths are checked by their argparse `type=`
(`output_file`, `output_directory`), so a bad one stops the command before any work.
"""

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

import apps
import runtime

EXIT_PARTIAL = 1  # some inputs or outputs failed, the others were processed and printed
EXIT_USER_ERROR = 2  # a usage error, or nothing could be processed
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """Bad input from the user: a wrong argument, an unreadable file, a missing model."""


class OutputFileError(UserError):
    """An output file could not be written; the results that do not depend on it were printed.

    Raised by `apps.common.output_files.write_file`; `run` prints it after the results, exit status 1.
    """


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are `UserError`s: one `error:` line, exit status 2."""

    def error(self, message):
        raise UserError(message)


def print_json(data, ensure_ascii=False):
    """Prints `data` as JSON indented by 2, what a command's --json prints (text as it is, not escaped).

    `eval --json` keeps `ensure_ascii=True`, as it always printed.
    """
    print(json.dumps(data, ensure_ascii=ensure_ascii, indent=2))


def positive_int(text):
    """argparse `type=` for counts: sizes, epochs, beams."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def output_file(text):
    """argparse `type=` for a file the command will write: its directory must exist and be writable.

    Returns the path as given. Raises `argparse.ArgumentTypeError` naming the path and the problem.
    """
    if not text:
        raise argparse.ArgumentTypeError("expected a file path, got ''")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a directory, not a file")
    if os.path.lexists(text) and not os.access(text, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text} exists and is not writable")
    parent = os.path.dirname(text) or os.curdir
    if not os.path.isdir(parent):
        what = "is not a directory" if os.path.lexists(parent) else "does not exist"
        raise argparse.ArgumentTypeError(f"cannot write {text}: {parent} {what}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: {parent} is not writable")
    return text


def checked_output_file(path, option):
    """`output_file` for a path known only after parsing: a bad one is a UserError naming `option`."""
    try:
        return output_file(path)
    except argparse.ArgumentTypeError as error:
        raise UserError(f"{option}: {error}") from None


def output_directory(text):
    """argparse `type=` for a directory the command will write into, creating it if need be.

    An existing path must be a writable directory; for a new one, its nearest existing ancestor
    must be a writable directory. Returns the path as given. Raises
    `argparse.ArgumentTypeError` naming the path and the problem.
    """
    if not text:
        raise argparse.ArgumentTypeError("expected a directory path, got ''")
    if os.path.lexists(text):
        if not os.path.isdir(text):
            raise argparse.ArgumentTypeError(f"{text} exists and is not a directory")
        if not os.access(text, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"{text} is not writable")
        return text
    ancestor = os.path.dirname(os.path.abspath(text))
    while not os.path.lexists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise argparse.ArgumentTypeError(f"cannot create {text}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot create {text}: {ancestor} is not writable")
    return text


def datasets_package_problem():
    """None if `import datasets` finds this project's package, else the one-line reason it does not.

    Our `datasets` package shares its name with Hugging Face's. The editable install resolves our
    packages after `sys.path`, so a `datasets` in the working directory or on PYTHONPATH (even a
    plain folder of data, a namespace package) wins, and the first import from it would fail
    with a confusing traceback. Looks the package up without importing it.
    """
    expected = Path(apps.__file__).resolve().parents[1] / "datasets"
    module = sys.modules.get("datasets")
    if module is not None:
        origin, locations = getattr(module, "__file__", None), list(getattr(module, "__path__", []))
    else:
        spec = importlib.util.find_spec("datasets")
        if spec is None:
            return f"the package 'datasets' cannot be found (expected {expected}): reinstall the project"
        origin = spec.origin if spec.has_location else None
        locations = list(spec.submodule_search_locations or [])
    found = origin or (locations[0] if locations else None)  # a namespace package has no origin
    if found is not None and Path(found).resolve() == expected / "__init__.py":
        return None
    return (
        f"the package 'datasets' found at {found} is not this project's (expected {expected}): "
        "run from the project directory, or uninstall or move the other package"
    )


def asks_for_help(argv):
    """True when argparse will print a help text and exit: no model, no TensorFlow needed."""
    return any(arg in ("-h", "--help") for arg in argv[: argv.index("--") if "--" in argv else None])


def run(main, argv=None):
    """Calls `main(argv)` and turns user errors into one line on stderr and exit status 2.

    For command-line use only: it also filters TensorFlow's C++ log lines out of stderr. Before
    anything imports `datasets`, it checks that the name resolves to this project's package.
    """
    problem = datasets_package_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USER_ERROR
    argv = sys.argv[1:] if argv is None else argv
    runtime.quiet_tensorflow(import_now=not asks_for_help(argv))
    from datasets.errors import DataError

    try:
        status = main(argv)
    except OutputFileError as error:  # after the results it does not need were printed
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PARTIAL
    except (UserError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return status or 0

