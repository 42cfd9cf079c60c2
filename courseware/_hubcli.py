"""``courseware hub init|start|stop``: thin commands over :func:`courseware.hub.init_hub`,
:func:`~courseware.hub.start_hub` and :func:`~courseware.hub.stop_hub`.

Kept apart from the hub package so building the parser imports only argparse (the hub package
imports JupyterHub and tornado).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .hub import HubLayout

__all__ = ["add_hub_commands"]


def _layout(args: argparse.Namespace) -> HubLayout:
    from .hub import HubLayout

    layout = HubLayout.from_prefix(args.prefix)
    if getattr(args, "exchange", None) or getattr(args, "courses_dir", None):
        layout = HubLayout(layout.prefix, exchange=args.exchange, courses=args.courses_dir)
    return layout


def _report(command: str, work: Callable[[], str]) -> int:
    """Print what ``work`` did, or the step that failed as one line (exit status 1)."""
    from .hub import HubInitError

    try:
        message = work()
    except HubInitError as e:
        print(f"courseware hub {command}: {e}", file=sys.stderr)
        return 1
    print(message)
    return 0


def _init(args: argparse.Namespace) -> int:
    from .hub import init_hub, parse_modules_option

    return _report(
        "init",
        lambda: init_hub(
            admin=args.admin,
            users=args.users,
            allow_groups=args.allow_group,
            courses=args.course or ["clinical-empathy"],
            course_modules=parse_modules_option(args.modules),
            curriculum=args.curriculum,
            layout=_layout(args),
            ip=args.ip,
            port=args.port,
            hub_port=args.hub_port,
            proxy_api_port=args.proxy_api_port,
            service_port=args.service_port,
            pg_cluster=args.pg_cluster,
            external_database=args.database_url,
            proxy=args.proxy,
        ).summary(),
    )


def _start(args: argparse.Namespace) -> int:
    from .hub import start_hub

    return _report(
        "start",
        lambda: (
            f"The hub is running at {start_hub(_layout(args))} (stop it with `courseware hub stop`)."
        ),
    )


def _stop(args: argparse.Namespace) -> int:
    from .hub import stop_hub

    return _report(
        "stop",
        lambda: "The hub has stopped." if stop_hub(_layout(args)) else "The hub was not running.",
    )


def add_hub_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``hub init``, ``hub start`` and ``hub stop`` to the ``courseware`` command."""
    hub = sub.add_parser("hub", help="set up, start and stop a course hub on this machine")
    commands = hub.add_subparsers(dest="hub_command", required=True)
    prefix_help = "put every file under this folder (default: $COURSEWARE_HUB_PREFIX or /)"

    init = commands.add_parser(
        "init",
        help="set up JupyterHub, PostgreSQL and nbgrader on this machine (as root)",
        description=(
            "Set up a course hub on one machine, as root, without sudo or systemd: start and "
            "check the PostgreSQL cluster, create the courseware database (its URL in a root-only "
            "file), nbgrader's exchange and course folders, and write a JupyterHub config with "
            "PAM sign-in for Unix accounts. Safe to run again."
        ),
    )
    init.add_argument("--admin", required=True, help="the hub's admin: a Unix account name")
    init.add_argument(
        "--users", nargs="*", default=[], metavar="NAME", help="Unix accounts allowed to sign in"
    )
    init.add_argument(
        "--allow-group",
        action="append",
        default=[],
        metavar="GROUP",
        help="also allow every member of this Unix group (repeatable)",
    )
    init.add_argument(
        "--course",
        nargs="*",
        metavar="ID",
        help="course ids, each with its own nbgrader course folder (default: clinical-empathy)",
    )
    init.add_argument(
        "--modules",
        action="append",
        default=[],
        metavar="COURSE=MODULE,MODULE",
        help="a course's module ids, so its tutors read only those (repeatable; default: the"
        " modules its courses/COURSE.yaml lists, if there is one)",
    )
    init.add_argument(
        "--curriculum",
        type=Path,
        help="the course repository holding courses/ (default: the working folder, else the"
        " checkout the courseware runs from)",
    )
    init.add_argument(
        "--ip", default="127.0.0.1", help="address the hub listens on (default: 127.0.0.1 only)"
    )
    init.add_argument("--port", type=int, default=8000, help="the hub's port (default 8000)")
    init.add_argument("--hub-port", type=int, help="the hub's internal port (default PORT+81)")
    init.add_argument("--proxy-api-port", type=int, help="the proxy's API port (default PORT+1)")
    init.add_argument(
        "--service-port", type=int, help="the courseware service's port (default PORT+2101)"
    )
    init.add_argument(
        "--pg-cluster",
        metavar="VERSION/NAME",
        help="Debian PostgreSQL cluster to use (default: $PGCLUSTER or the newest, e.g. 15/main)",
    )
    init.add_argument(
        "--database-url", help="use this PostgreSQL database instead of a local cluster"
    )
    init.add_argument("--proxy", help="configurable-http-proxy (default: found on PATH)")
    init.add_argument("--prefix", type=Path, help=prefix_help)
    init.add_argument(
        "--exchange", type=Path, help="nbgrader's exchange (default /srv/nbgrader/exchange)"
    )
    init.add_argument(
        "--courses-dir", type=Path, help="course folders (default /srv/courseware/courses)"
    )
    init.set_defaults(func=_init)

    for name, func, text in (
        ("start", _start, "start the hub in the background and wait until it answers"),
        ("stop", _stop, "stop the hub started with `courseware hub start`"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--prefix", type=Path, help=prefix_help)
        command.set_defaults(func=func)
