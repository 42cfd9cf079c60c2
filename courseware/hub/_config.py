"""The hub configuration the courseware needs, as one call for any jupyterhub_config.py.

Used by deploy/jupyterhub_config.py (one machine) and by the Zero to JupyterHub values'
``hub.extraConfig`` (Kubernetes), so both deployments declare the same service, scopes, roles,
groups and learner environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._roles import (
    COHORT_AGGREGATES,
    COHORT_READ,
    CUSTOM_SCOPES,
    LEARNER,
    POLLS_RUN,
    SERVICE_NAME,
    course_groups,
    hub_roles,
)

__all__ = [
    "COURSE_MODULES_ENV",
    "configure_hub",
    "formgrader_services",
    "grader_account",
    "parse_course_modules",
]

COURSE_MODULES_ENV = "COURSEWARE_COURSE_MODULES"
"""``course=module,module course2=module``: each course's modules, in the service's environment."""


def parse_course_modules(text: str) -> dict[str, frozenset[str]]:
    """Read ``course=module,module course2=module`` (course ids and module ids have no spaces)."""
    found: dict[str, frozenset[str]] = {}
    for pair in text.split():
        course, sep, modules = pair.partition("=")
        if not sep or not course:
            raise ValueError(
                f"{COURSE_MODULES_ENV}: {pair!r} is not course=module,module (no spaces)"
            )
        found[course] = frozenset(m for m in modules.split(",") if m)
    return found


def _course_modules_text(course_modules: str | Mapping[str, Iterable[str]]) -> str:
    if isinstance(course_modules, str):
        parse_course_modules(course_modules)  # a typo fails the hub's start, not a tutor's read
        return course_modules.strip()
    return " ".join(f"{course}={','.join(modules)}" for course, modules in course_modules.items())


LEARNER_UMASK = 0o077
"""Learners' servers create private files and folders (``0600``/``0700``)."""

LEARNER_JUPYTER_CONFIG = Path(__file__).parent / "learner-jupyter"
"""Jupyter config for learners' servers: nbgrader's author tools and JupyterLab's news pop-up off
(``labconfig/page_config.json``), no news or update checks (``jupyter_server_config.d``)."""


def learner_config_path(existing: str = "", ours: str | Path = LEARNER_JUPYTER_CONFIG) -> str:
    """``JUPYTER_CONFIG_PATH`` for learners' servers: the folders already set, then ours."""
    folders = [*filter(None, existing.split(os.pathsep)), str(ours)]
    return os.pathsep.join(dict.fromkeys(folders))


def _existing(value: Any, kind: type) -> Any:
    """A config value already set (e.g. by the Helm chart), or an empty one."""
    return kind(value) if isinstance(value, kind) else kind()


def configure_hub(
    c: Any,
    *,
    courses: Iterable[str],
    database_url: str,
    service_url: str = "http://127.0.0.1:10101",
    bind_ip: str | None = None,
    min_group_size: int = 5,
    python: str = sys.executable,
    groups: bool = True,
    course_modules: str | Mapping[str, Iterable[str]] = "",
    rate_limit: str = "",
    learner_config: str | Path | None = LEARNER_JUPYTER_CONFIG,
) -> None:
    """Add the courseware service, its scopes and roles, and the learners' store to ``c``.

    ``service_url`` is where the hub, the proxy and learners' kernels reach the service (e.g.
    ``http://hub:10101`` on Kubernetes, where it must listen on ``bind_ip="0.0.0.0"``). The
    database URL goes only into the service's own environment. ``groups=False`` leaves group
    creation to the authenticator (JupyterHub refuses ``load_groups`` with ``manage_groups``).
    Learners' local servers run with umask ``077``.
    ``course_modules`` lists each course's modules (``{"mbchb-y3": ["breaking-bad-news"]}`` or
    ``"mbchb-y3=breaking-bad-news"``): a tutor reading through a course's group then sees only
    those modules' events, even of a learner who is also in another course.
    ``rate_limit`` is each user's share of the service, ``RATE/BURST`` (requests a second, and
    at most at once; default ``20/120``) or ``off`` (see :class:`courseware.hub.FairShare`).
    ``learner_config`` is :data:`LEARNER_JUPYTER_CONFIG` as learners' servers see it (another path
    when they run from another image, as on Kubernetes; ``None`` adds nothing).
    """
    courses = list(courses)
    c.JupyterHub.custom_scopes = {**_existing(c.JupyterHub.custom_scopes, dict), **CUSTOM_SCOPES}
    c.JupyterHub.load_roles = [*_existing(c.JupyterHub.load_roles, list), *hub_roles(courses)]
    if groups:
        c.JupyterHub.load_groups = {
            **_existing(c.JupyterHub.load_groups, dict),
            **{g: {"users": []} for course in courses for g in course_groups(course).values()},
        }
    environment = {
        "COURSEWARE_DATABASE_URL": database_url,
        "COURSEWARE_MIN_GROUP_SIZE": str(min_group_size),
    }
    if bind_ip:
        environment["COURSEWARE_SERVICE_IP"] = bind_ip
    if modules_text := _course_modules_text(course_modules):
        environment[COURSE_MODULES_ENV] = modules_text
    if rate_limit.strip():
        from ._app import RATE_LIMIT_ENV, FairShare

        FairShare.parse(rate_limit)  # a typo fails the hub's start, not every request
        environment[RATE_LIMIT_ENV] = rate_limit.strip()
    c.JupyterHub.services = [
        *_existing(c.JupyterHub.services, list),
        {
            "name": SERVICE_NAME,
            "url": service_url,
            "command": [python, "-m", "courseware.hub"],
            "environment": environment,
            "oauth_no_confirm": True,
            # A browser signed in through the hub gets its owner's courseware scopes (no more).
            "oauth_client_allowed_scopes": [
                f"{LEARNER}!user",
                COHORT_READ,
                COHORT_AGGREGATES,
                POLLS_RUN,
            ],
            "display": False,
        },
    ]
    # Learners' kernels reach the service with their own hub token, never the database URL;
    # their JupyterLab leaves out nbgrader's author tools (tutors grade in the formgrader services,
    # which are not spawned and so keep them).
    environment = _existing(c.Spawner.environment, dict)
    config_path = environment.get("JUPYTER_CONFIG_PATH")
    environment["COURSEWARE_STORE"] = (
        f"courseware+{service_url.rstrip('/')}/services/{SERVICE_NAME}/"
    )
    if learner_config is not None:
        environment["JUPYTER_CONFIG_PATH"] = learner_config_path(
            config_path if isinstance(config_path, str) else "", learner_config
        )
    c.Spawner.environment = environment
    # Learners' servers (local processes) create files only their owner can read: homes are
    # often world-readable. Popen's umask applies in the server before it starts (Kubernetes:
    # the learners' image sets the same umask, deploy/z2jh/Dockerfile.singleuser).
    c.LocalProcessSpawner.popen_kwargs = {
        **_existing(c.LocalProcessSpawner.popen_kwargs, dict),
        "umask": LEARNER_UMASK,
    }


