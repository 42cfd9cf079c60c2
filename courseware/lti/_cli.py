"""``courseware lti``: thin commands over :mod:`courseware.lti` (see docs/deployment.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_lti_commands"]


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("COURSEWARE_LTI_CONFIG") or "lti.json")


def _run(args: argparse.Namespace) -> int:
    from ..errors import CoursewareError
    from ..grading import GradingError

    try:
        return int(args.handler(args))
    except (CoursewareError, GradingError, ValueError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1


def _keys(args: argparse.Namespace) -> int:
    from ._config import generate_keys

    private, public = generate_keys(args.folder)
    print(f"wrote {private} (keep it secret) and {public} (the VLE reads it from <tool>/jwks)")
    return 0


def _release(args: argparse.Namespace) -> int:
    from ._config import load_tool_config
    from ._ledger import Ledger
    from ._services import release_marks

    config = load_tool_config(_config_path(args))
    with Ledger(config.state) as ledger:
        released, held = release_marks(
            ledger, args.nbgrader, args.course, args.assignment, by=args.by, students=args.student
        )
    print(f"{len(released)} released for the VLE, {len(held)} held back")
    for student, why in sorted(held.items()):
        print(f"  {student}: {why}")
    return 0


def _send(args: argparse.Namespace) -> int:
    from ._config import load_tool_config
    from ._ledger import Ledger
    from ._services import send_marks

    config = load_tool_config(_config_path(args))
    with Ledger(config.state) as ledger:
        report = send_marks(config, ledger, args.nbgrader, args.course, args.assignment, by=args.by)
    print(
        f"{len(report.sent)} sent, {len(report.unchanged)} unchanged, "
        f"{len(report.refused)} held back, {len(report.errors)} refused by the VLE"
        + (f" (line item {report.lineitem})" if report.lineitem else "")
    )
    for student, why in sorted({**report.refused, **report.errors}.items()):
        print(f"  {student}: {why}")
    return 1 if report.errors else 0


def _roster(args: argparse.Namespace) -> int:
    from ._config import load_tool_config
    from ._ledger import Ledger
    from ._services import sync_roster

    config = load_tool_config(_config_path(args))
    with Ledger(config.state) as ledger:
        roster = sync_roster(
            config,
            ledger,
            args.course,
            course_root=args.nbgrader,
            hub_api=args.hub_api,
            hub_token=os.environ.get("JUPYTERHUB_API_TOKEN"),
            names=args.names,
        )
    active = sum(1 for m in roster.members if m.status == "Active")
    print(f"{len(roster.members)} members on the VLE course ({active} active)")
    if args.nbgrader is not None:
        print(f"nbgrader: {len(roster.students_added)} students added")
        if roster.students_gone:
            print(f"  no longer on the VLE course (kept): {', '.join(roster.students_gone)}")
    for group, names in sorted(roster.groups.items()):
        change = ""
        if args.hub_api:
            change = f" (+{len(roster.added.get(group, []))} -{len(roster.removed.get(group, []))})"
        print(f"{group}: {len(names)}{change}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from tornado.ioloop import IOLoop

    from ._config import load_tool_config
    from ._web import make_app

    config = load_tool_config(_config_path(args))
    from urllib.parse import urlparse

    prefix = (
        args.prefix
        or os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
        or urlparse(config.tool_url).path
        or "/"
    )
    app = make_app(config, prefix=prefix)
    app.listen(args.port, args.ip)
    print(f"LTI tool at {config.tool_url} (listening on {args.ip}:{args.port}{prefix})")
    IOLoop.current().start()
    return 0


def add_lti_commands(sub: Any) -> None:
    """Register ``courseware lti`` and its sub-commands."""
    lti = sub.add_parser("lti", help="LTI 1.3 Advantage: marks, roster and links with the VLE")
    commands = lti.add_subparsers(dest="lti_command", required=True)

    def command(name: str, handler: Any, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, help=help)
        parser.set_defaults(func=_run, handler=handler)
        if name != "keys":
            parser.add_argument(
                "--config", type=Path, help="the tool's lti.json (default: $COURSEWARE_LTI_CONFIG)"
            )
        return parser

    p = command("keys", _keys, "make the tool's RSA key pair (private.pem, public.pem)")
    p.add_argument("folder", type=Path, help="where to write the keys")

    for name, handler, help in (
        ("release", _release, "release final marks for the VLE (a tutor's decision)"),
        ("send-marks", _send, "send released final marks to the VLE gradebook (AGS)"),
    ):
        p = command(name, handler, help)
        p.add_argument("assignment", help="the nbgrader assignment")
        p.add_argument("--course", required=True, help="the VLE course (its slug, e.g. mbchb-y3)")
        p.add_argument("--nbgrader", type=Path, default=Path.cwd(), help="nbgrader course folder")
        p.add_argument("--by", required=True, help="who does this (kept in the log)")
        if name == "release":
            p.add_argument("--student", action="append", help="only this student (repeatable)")

    p = command("roster", _roster, "nbgrader roster and hub groups from the VLE course (NRPS)")
    p.add_argument("--course", required=True, help="the VLE course (its slug, e.g. mbchb-y3)")
    p.add_argument("--nbgrader", type=Path, help="nbgrader course folder to add learners to")
    p.add_argument(
        "--hub-api",
        help="the hub's API URL: set the course's groups (token: $JUPYTERHUB_API_TOKEN)",
    )
    p.add_argument("--names", action="store_true", help="also copy names into nbgrader")

    p = command("serve", _serve, "serve the tool: login, launch, deep-link, jwks")
    p.add_argument("--port", type=int, default=8766, help="port (default 8766)")
    p.add_argument("--ip", default="127.0.0.1", help="address (default 127.0.0.1)")
    p.add_argument(
        "--prefix",
        help="URL path of tool_url here (default: the hub's service prefix, else tool_url's path)",
    )
