"""``courseware xapi export``: argparse only, until the command runs (a bad setting or store is
an ``XAPIError``, which ``courseware``'s main reports as one message)."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import Any


def _since(text: str) -> float:
    """``2026-09-01``, ``2026-09-01T09:00`` (UTC unless an offset is given) or seconds since 1970."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (2026-09-01 or 2026-09-01T09:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def _export(args: argparse.Namespace) -> int:
    from . import XAPISettings, export_statements

    settings = XAPISettings.from_environment(
        activity_base=args.activity_base,
        home_page=args.home_page,
        send_text=True if args.send_text else None,
    )
    count = export_statements(args.out, settings=settings, store=args.store, since=args.since)
    print(f"wrote {count} statement{'s' if count != 1 else ''} to {args.out}")
    return 0


def add_xapi_commands(sub: Any) -> None:
    """Add ``xapi export`` to the ``courseware`` command's sub-parsers."""
    xapi = sub.add_parser("xapi", help="learning records as xAPI statements (docs/xapi.md)")
    commands = xapi.add_subparsers(dest="xapi_command", required=True)
    export = commands.add_parser(
        "export", help="write the store's events as xAPI 1.0.3 statements to a JSON file"
    )
    export.add_argument("-o", "--out", type=Path, default=Path("statements.json"))
    export.add_argument(
        "--since", type=_since, help="only events from this time on (2026-09-01 or ISO time, UTC)"
    )
    export.add_argument("--store", help="the store's path or URL (default: the usual store)")
    export.add_argument(
        "--activity-base", help="IRI of the activities (default: $COURSEWARE_XAPI_ACTIVITY_BASE)"
    )
    export.add_argument(
        "--home-page", help="homePage of learners' accounts (default: the activity IRI's site)"
    )
    export.add_argument(
        "--send-text",
        action="store_true",
        help="include what learners wrote (default: $COURSEWARE_XAPI_SEND_TEXT, else never)",
    )
    export.set_defaults(func=_export)
