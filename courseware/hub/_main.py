"""Start the service as the hub runs it: ``python -m courseware.hub`` (or ``courseware hub-service``).

JupyterHub passes where to listen and how to reach the hub in ``JUPYTERHUB_*`` environment
variables; the database URL comes from ``COURSEWARE_DATABASE_URL`` in the service's own
environment (set in the hub config, from a secret in Kubernetes), never from a learner's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import urllib.parse
from collections.abc import Sequence

from jupyterhub.services.auth import HubOAuth
from tornado.httpserver import HTTPServer

from ..store import MAX_REQUEST_BYTES
from ..xapi import forwarder_from_environment
from ._app import RATE_LIMIT_ENV, BatchWriter, FairShare, ServiceState, make_app
from ._config import COURSE_MODULES_ENV, parse_course_modules
from ._db import open_database
from ._hubapi import HubGroups
from ._roles import course_groups

__all__ = ["main", "migrate", "serve"]

log = logging.getLogger("courseware.hub")

DATABASE_ENV = "COURSEWARE_DATABASE_URL"
MIN_GROUP_ENV = "COURSEWARE_MIN_GROUP_SIZE"


async def migrate(database: str) -> int:
    """Bring the database's schema up to date; return its version."""
    db = open_database(database)
    await db.open()
    try:
        return await db.migrate()
    finally:
        await db.close()


async def serve(
    database: str,
    *,
    min_group_size: int = 5,
    url: str | None = None,
    prefix: str | None = None,
    ip: str | None = None,
    group_cache_seconds: float = 60.0,
    course_modules: str | None = None,
    rate_limit: str | None = None,
) -> None:
    """Migrate, then serve until SIGTERM or SIGINT; in-flight writes finish before exit.

    ``url`` and ``prefix`` default to what the hub passes (``JUPYTERHUB_SERVICE_URL`` and
    ``JUPYTERHUB_SERVICE_PREFIX``); ``ip`` to ``$COURSEWARE_SERVICE_IP``, else the URL's host;
    ``course_modules`` to ``$COURSEWARE_COURSE_MODULES`` (``course=module,module …``);
    ``rate_limit`` (each user's share, ``RATE/BURST`` or ``off``) to ``$COURSEWARE_RATE_LIMIT``,
    else :class:`FairShare`'s default.
    """
    if course_modules is None:
        course_modules = os.environ.get(COURSE_MODULES_ENV, "")
    scoped = {
        course_groups(course)["learners"]: modules
        for course, modules in parse_course_modules(course_modules).items()
    }
    if rate_limit is None:
        rate_limit = os.environ.get(RATE_LIMIT_ENV, "").strip()
    fair_share = FairShare.parse(rate_limit) if rate_limit else FairShare()
    url = url or os.environ.get("JUPYTERHUB_SERVICE_URL") or "http://127.0.0.1:10101"
    prefix = prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/services/courseware/"
    where = urllib.parse.urlsplit(url)
    db = open_database(database)
    await db.open()
    version = await db.migrate()
    hub_auth = HubOAuth(cache_max_age=300)
    writer = BatchWriter(db)
    writer.start()
    forwarder = forwarder_from_environment(db)  # xAPI to the LRS, if COURSEWARE_XAPI_LRS is set
    if forwarder is not None:
        forwarder.start()
    state = ServiceState(
        db=db,
        writer=writer,
        groups=HubGroups(hub_auth.api_url, hub_auth.api_token, ttl=group_cache_seconds),
        hub_auth=hub_auth,
        min_group_size=min_group_size,
        schema_version=version,
        course_modules=scoped,
        fair_share=fair_share,
    )
    # The body limit belongs to the HTTP server (tornado ignores it in Application settings);
    # handlers refuse a declared oversize body with 413 before this limit is reached.
    server = HTTPServer(
        make_app(state, prefix),
        xheaders=True,
        max_body_size=MAX_REQUEST_BYTES,
        max_buffer_size=MAX_REQUEST_BYTES + 64 * 1024,
    )
    # On Kubernetes the URL names the hub's Service ("http://hub:10101"), which the pod cannot
    # bind to: COURSEWARE_SERVICE_IP=0.0.0.0 listens on every address instead.
    ip = ip or os.environ.get("COURSEWARE_SERVICE_IP") or where.hostname or "127.0.0.1"
    server.listen(where.port or 80, ip)
    log.info("courseware service on %s%s (schema %d, %s)", url, prefix, version, db.dialect)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("courseware service stopping")
    server.stop()  # no new connections; requests under way finish
    await writer.stop()
    if forwarder is not None:
        await forwarder.stop()
    await asyncio.sleep(0.2)  # let the handlers send their replies
    await server.close_all_connections()
    await db.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="courseware hub-service",
        description="The courseware JupyterHub service (run by the hub as a managed service).",
    )
    parser.add_argument(
        "--database",
        default=os.environ.get(DATABASE_ENV, ""),
        help=f"postgresql://user:password@host/db or sqlite:///path (default: ${DATABASE_ENV})",
    )
    parser.add_argument(
        "--min-group-size",
        type=int,
        default=int(os.environ.get(MIN_GROUP_ENV) or 5),
        help=f"smallest group whose aggregates are reported (default: ${MIN_GROUP_ENV} or 5)",
    )
    parser.add_argument(
        "--migrate-only", action="store_true", help="bring the schema up to date, then exit"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s %(name)s] %(message)s")
    if not args.database:
        parser.error(f"no database: give --database or set {DATABASE_ENV}")
    if args.min_group_size < 1:
        parser.error("--min-group-size must be at least 1")
    if args.migrate_only:
        version = asyncio.run(migrate(args.database))
        print(f"schema version {version}")
        return 0
    asyncio.run(serve(args.database, min_group_size=args.min_group_size))
    return 0
