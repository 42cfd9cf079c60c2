"""``courseware hub init``: a working course hub on one Debian machine, as root, without sudo or systemd.

One call sets up what docs/deployment.md's single-machine path needs and writes the hub's config:
the PostgreSQL cluster started and checked (``pg_ctlcluster``, which needs no systemd), the
courseware role and database with a generated password kept in a root-only file, nbgrader's
exchange, one course folder per course (from the packaged ``assignments/`` template), the hub-wide
nbgrader config, and a ``jupyterhub_config.py`` with an allow list, an admin, PAM sign-in with
Unix accounts (JupyterHub's default authenticator and ``LocalProcessSpawner``) and loopback by
default. Everything it needs ships in the package (:func:`deploy_file`), so ``pip install`` is
the deployer's only copy. Run again with the same options, it gives the same result and keeps the
password. :func:`start_hub` and :func:`stop_hub` run the hub in the background (no systemd).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._paths import curriculum_root

__all__ = [
    "HubInitError",
    "HubLayout",
    "check_learners_can_run",
    "course_modules_for",
    "database_url",
    "deploy_file",
    "init_hub",
    "parse_modules_option",
    "start_hub",
    "stop_hub",
]

PREFIX_ENV = "COURSEWARE_HUB_PREFIX"
DB_NAME = DB_USER = "courseware"
_PACKAGED = Path(__file__).resolve().parent.parent / "_deploy"
_CHECKOUT = Path(__file__).resolve().parent.parent.parent


class HubInitError(RuntimeError):
    """A step of ``hub init`` (or start/stop) cannot be done; the message says what to do."""


def deploy_file(name: str) -> Path:
    """A file the deployment needs: ``jupyterhub_config.py``, ``nbgrader_config.py`` or ``assignments``.

    An installed package carries them as package data (``courseware/_deploy/``); a source checkout
    (an editable install) has them in ``deploy/`` and ``assignments/``.
    """
    packaged = _PACKAGED / name
    if packaged.exists():
        return packaged
    checkout = _CHECKOUT / ("assignments" if name == "assignments" else f"deploy/{name}")
    if checkout.exists():
        return checkout
    raise HubInitError(f"{name} is missing from the installed courseware ({packaged})")


@dataclass(frozen=True)
class HubLayout:
    """Where ``hub init`` puts things, all under ``prefix`` (``/`` on a real hub)."""

    prefix: Path = Path("/")
    exchange: Path | None = None
    courses: Path | None = None

    @property
    def config_dir(self) -> Path:
        return self.prefix / "etc" / "courseware"

    @property
    def jupyter_config_dir(self) -> Path:
        """Holds the hub-wide ``nbgrader_config.py`` (``/etc/jupyter`` is on Jupyter's path)."""
        return self.prefix / "etc" / "jupyter"

    @property
    def state_dir(self) -> Path:
        return self.prefix / "var" / "lib" / "courseware"

    @property
    def log_dir(self) -> Path:
        return self.prefix / "var" / "log" / "courseware"

    @property
    def exchange_dir(self) -> Path:
        return self.exchange or self.prefix / "srv" / "nbgrader" / "exchange"

    @property
    def courses_dir(self) -> Path:
        return self.courses or self.prefix / "srv" / "courseware" / "courses"

    @property
    def hub_config(self) -> Path:
        return self.config_dir / "jupyterhub_config.py"

    @property
    def database_url_file(self) -> Path:
        return self.config_dir / "database-url"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "hub.json"

    @classmethod
    def from_prefix(cls, prefix: str | Path | None) -> HubLayout:
        """``prefix``, else ``$COURSEWARE_HUB_PREFIX`` (for trials and tests), else ``/``."""
        return cls(Path(prefix or os.environ.get(PREFIX_ENV) or "/").resolve())


@dataclass
class InitResult:
    """What ``init_hub`` set up, for the summary it prints."""

    layout: HubLayout
    url: str
    database: str
    start_command: list[str]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"Hub config:      {self.layout.hub_config}",
            f"Database:        {self.database} (URL in {self.layout.database_url_file}, root only)",
            f"nbgrader:        exchange {self.layout.exchange_dir}, courses in"
            f" {self.layout.courses_dir}, hub-wide config"
            f" {self.layout.jupyter_config_dir / 'nbgrader_config.py'}",
            f"Listens on:      {self.url}",
            *self.notes,
            "Start the hub (in the background, log in"
            f" {self.layout.log_dir / 'jupyterhub.log'}):"
            f"  {Path(self.start_command[0]).with_name('courseware')} hub start"
            + ("" if self.layout.prefix == Path("/") else f" --prefix {self.layout.prefix}"),
            f"or in the foreground:  {' '.join(self.start_command)}",
        ]
        return "\n".join(lines)


