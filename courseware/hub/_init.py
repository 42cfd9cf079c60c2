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
import secrets
import shutil
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._hubfile import (
    _COURSE_NAME,
    _MAX_COURSE_ID,
    _USER_NAME,
    _hub_config,
    course_modules_for,
    parse_modules_option,
)
from ._layout import HubInitError, HubLayout, deploy_file
from ._nbgsetup import _ensure_grader_accounts, _install_nbgrader
from ._pgsetup import (
    DB_NAME,
    _check_database,
    _ensure_cluster,
    _ensure_database,
    _stored_password,
    _write_private,
    database_url,
)
from ._process import start_hub, stop_hub

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
                "/opt/courseware/bin/pip install '/path/to/checkout[hub,analytics]'`, and run "
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
