"""``courseware serve``, ``seminar`` and ``link``: each one call into the apps API.

``serve`` and ``seminar`` share one definition of their common options (:func:`server_options`),
and every option's default is read from the signature of the function the command calls
(:func:`api_defaults`), so the command line and the API cannot drift apart. Both take the folder of
modules as ``--root`` (``serve`` also as its one positional argument, as it always has), and both
pass whatever follows ``--`` to Voila. Errors are :class:`~courseware.errors.CoursewareError`\\ s,
which the ``courseware`` command shows as one message.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._paths import curriculum_root
from ._launch import build_seminar, run_seminar, serve


def api_defaults(*functions: Callable[..., Any]) -> dict[str, Any]:
    """Each parameter's default, by name, from the functions' signatures (the first one wins)."""
    found: dict[str, Any] = {}
    for function in functions:
        for name, parameter in inspect.signature(function).parameters.items():
            if parameter.default is not inspect.Parameter.empty:
                found.setdefault(name, parameter.default)
    return found


SERVE_DEFAULTS = api_defaults(serve)
SEMINAR_DEFAULTS = api_defaults(run_seminar, build_seminar)


def server_options(defaults: dict[str, Any]) -> argparse.ArgumentParser:
    """The options ``serve`` and ``seminar`` share, with their API function's ``defaults``."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--root", type=Path, help="folder of modules (default: modules/)")
    port, ip = defaults["port"], defaults["ip"]
    options.add_argument(
        "--port", type=int, default=port, help=f"port to listen on (default {port})"
    )
    options.add_argument(
        "--ip",
        default=ip,
        help=f"address to listen on (default {ip}; 0.0.0.0 lets other devices in)",
    )
    options.add_argument(
        "--config",
        type=Path,
        default=defaults["config"],
        help="branding and limits (default: courseware.yaml beside the modules)",
    )
    options.add_argument(
        "--open-browser",
        action="store_true",
        default=defaults["open_browser"],
        help="open a browser tab (for a seminar, the presenter view)",
    )
    options.set_defaults(takes_voila_args=True)
    return options


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root or curriculum_root() / "modules")


def command_options(
    args: argparse.Namespace, functions: tuple[Callable[..., Any], ...], given: tuple[str, ...]
) -> dict[str, Any]:
    """The command line's value (given, or the default) of each parameter of ``functions`` that
    is an option, but for the ``given`` ones."""
    names = {name for f in functions for name in inspect.signature(f).parameters}
    return {name: getattr(args, name) for name in sorted(names - set(given)) if hasattr(args, name)}


def _serve(args: argparse.Namespace) -> int:
    if args.folder is not None and args.root is not None and args.folder != args.root:
        from ._config import AppsError

        raise AppsError(f"give the folder of modules once: {args.folder} or --root {args.root}")
    args.root = args.root or args.folder
    given = ("root", "extra_args")
    serve(_root(args), extra_args=args.voila_args, **command_options(args, (serve,), given))
    return 0


def _seminar(args: argparse.Namespace) -> int:
    given = ("module", "root", "extra_args")
    options = command_options(args, (run_seminar, build_seminar), given)
    run_seminar(args.module, root=_root(args), extra_args=args.voila_args, **options)
    return 0


def _link(args: argparse.Namespace) -> int:
    from ._links import module_links

    links = module_links(
        args.target, hub=args.hub, repository=args.repo, branch=args.branch, root=args.root
    )
    part = ""
    for number, link in enumerate(links, 1):
        if link.part and link.part != part:
            part = link.part
            print(f"[{part}]", file=sys.stderr)
        print(link.url)
        if len(links) > 1:
            print(f"{number}. {link.title}", file=sys.stderr)
    return 0


def add_app_commands(sub: Any) -> None:
    """Add ``serve``, ``link`` and ``seminar`` to the ``courseware`` command's sub-parsers."""
    serving = SERVE_DEFAULTS
    command = sub.add_parser(
        "serve",
        parents=[server_options(serving)],
        help="serve the module gallery and modules with Voila (arguments after -- go to Voila)",
    )
    command.add_argument(
        "folder", nargs="?", type=Path, metavar="ROOT", help="the same as --root ROOT"
    )
    command.add_argument(
        "--preheat",
        action="append",
        default=list(serving["preheat"]),
        metavar="MODULE_ID",
        help="keep kernels warm",
    )
    command.add_argument(
        "--max-kernels",
        type=int,
        default=serving["max_kernels"],
        help="live learner kernels at most",
    )
    command.add_argument(
        "--warm",
        dest="warm_kernels",
        type=int,
        metavar="N",
        default=serving["warm_kernels"],
        help="kernels kept ready for any module's next page view (default 2; 0 for none)",
    )
    command.add_argument(
        "--hot",
        dest="hot_modules",
        type=int,
        metavar="N",
        default=serving["hot_modules"],
        help="recently viewed modules that keep a preheated kernel each (default 2; 0 for none)",
    )
    command.add_argument(
        "--base-url",
        default=serving["base_url"],
        help="path every page is served under (behind a proxy)",
    )
    command.set_defaults(func=_serve)

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

    seminar = SEMINAR_DEFAULTS
    command = sub.add_parser(
        "seminar",
        parents=[server_options(seminar)],
        help="present a module: presenter view, join link and QR code, live polls "
        "(arguments after -- go to Voila)",
    )
    command.add_argument("module", help="module id or folder")
    command.add_argument(
        "--public-url",
        default=seminar["public_url"],
        help="the address learners' devices use, for the QR code",
    )
    command.add_argument(
        "--min-group",
        type=int,
        default=seminar["min_group"],
        help="answers before a breakdown (default 5)",
    )
    command.add_argument(
        "--new-session",
        action="store_true",
        default=seminar["new_session"],
        help="start a new session (default: carry on this module's last one, kept in the store)",
    )
    command.set_defaults(func=_seminar)