# -- checks -------------------------------------------------------------------------------------
def _others_blocked(path: Path, need: int) -> str | None:
    """Why an account that is neither owner nor group cannot use ``path``, or ``None``."""
    try:
        ancestors = list(reversed(path.parents))
        for folder in ancestors:
            if not folder.stat().st_mode & stat.S_IXOTH:
                return f"{folder} is mode {stat.S_IMODE(folder.stat().st_mode):04o} (others may not enter it)"
        mode = path.stat().st_mode
    except OSError as e:
        return f"{path}: {e.strerror}"
    if mode & need != need:
        return f"{path} is mode {stat.S_IMODE(mode):04o} (others may not read or run it)"
    return None


def check_learners_can_run(python: str | Path = sys.executable) -> None:
    """Refuse a hub Python that learners' accounts cannot run (e.g. a venv under ``/root``).

    Each learner's server runs as their own Unix account with the hub's Python and its
    ``jupyterhub-singleuser``, so the interpreter, that script and the installed packages must be
    readable (and the programs runnable) by every account.
    """
    python = Path(python)
    bindir = python.parent
    checks: list[tuple[Path, int]] = [
        (python, stat.S_IROTH | stat.S_IXOTH),
        (python.resolve(), stat.S_IROTH | stat.S_IXOTH),
        (bindir / "jupyterhub-singleuser", stat.S_IROTH | stat.S_IXOTH),
    ]
    import courseware

    checks.append((Path(courseware.__file__).resolve(), stat.S_IROTH))
    for path, need in checks:
        why = _others_blocked(path, need)
        if why:
            raise HubInitError(
                f"learners cannot run the hub's Python ({python}): {why}. Every learner's server "
                "runs as their own account with this Python, so install the courseware where every "
                "account can read it, e.g. `python3 -m venv /opt/courseware && "
                "/opt/courseware/bin/pip install /path/to/checkout`, and run "
                "/opt/courseware/bin/courseware hub init"
            )


def _find_proxy(proxy: str | None) -> str:
    found = proxy or shutil.which("configurable-http-proxy")
    if not found or not Path(found).exists():
        raise HubInitError(
            "configurable-http-proxy was not found: install it with "
            "`apt-get install -y npm && npm install -g configurable-http-proxy`, or give --proxy PATH"
        )
    return str(Path(found).absolute())


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


# -- nbgrader -----------------------------------------------------------------------------------
def _ensure_grader_accounts(courses: Sequence[str]) -> list[str]:
    """Each course's formgrader is the hub user ``grader-<course>`` (nbgrader's multi-course
    layout). With PAM sign-in, JupyterHub refuses a hub user that is not a Unix account, so
    create a system account without a home or a login for each one that is missing."""
    import pwd

    from ._config import grader_account

    names = [grader_account(course) for course in courses]
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            done = subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise HubInitError(
                    f"could not create the formgrader's account {name}: {done.stderr.strip()}"
                ) from None
    return names


_COURSE_ID = re.compile(r"^c\.CourseDirectory\.course_id = .*$", re.MULTILINE)
_EXCHANGE = re.compile(r"^c\.Exchange\.root = .*$", re.MULTILINE)
_TEMPLATE_PARTS = ("nbgrader_config.py", "source", "keys", "rubrics")