def grader_account(course: str) -> str:
    """The hub account a course's formgrader runs as (nbgrader's ``grader-<course>``)."""
    return f"grader-{course}"


def formgrader_services(
    c: Any,
    formgraders: Mapping[str, str | Path],
    *,
    first_port: int,
    python: str = sys.executable,
    unix_accounts: bool = False,
    groups: bool = True,
) -> None:
    """Run nbgrader's formgrader for each course as a hub service only its tutors may open.

    nbgrader's multi-course layout: course ``X``'s formgrader is the service ``X`` (at
    ``/services/X/``) running in its course folder as the grader account ``grader-X``, a hub
    user in ``formgrade-X``. nbgrader's ``JupyterHubAuthPlugin`` (deploy/nbgrader_config.py)
    asks the hub for that account's groups to know the course, so the service's token may read
    exactly that, and may add learners to ``nbgrader-X`` when a tutor adds them in the
    formgrader. ``unix_accounts=True`` also runs the process as the Unix account ``grader-X``
    (which must exist and own the course folder); otherwise it runs as the hub's user and is
    told its account by name. The service loads the courseware marking view
    (``/services/X/marking/``, its landing page); ``formgrade-X`` members open both.
    """
    services = _existing(c.JupyterHub.services, list)
    roles = _existing(c.JupyterHub.load_roles, list)
    load_groups = _existing(c.JupyterHub.load_groups, dict) if groups else {}
    for number, (course, course_dir) in enumerate(formgraders.items()):
        account = grader_account(course)
        tutors = course_groups(course)["tutors"]
        learners = course_groups(course)["learners"]
        service: dict[str, Any] = {
            "name": course,
            "url": f"http://127.0.0.1:{first_port + number}",
            "command": [
                python,
                "-m",
                "courseware.hub._formgrader",
                f"--ServerApp.root_dir={course_dir}",
                *(["--allow-root"] if os.geteuid() == 0 and not unix_accounts else []),
            ],
            "cwd": str(course_dir),
            "environment": {
                "COURSEWARE_GRADER_ACCOUNT": account,
                "JUPYTERHUB_DEFAULT_URL": "/marking/",
            },
            "oauth_no_confirm": True,
        }
        if unix_accounts:
            service["user"] = account
        services.append(service)
        roles += [
            {
                "name": f"formgrader-{course}",
                "description": f"Open the {course} formgrader and marking view.",
                "scopes": [f"access:services!service={course}"],
                "groups": [tutors],
            },
            {
                "name": f"formgrader-service-{course}",
                "description": f"What nbgrader in the {course} formgrader asks of the hub.",
                "scopes": [
                    f"read:users:name!user={account}",
                    f"read:users:groups!user={account}",
                    f"list:groups!group={learners}",
                    f"groups!group={learners}",
                ],
                "services": [course],
            },
        ]
        if groups:
            members = load_groups.get(tutors, {}).get("users", [])
            load_groups[tutors] = {
                **load_groups.get(tutors, {}),
                "users": [*members, *([account] if account not in members else [])],
            }
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
    if groups:
        c.JupyterHub.load_groups = load_groups
