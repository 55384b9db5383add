"""`python -m apps.explore`: serve the explorer's page (see apps/explore/__init__.py)."""

import sys

from apps.common import cli
from apps.common.cli import ArgumentParser, UserError
from apps.explore.models import TASKS

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def build_parser():
    import argparse

    parser = ArgumentParser(prog="python -m apps.explore", description=sys.modules["apps.explore"].__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default 127.0.0.1: this machine only). Another address "
                             "lets other machines use the models: the page has no login")
    parser.add_argument("--port", type=port_number, default=0, help="the port (default: a free one, printed)")
    parser.add_argument("--model-dir", action="append", default=[], metavar="APP=DIR",
                        help=f"serve this model directory for APP ({', '.join(TASKS)}) instead of its shipped "
                             "models; repeat for several apps")
    return parser


def port_number(text):
    from apps.common.runner import bounded

    return bounded(int, "a port number in 0..65535", lambda n: 0 <= n <= 65535)(text)


def model_dirs(values):
    """["APP=DIR", ...] -> {app: DIR}, each checked to be a model directory now, not at the first request."""
    import os

    from apps.explore.models import make_task

    chosen = {}
    for value in values:
        app, _, path = value.partition("=")
        if app not in TASKS or not path:
            raise UserError(f"--model-dir: expected APP=DIR with APP one of {', '.join(TASKS)}, got {value!r}")
        if app in chosen:
            raise UserError(f"--model-dir: {app} is given twice")
        make_task(app).directory(os.path.abspath(path)).check()
        chosen[app] = path
    return chosen


def main(argv):
    args = build_parser().parse_args(argv)
    directories = model_dirs(args.model_dir)
    from apps.explore.models import Models
    from apps.explore.server import create_app, make_server

    if args.host not in LOCAL_HOSTS:
        print(f"warning: listening on {args.host}: any machine that reaches it can use the models (the page has "
              "no login); leave out --host to serve this machine only", file=sys.stderr)
    try:
        server = make_server(create_app(Models(directories)), args.host, args.port)
    except OSError as error:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"explore: http://{host}:{server.server_port}/  (Ctrl-C stops it; models load on first use)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