def _install_nbgrader(layout: HubLayout, courses: Iterable[str]) -> list[Path]:
    layout.exchange_dir.mkdir(parents=True, exist_ok=True)
    # Everyone writes into the exchange (nbgrader's layout); the sticky bit stops learners
    # removing what others put at its top level.
    layout.exchange_dir.chmod(0o1777)
    layout.jupyter_config_dir.mkdir(parents=True, exist_ok=True)
    text = deploy_file("nbgrader_config.py").read_text(encoding="utf-8")
    if layout.exchange_dir != Path("/srv/nbgrader/exchange"):
        text += (
            "\n# Set by `courseware hub init`: this hub's exchange.\n"
            f"c.Exchange.root = os.environ.get('NBGRADER_EXCHANGE', {str(layout.exchange_dir)!r})\n"
        )
    target = layout.jupyter_config_dir / "nbgrader_config.py"
    target.write_text(text, encoding="utf-8")
    target.chmod(0o644)
    template = deploy_file("assignments")
    made = []
    layout.courses_dir.mkdir(parents=True, exist_ok=True)
    for course in courses:
        folder = layout.courses_dir / course
        folder.mkdir(exist_ok=True)
        folder.chmod(0o700)  # answer keys and marks: staff only (the formgrader runs as root)
        for part in _TEMPLATE_PARTS:
            source = template / part
            files = [source] if source.is_file() else sorted(source.rglob("*"))
            for path in files:
                if not path.is_file():
                    continue
                dest = folder / path.relative_to(template)
                if dest.exists():  # a course in use keeps its own files
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                if path.name == "nbgrader_config.py" and path.parent == template:
                    config = path.read_text(encoding="utf-8")
                    config = _COURSE_ID.sub(f"c.CourseDirectory.course_id = {course!r}", config)
                    # the hub's shared exchange, not the template's folder beside the config
                    exchange = str(layout.exchange_dir)
                    config = _EXCHANGE.sub(
                        f"c.Exchange.root = os.environ.get('NBGRADER_EXCHANGE', {exchange!r})",
                        config,
                    )
                    dest.write_text(config, encoding="utf-8")
                else:
                    shutil.copyfile(path, dest)
        made.append(folder)
    return made


# -- the hub config -----------------------------------------------------------------------------
_COURSE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
_MAX_COURSE_ID = 32 - len("grader-")
_MODULE_ID = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")  # content/_schema.py's Slug


def _set_literal(names: Iterable[str]) -> str:
    """A Python set literal, sorted so the same options always write the same file."""
    names = sorted(set(names))
    return "{" + ", ".join(map(repr, names)) + "}" if names else "set()"


