"""The ``courseware`` command: each sub-command is one call into the Python API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ._paths import curriculum_root, default_check_paths


def _check(args: argparse.Namespace) -> int:
    from .content import check_paths

    paths = [_course_folder_alias(p) for p in args.paths] or default_check_paths()
    found = check_paths(paths, fix=args.fix, warnings=True)
    for problem in found:
        print(problem)
    count = sum(1 for p in found if not p.warning)
    warned = len(found) - count
    print(
        f"{count} problem{'s' if count != 1 else ''} and {warned} warning"
        f"{'s' if warned != 1 else ''} in {', '.join(map(str, paths))}"
        f"{' (--strict: warnings fail)' if args.strict and warned else ''}",
        file=sys.stderr,
    )
    _print_spread(paths)
    return 1 if count or (args.strict and warned) else 0


def _print_spread(paths: Sequence[Path]) -> None:
    """After a check of a whole ``modules/`` folder: its people's ages and its cases' settings."""
    from .content._spread import curriculum_spread

    for path in paths:
        if path.is_dir() and path.resolve().name == "modules":
            print(f"Curriculum spread in {path}:", file=sys.stderr)
            for line in curriculum_spread(path).summary():
                print(f"  {line}", file=sys.stderr)


def _new_module(args: argparse.Namespace) -> int:
    from .content import check_paths
    from .content._scaffold import ScaffoldError, new_module

    root = args.root or curriculum_root() / "modules"
    try:
        written = new_module(root, args.target, title=args.title)
    except ScaffoldError as exc:
        print(exc, file=sys.stderr)
        return 1
    for path in written:
        print(path)
    problems = [p for p in check_paths([written[0].parent]) if not p.warning]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"made {written[0].parent}: edit its files, then run courseware check", file=sys.stderr)
    return 1 if problems else 0


def _course_folder_alias(path: Path) -> Path:
    """``assignments`` typed inside a course folder (a copy of ``assignments/``, as
    docs/grading.md has the tutor work in) means that folder, when no ``assignments`` is there."""
    if path == Path("assignments") and not path.exists():
        here = Path.cwd()
        if (here / "nbgrader_config.py").is_file() and (here / "source").is_dir():
            return Path(".")
    return path


def _apps_call(call: Callable[[], None]) -> int:
    """Run a server until interrupted; a bad config or unknown module is one message, exit 1."""
    from .apps import AppsError

    try:
        call()
    except AppsError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .apps import serve

    root = args.root or curriculum_root() / "modules"
    return _apps_call(
        lambda: serve(
            root,
            config=args.config,
            port=args.port,
            ip=args.ip,
            open_browser=args.open_browser,
            preheat=args.preheat,
            max_kernels=args.max_kernels,
            warm_kernels=args.warm,
            hot_modules=args.hot,
            extra_args=args.voila_args,
            base_url=args.base_url,
        )
    )


def _link(args: argparse.Namespace) -> int:
    from .apps import AppsError, module_links

    try:
        links = module_links(
            args.target, hub=args.hub, repository=args.repo, branch=args.branch, root=args.root
        )
    except AppsError as exc:
        print(exc, file=sys.stderr)
        return 1
    part = ""
    for number, link in enumerate(links, 1):
        if link.part and link.part != part:
            part = link.part
            print(f"[{part}]", file=sys.stderr)
        print(link.url)
        if len(links) > 1:
            print(f"{number}. {link.title}", file=sys.stderr)
    return 0


def _seminar(args: argparse.Namespace) -> int:
    from .apps import run_seminar

    root = args.root or curriculum_root() / "modules"
    return _apps_call(
        lambda: run_seminar(
            args.module,
            root=root,
            config=args.config,
            port=args.port,
            ip=args.ip,
            public_url=args.public_url,
            min_group=args.min_group,
            open_browser=args.open_browser,
            new_session=args.new_session,
        )
    )


def _report(args: argparse.Namespace) -> int:
    from .analytics import DataError, write_report
    from .content import ContentError

    try:
        evaluation = write_report(
            args.out,
            args.config,
            surveys=[tuple(pair) for pair in args.survey],
            store=args.store,
            roster=args.roster,
            levels=args.levels,
            keys=args.key,
            min_group=args.min_group,
            title=args.title,
            strict=args.strict,
            json=args.json,
            csv=args.csv,
            summary=args.summary,
        )
    except (ContentError, DataError) as exc:
        print(exc, file=sys.stderr)
        return 1
    for problem in evaluation.problems:
        print(problem, file=sys.stderr)
    count = len(evaluation.problems)
    print(f"wrote {args.out} ({count} data problem{'s' if count != 1 else ''}, listed in it)")
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
    check.add_argument(
        "--fix",
        action="store_true",
        help="first give module notebooks their 'open as an app' link and hide their code",
    )
    check.add_argument(
        "--strict",
        action="store_true",
        help="fail on warnings too (cases that quiz rather than teach: the best option always in "
        "one place, the longest option correct, untagged choices, no expert path, a heading "
        "naming the technique)",
    )
    check.set_defaults(func=_check)

    new = sub.add_parser("new", help="make a new piece of content from a working example")
    kinds = new.add_subparsers(dest="kind", required=True)
    module = kinds.add_parser(
        "module",
        help="make modules/STREAM/ID/ with module.yaml, one case, facilitator notes and the "
        "notebook, ready for courseware check (an existing folder is never overwritten)",
    )
    module.add_argument("target", metavar="STREAM/ID", help="e.g. postgraduate/telephone-calls")
    module.add_argument("--title", help="the module's title (default: from its id)")
    module.add_argument("--root", type=Path, help="folder of modules (default: modules/)")
    module.set_defaults(func=_new_module)

    serve = sub.add_parser("serve", help="serve the module gallery and modules with Voila")
    serve.add_argument("root", nargs="?", type=Path, help="folder of modules (default: modules/)")
    serve.add_argument("--port", type=int, default=8866, help="port to listen on (default 8866)")
    serve.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--open-browser", action="store_true", help="open a browser tab")
    serve.add_argument("--config", type=Path, help="branding and limits (default: courseware.yaml)")
    serve.add_argument(
        "--preheat", action="append", default=[], metavar="MODULE_ID", help="keep kernels warm"
    )
    serve.add_argument("--max-kernels", type=int, help="live learner kernels at most")
    serve.add_argument(
        "--warm",
        type=int,
        metavar="N",
        help="kernels kept ready for any module's next page view (default 2; 0 for none)",
    )
    serve.add_argument(
        "--hot",
        type=int,
        metavar="N",
        help="recently viewed modules that keep a preheated kernel each (default 2; 0 for none)",
    )
    serve.add_argument(
        "--base-url", default="/", help="path every page is served under (behind a proxy)"
    )
    serve.set_defaults(func=_serve)

    link = sub.add_parser(
        "link", help="print learners' hub links (nbgitpuller) for a module, or each of a course's"
    )
    link.add_argument("target", metavar="MODULE|COURSE", help="module id or folder, or course id")
    link.add_argument("--hub", help="the hub's address (default: hub.url in courseware.yaml)")
    link.add_argument("--repo", help="git URL of the course repository (default: hub.repository)")
    link.add_argument("--branch", help="branch to pull (default: hub.branch, else the default)")
    link.add_argument(
        "--root", type=Path, help="the course repository's folder (default: this checkout)"
    )
    link.set_defaults(func=_link)

    seminar = sub.add_parser(
        "seminar", help="present a module: presenter view, join link and QR code, live polls"
    )
    seminar.add_argument("module", help="module id or folder")
    seminar.add_argument("--root", type=Path, help="folder of modules (default: modules/)")
    seminar.add_argument("--port", type=int, default=8866, help="port to listen on (default 8866)")
    seminar.add_argument(
        "--ip", default="127.0.0.1", help="address to listen on (0.0.0.0 for the room's devices)"
    )
    seminar.add_argument("--public-url", help="the address learners' devices use, for the QR code")
    seminar.add_argument("--min-group", type=int, help="answers before a breakdown (default 5)")
    seminar.add_argument(
        "--config", type=Path, help="branding and limits (default: courseware.yaml)"
    )
    seminar.add_argument("--open-browser", action="store_true", help="open the presenter view")
    seminar.add_argument(
        "--new-session",
        action="store_true",
        help="start a new session (default: carry on this module's last one, kept in the store)",
    )
    seminar.set_defaults(func=_seminar)

    report = sub.add_parser(
        "report", help="score survey and store responses; write the evaluation report (HTML)"
    )
    report.add_argument("config", nargs="?", type=Path, help="evaluation file (YAML), optional")
    report.add_argument("-o", "--out", type=Path, default=Path("evaluation-report.html"))
    report.add_argument(
        "--survey",
        nargs=2,
        action="append",
        default=[],
        metavar=("EXPORT_CSV", "MAPPING_YAML"),
        help="a survey export and its column mapping (repeatable)",
    )
    report.add_argument("--store", help="read questionnaire answers from this store (path or URL)")
    report.add_argument("--roster", help="CSV of learner, stream, stage, year")
    report.add_argument("--levels", help="CSV of learner, REFLECT level (from marking)")
    report.add_argument("--key", action="append", default=[], help="institution scoring key file")
    report.add_argument("--min-group", type=int, help="smallest group shown (default 5)")
    report.add_argument("--title", help="report title")
    report.add_argument(
        "--strict", action="store_true", help="write nothing and exit 1 if any data problem"
    )
    report.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    report.add_argument("--csv", type=Path, help="also write every table as CSV into this folder")
    report.add_argument("--summary", type=Path, help="also write the one-page summary (HTML)")
    report.set_defaults(func=_report)

    from .grading import add_grade_commands  # light: only argparse until a command runs

    add_grade_commands(sub)
    from ._hubcli import add_hub_commands

    add_hub_commands(sub)
    from .feedback._cli import add_feedback_commands  # light too: numpy loads when one runs

    add_feedback_commands(sub)
    from .xapi import add_xapi_commands  # stdlib only

    add_xapi_commands(sub)
    from .lti._cli import add_lti_commands  # light: pylti1p3 loads when a command runs

    add_lti_commands(sub)
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
