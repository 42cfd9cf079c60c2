"""The ``jupyterhub_config.py`` that ``hub init`` writes, and each course's module list in it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .._paths import curriculum_root
from ..content import ContentError, load_course
from ._layout import HubInitError, HubLayout

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