def _hub_config(
    layout: HubLayout,
    *,
    courses: list[str],
    admin: str,
    users: list[str],
    allow_groups: list[str],
    ip: str,
    port: int,
    hub_port: int,
    proxy_api_port: int,
    service_port: int,
    proxy: str,
    python: Path,
    course_dirs: list[Path],
    course_modules: dict[str, list[str]],
) -> str:
    bindir = python.parent
    modules_text = " ".join(f"{c}={','.join(m)}" for c, m in course_modules.items())
    formgraders = " ".join(f"{c}={d}" for c, d in zip(courses, course_dirs, strict=True))
    groups = {f"nbgrader-{c}": {"users": users} for c in courses}
    extra_env = ""
    if layout.jupyter_config_dir != Path("/etc/jupyter"):
        extra_env = (
            "\n# This hub's Jupyter config folder (it is not /etc/jupyter), for servers and"
            " formgraders.\n"
            f"JUPYTER_CONFIG = {{'JUPYTER_CONFIG_PATH': {str(layout.jupyter_config_dir)!r}}}\n"
            "c.Spawner.environment = {**c.Spawner.environment, **JUPYTER_CONFIG}\n"
            "for service in c.JupyterHub.services:\n"
            f"    if service['name'] in {courses!r}:\n"
            "        service['environment'] = {**service.get('environment', {}), **JUPYTER_CONFIG}\n"
        )
    return f'''"""JupyterHub for the courseware on this machine, written by `courseware hub init`.

Re-run `courseware hub init` with other options to change it: it rewrites this file. The database
URL (with its password) is in {layout.database_url_file} (root only), and only the courseware
service is given it. Start with `courseware hub start` or `jupyterhub -f {layout.hub_config}`.
"""

import os
from pathlib import Path

from courseware.hub import deploy_file

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

# The courseware service, its scopes and roles, the course groups and each course's formgrader
# (the packaged deploy/jupyterhub_config.py, driven by these variables).
os.environ["COURSEWARE_COURSES"] = {" ".join(courses)!r}
os.environ["COURSEWARE_SERVICE_PORT"] = "{service_port}"
os.environ["COURSEWARE_FORMGRADERS"] = {formgraders!r}
# Each course's modules: a tutor reads a learner only in their own course's modules, even a
# learner enrolled in two courses (empty: no course narrowed).
os.environ["COURSEWARE_COURSE_MODULES"] = {modules_text!r}
os.environ["COURSEWARE_DATABASE_URL"] = Path({str(layout.database_url_file)!r}).read_text().strip()
load_subconfig(str(deploy_file("jupyterhub_config.py")))  # noqa: F821
# The service's environment has it now; the hub's own (inherited by the proxy) need not.
del os.environ["COURSEWARE_DATABASE_URL"]

# Sign-in: Unix accounts and their passwords, checked with PAM (JupyterHub's default
# authenticator). Only the admin, these users and members of these Unix groups may sign in.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.admin_users = {_set_literal([admin])}
c.Authenticator.allowed_users = {_set_literal(users)}
c.LocalAuthenticator.allowed_groups = {_set_literal(allow_groups)}
# Learners start in their courses' nbgrader groups; add others from the admin page.
c.JupyterHub.load_groups = {{**c.JupyterHub.load_groups, **{groups!r}}}

# Where it listens: the proxy on {ip}:{port}; the hub, the proxy's API and the service on loopback.
c.JupyterHub.ip = {ip!r}
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]

# The hub's own state, private to root.
c.JupyterHub.db_url = "sqlite:///{layout.state_dir / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(layout.state_dir / "jupyterhub_cookie_secret")!r}
c.JupyterHub.pid_file = {str(layout.state_dir / "jupyterhub.pid")!r}

# Each learner's server runs as their own Unix account (LocalProcessSpawner), with this Python.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{str(bindir / "jupyterhub-singleuser")!r}]
os.environ["PATH"] = {str(bindir)!r} + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")
{extra_env}'''


def course_modules_for(
    courses: Sequence[str],
    given: Mapping[str, Sequence[str]] | None = None,
    curriculum: str | Path | None = None,
) -> dict[str, list[str]]:
    """Each course's module ids: as ``given``, else from ``courses/<course>.yaml`` under
    ``curriculum`` (default: the course repository this runs from); a course with neither is
    left out (its tutors' reads are not narrowed to its modules)."""
    from ..content._course import load_course
    from ..content._errors import ContentError

    given = dict(given or {})
    unknown = sorted(set(given) - set(courses))
    if unknown:
        raise HubInitError(
            f"--modules {unknown[0]}=…: {unknown[0]!r} is not one of the courses"
            f" ({', '.join(courses)}); give it with --course too"
        )
    root = Path(curriculum) if curriculum is not None else curriculum_root()
    found: dict[str, list[str]] = {}
    for course in courses:
        if course in given:
            modules = list(given[course])
        elif (path := root / "courses" / f"{course}.yaml").is_file():
            try:
                modules = list(load_course(path).spec.modules)
            except ContentError as e:
                raise HubInitError(f"course file {path}: {e}") from None
        else:
            continue
        if not modules:
            raise HubInitError(f"--modules {course}=: list at least one module id")
        for module in modules:
            if not _MODULE_ID.match(module):
                raise HubInitError(
                    f"--modules {course}=…: {module!r} is not a module id"
                    " (lower-case letters, digits and -)"
                )
        found[course] = list(dict.fromkeys(modules))
    return found


