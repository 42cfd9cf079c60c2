"""``hub init``'s PostgreSQL: the local cluster started (``pg_ctlcluster``, no systemd), the
courseware role and database with a generated password kept in a root-only file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._layout import HubInitError

DB_NAME = DB_USER = "courseware"


# -- PostgreSQL ---------------------------------------------------------------------------------
def database_url(
    password: str,
    port: int,
    *,
    host: str = "127.0.0.1",
    user: str = DB_USER,
    database: str = DB_NAME,
) -> str:
    """``postgresql://user:password@host:port/database`` with every part URL-quoted.

    A password with ``@``, ``/``, ``:`` or ``%`` cannot break the URL: libpq and psycopg decode it.
    """
    q = urllib.parse.quote
    return f"postgresql://{q(user, safe='')}:{q(password, safe='')}@{host}:{port}/{q(database, safe='')}"


def _run(args: Sequence[str], *, input: str | None = None, what: str) -> str:
    try:
        done = subprocess.run(
            list(args), input=input, capture_output=True, text=True, check=False, timeout=120
        )
    except FileNotFoundError:
        raise HubInitError(f"{what}: {args[0]} was not found") from None
    if done.returncode != 0:
        raise HubInitError(f"{what} failed ({' '.join(args[:3])}…): {done.stderr or done.stdout}")
    return done.stdout


@dataclass(frozen=True)
class _Cluster:
    version: str
    name: str
    port: int
    online: bool

    @property
    def id(self) -> str:
        return f"{self.version}/{self.name}"


def _clusters() -> list[_Cluster]:
    out = _run(["pg_lsclusters", "--no-header"], what="listing PostgreSQL clusters")
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2].isdigit():
            found.append(_Cluster(parts[0], parts[1], int(parts[2]), parts[3].startswith("online")))
    return found


def _ensure_cluster(wanted: str | None) -> _Cluster:
    """The cluster ``wanted`` (``15/main``), ``$PGCLUSTER``, or the newest one; started."""
    if not shutil.which("pg_lsclusters"):
        raise HubInitError(
            "PostgreSQL is not installed: `apt-get install -y postgresql` (or give --database-url)"
        )
    wanted = wanted or os.environ.get("PGCLUSTER")
    clusters = _clusters()
    if wanted:
        chosen = [c for c in clusters if c.id == wanted]
        if not chosen:
            raise HubInitError(
                f"no PostgreSQL cluster {wanted} (pg_lsclusters lists: "
                f"{', '.join(c.id for c in clusters) or 'none'})"
            )
        cluster = chosen[0]
    elif clusters:
        cluster = sorted(clusters, key=lambda c: (int(c.version), c.name == "main"))[-1]
    else:  # the package is installed but made no cluster (e.g. a container image's policy)
        versions = sorted(p.name for p in Path("/usr/lib/postgresql").glob("*") if p.name.isdigit())
        if not versions:
            raise HubInitError(
                "PostgreSQL's server is not installed: apt-get install -y postgresql"
            )
        _run(["pg_createcluster", versions[-1], "main"], what="creating a PostgreSQL cluster")
        cluster = next(c for c in _clusters() if c.id == f"{versions[-1]}/main")
    if not cluster.online:
        # pg_ctlcluster runs the server as the cluster's owner; it needs neither sudo nor systemd.
        _run(["pg_ctlcluster", cluster.version, cluster.name, "start"], what="starting PostgreSQL")
    deadline = time.monotonic() + 60
    while True:
        try:
            _psql(cluster, "SELECT 1;")
            break
        except HubInitError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return _Cluster(cluster.version, cluster.name, cluster.port, True)


def _psql(cluster: _Cluster, script: str) -> str:
    """Run SQL as the ``postgres`` superuser over the cluster's socket (peer authentication)."""
    return _run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            "psql",
            "--cluster",
            cluster.id,
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            "postgres",
            "-f",
            "-",
        ],
        input=script,
        what=f"PostgreSQL {cluster.id}",
    )


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ensure_database(cluster: _Cluster, password: str) -> None:
    """The ``courseware`` role (login, this password) and its own database; safe to repeat."""
    _psql(
        cluster,
        f"SELECT 'CREATE ROLE {DB_USER} LOGIN' WHERE NOT EXISTS "
        f"(SELECT FROM pg_roles WHERE rolname = '{DB_USER}')\\gexec\n"
        f"ALTER ROLE {DB_USER} LOGIN PASSWORD {_sql_literal(password)};\n"
        f"SELECT 'CREATE DATABASE {DB_NAME} OWNER {DB_USER}' WHERE NOT EXISTS "
        f"(SELECT FROM pg_database WHERE datname = '{DB_NAME}')\\gexec\n",
    )


def _write_private(path: Path, text: str) -> None:
    """Write ``path`` as 0600 from the start (never briefly readable), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, path)


def _stored_password(url_file: Path) -> str | None:
    if not url_file.exists():
        return None
    url = urllib.parse.urlsplit(url_file.read_text(encoding="utf-8").strip())
    return urllib.parse.unquote(url.password) if url.password else None


def _check_database(url: str) -> int:
    """Connect as the service will, and bring the schema up to date; return its version."""
    import asyncio

    from ._main import migrate

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the usual case: no event loop in this thread
            return asyncio.run(migrate(url))
        # called from code that runs an event loop (a notebook, a test): use a thread of its own
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(lambda: asyncio.run(migrate(url))).result()
    except Exception as e:
        raise HubInitError(
            f"the courseware database does not answer ({type(e).__name__}: {e})"
        ) from e
