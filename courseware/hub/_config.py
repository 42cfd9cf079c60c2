"""The hub configuration the courseware needs, as one call for any jupyterhub_config.py.

Used by deploy/jupyterhub_config.py (one machine) and by the Zero to JupyterHub values'
``hub.extraConfig`` (Kubernetes), so both deployments declare the same service, scopes, roles,
groups and learner environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
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

__all__ = ["configure_hub"]

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
    learner_config: str | Path | None = LEARNER_JUPYTER_CONFIG,
) -> None:
    """Add the courseware service, its scopes and roles, and the learners' store to ``c``.

    ``service_url`` is where the hub, the proxy and learners' kernels reach the service (e.g.
    ``http://hub:10101`` on Kubernetes, where it must listen on ``bind_ip="0.0.0.0"``). The
    database URL goes only into the service's own environment. ``groups=False`` leaves group
    creation to the authenticator (JupyterHub refuses ``load_groups`` with ``manage_groups``).
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