def parse_modules_option(pairs: Iterable[str]) -> dict[str, list[str]]:
    """``--modules COURSE=MODULE,MODULE`` options as a mapping (a course given twice: both lists)."""
    found: dict[str, list[str]] = {}
    for pair in pairs:
        course, sep, modules = pair.partition("=")
        if not sep or not course.strip():
            raise HubInitError(f"--modules {pair!r}: write COURSE=MODULE,MODULE")
        found.setdefault(course.strip(), []).extend(
            m.strip() for m in modules.split(",") if m.strip()
        )
    return found


def init_hub(
    *,
    admin: str,
    users: Sequence[str] = (),
    allow_groups: Sequence[str] = (),
    courses: Sequence[str] = ("clinical-empathy",),
    course_modules: Mapping[str, Sequence[str]] | None = None,
    curriculum: str | Path | None = None,
    layout: HubLayout | None = None,
    ip: str = "127.0.0.1",
    port: int = 8000,
    hub_port: int | None = None,
    proxy_api_port: int | None = None,
    service_port: int | None = None,
    pg_cluster: str | None = None,
    external_database: str | None = None,
    proxy: str | None = None,
    python: str | Path = sys.executable,
) -> InitResult:
    """Set up the hub on this machine and write its config; see the module docstring.

    Ports not given follow ``port``: the hub on ``port + 81`` (8081), the proxy's API on
    ``port + 1`` (8001), the courseware service on ``port + 2101`` (10101). ``external_database``
    (a ``postgresql://`` URL) skips the local cluster. Each course's modules (for scoping tutors'
    reads, ``COURSEWARE_COURSE_MODULES``) are ``course_modules[course]``, else those its course
    file under ``curriculum`` lists (:func:`course_modules_for`).
    """
    layout = layout or HubLayout.from_prefix(None)
    if os.geteuid() != 0:
        raise HubInitError(
            "run `courseware hub init` as root: learners' servers run as their own accounts"
        )
    courses, users, allow_groups = list(courses), list(users), list(allow_groups)
    if not courses:
        raise HubInitError("--course: give at least one course id")
    for course in courses:
        if not _COURSE_NAME.match(course):
            raise HubInitError(f"--course {course!r}: use lower-case letters, digits and -")
        if len(course) > _MAX_COURSE_ID:
            raise HubInitError(
                f"--course {course!r}: at most {_MAX_COURSE_ID} characters (its formgrader's Unix"
                f" account, grader-{course}, must fit Unix's 32)"
            )
    for name in [admin, *users]:
        if not _USER_NAME.match(name):
            raise HubInitError(
                f"{name!r} is not a Unix user name (lower-case letters, digits, _ . -)"
            )
    modules = course_modules_for(courses, course_modules, curriculum)
    python = Path(python)
    check_learners_can_run(python)
    proxy = _find_proxy(proxy)
    hub_port = hub_port or port + 81
    proxy_api_port = proxy_api_port or port + 1
    service_port = service_port or port + 2101

    for folder, mode in (
        (layout.config_dir, 0o755),
        (layout.state_dir, 0o700),
        (layout.log_dir, 0o700),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(mode)
    url_file = layout.database_url_file
    if external_database:
        url = external_database
        where = "the PostgreSQL you gave"
    else:
        cluster = _ensure_cluster(pg_cluster)
        password = _stored_password(url_file) or secrets.token_urlsafe(24)
        _ensure_database(cluster, password)
        url = database_url(password, cluster.port)
        where = f"PostgreSQL cluster {cluster.id} (port {cluster.port}), database {DB_NAME}"
    if not url_file.exists() or url_file.read_text(encoding="utf-8").strip() != url:
        _write_private(url_file, url + "\n")
    url_file.chmod(0o600)
    version = _check_database(url)

    course_dirs = _install_nbgrader(layout, courses)
    graders = _ensure_grader_accounts(courses)
    text = _hub_config(
        layout,
        courses=courses,
        admin=admin,
        users=users,
        allow_groups=allow_groups,
        ip=ip,
        port=port,
        hub_port=hub_port,
        proxy_api_port=proxy_api_port,
        service_port=service_port,
        proxy=proxy,
        python=python,
        course_dirs=course_dirs,
        course_modules=modules,
    )
    layout.hub_config.write_text(text, encoding="utf-8")
    layout.hub_config.chmod(0o644)
    public = f"http://{ip if ':' not in ip else f'[{ip}]'}:{port}"
    settings = {
        "python": str(python),
        "url": public,
        "config": str(layout.hub_config),
        "log": str(layout.log_dir / "jupyterhub.log"),
        "pid_file": str(layout.state_dir / "jupyterhub.pid"),
        "state_dir": str(layout.state_dir),
    }
    layout.settings_file.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    notes = [
        f"Sign-in:         Unix accounts with PAM; admin {admin}"
        + (f"; allowed {', '.join(users)}" if users else "")
        + (f"; members of Unix group(s) {', '.join(allow_groups)}" if allow_groups else ""),
        "Learners' servers run as their own Unix accounts (LocalProcessSpawner)"
        " with " + str(python),
        f"Schema:          courseware schema version {version}",
        f"Formgraders run as the hub accounts {', '.join(graders)} (Unix system accounts"
        " without a login, created if missing; they are in formgrade-<course>)",
    ]
    for course in courses:
        if course in modules:
            notes.append(
                f"Course {course}: tutors read its modules only ({', '.join(modules[course])})"
            )
        elif len(courses) > 1:
            notes.append(
                f"Course {course}: no module list (no --modules, no courses/{course}.yaml), so"
                " its tutors read a learner's work in every module, other courses' included"
            )
    if ip in ("127.0.0.1", "::1", "localhost"):
        notes.append(
            "Only this machine can reach it: put a TLS reverse proxy in front, or give --ip."
        )
    return InitResult(
        layout=layout,
        url=public,
        database=where,
        start_command=[str(python.parent / "jupyterhub"), "-f", str(layout.hub_config)],
        notes=notes,
    )


# -- start and stop -----------------------------------------------------------------------------
def _settings(layout: HubLayout) -> dict[str, str]:
    try:
        return dict(json.loads(layout.settings_file.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise HubInitError(
            f"no hub here ({layout.settings_file} is missing): run `courseware hub init` first"
        ) from None


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not: a container's first process may never reap it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return False
    return fields[0] not in ("Z", "X")


def _running_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def start_hub(layout: HubLayout | None = None, *, timeout: float = 120) -> str:
    """Start ``jupyterhub`` in the background (its own session; no systemd) and wait until it answers.

    Returns the hub's URL. Output goes to the log file ``init_hub`` chose.
    """
    layout = layout or HubLayout.from_prefix(None)
    settings = _settings(layout)
    pid_file = Path(settings["pid_file"])
    running = _running_pid(pid_file)
    if running:
        raise HubInitError(
            f"the hub is already running (pid {running}); `courseware hub stop` first"
        )
    log_path = Path(settings["log"])
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [settings["python"], "-m", "jupyterhub", "-f", settings["config"]],
            cwd=settings["state_dir"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = settings["url"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
            raise HubInitError(
                f"jupyterhub exited ({process.returncode}); {log_path} ends:\n{tail}"
            )
        try:
            with urllib.request.urlopen(f"{url}/hub/api", timeout=2) as answer:
                if answer.status == 200:
                    return url
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.5)
    raise HubInitError(f"jupyterhub did not answer at {url} within {timeout:.0f} s; see {log_path}")


def stop_hub(layout: HubLayout | None = None, *, timeout: float = 60) -> bool:
    """Stop the hub started by :func:`start_hub` (SIGTERM, as JupyterHub expects); ``False`` if none ran."""
    layout = layout or HubLayout.from_prefix(None)
    pid = _running_pid(Path(_settings(layout)["pid_file"]))
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.3)
    raise HubInitError(f"the hub (pid {pid}) did not stop within {timeout:.0f} s")
