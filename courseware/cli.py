"""The ``courseware`` command: each sub-command is one call into the Python API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ._paths import curriculum_root, default_check_paths


def _check(args: argparse.Namespace) -> int:
    from .content import check_paths

    paths = args.paths or default_check_paths()
    problems = check_paths(paths)
    for problem in problems:
        print(problem)
    count = len(problems)
    print(
        f"{count} problem{'s' if count != 1 else ''} in {', '.join(map(str, paths))}",
        file=sys.stderr,
    )
    return 1 if problems else 0


def _serve(args: argparse.Namespace) -> int:
    from .apps import serve

    root = args.root or curriculum_root() / "modules"
    serve(
        root, port=args.port, ip=args.ip, open_browser=args.open_browser, extra_args=args.voila_args
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="courseware", description="Clinical-empathy courseware for Jupyter."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser(
        "check", help="validate content files and notebooks; print FILE:LINE: message per problem"
    )
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="files or folders (default: the repository's modules/ and assignments/)",
    )
    check.set_defaults(func=_check)

    serve = sub.add_parser("serve", help="serve the module gallery and modules with Voila")
    serve.add_argument("root", nargs="?", type=Path, help="folder of modules (default: modules/)")
    serve.add_argument("--port", type=int, default=8866, help="port to listen on (default 8866)")
    serve.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--open-browser", action="store_true", help="open a browser tab")
    serve.set_defaults(func=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a sub-command; for ``serve``, arguments after ``--`` go to Voila unchanged."""
    words = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in words:
        cut = words.index("--")
        words, extra = words[:cut], words[cut + 1 :]
    args = build_parser().parse_args(words)
    args.voila_args = extra
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
