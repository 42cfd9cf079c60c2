"""Who may do what: JupyterHub custom scopes, read from the token's user model and enforced here.

JupyterHub owns identity and roles; it tells a service which scopes a token holds (already
intersected with its owner's permissions and expanded, e.g. ``custom:courseware:cohort:read!group=y1``)
but leaves custom scopes to the service to enforce. This module turns those scope strings into a
:class:`Permissions` value and generates the role and scope definitions a hub config loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "COHORT_AGGREGATES",
    "COHORT_READ",
    "CUSTOM_SCOPES",
    "LEARNER",
    "POLLS_RUN",
    "SERVICE_NAME",
    "Permissions",
    "course_groups",
    "course_roles",
    "hub_roles",
]

SERVICE_NAME = "courseware"

LEARNER = "custom:courseware:learner"
COHORT_READ = "custom:courseware:cohort:read"
COHORT_AGGREGATES = "custom:courseware:cohort:aggregates"
POLLS_RUN = "custom:courseware:polls:run"

CUSTOM_SCOPES: dict[str, dict[str, str]] = {
    LEARNER: {
        "description": "Save and read your own courseware responses; answer your groups' polls.",
    },
    COHORT_READ: {
        "description": "Read the responses of learners in a group (never private reflection drafts).",
    },
    COHORT_AGGREGATES: {
        "description": "Read a group's aggregate counts (suppressed below the minimum group size).",
    },
    POLLS_RUN: {
        "description": "Run live anonymous polls for a group and see their results.",
    },
}
"""``c.JupyterHub.custom_scopes``: the scopes the courseware service enforces."""


@dataclass(frozen=True)
class Grant:
    """Where one custom scope applies: everywhere, or to named groups and users."""

    everywhere: bool = False
    groups: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return self.everywhere or bool(self.groups) or bool(self.users)

    def covers_group(self, group: str) -> bool:
        return self.everywhere or group in self.groups


@dataclass(frozen=True)
class Permissions:
    """What one token may do in the courseware service."""

    name: str
    kind: str = "user"
    learner: bool = False
    cohort_read: Grant = field(default_factory=Grant)
    cohort_aggregates: Grant = field(default_factory=Grant)
    polls_run: Grant = field(default_factory=Grant)
    groups: frozenset[str] = frozenset()

    @classmethod
    def from_model(cls, model: Mapping[str, Any]) -> Permissions:
        """Read a hub user (or service) model: its ``name``, ``kind``, ``groups`` and ``scopes``."""
        name = str(model["name"])
        grants: dict[str, tuple[bool, set[str], set[str]]] = {
            s: (False, set(), set()) for s in CUSTOM_SCOPES
        }
        for scope in model.get("scopes", []):
            base, _, where = str(scope).partition("!")
            if base not in grants:
                continue
            _, groups, users = grants[base]
            if not where:
                grants[base] = (True, groups, users)
            elif where.startswith("group="):
                groups.add(where.removeprefix("group="))
            elif where.startswith("user="):
                users.add(where.removeprefix("user="))
        learner_everywhere, _, learner_users = grants[LEARNER]
        kind = str(model.get("kind", "user"))

        def grant(scope: str) -> Grant:
            everywhere, groups, users = grants[scope]
            return Grant(everywhere, frozenset(groups), frozenset(users))

        return cls(
            name=name,
            kind=kind,
            learner=kind == "user" and (learner_everywhere or name in learner_users),
            cohort_read=grant(COHORT_READ),
            cohort_aggregates=grant(COHORT_AGGREGATES),
            polls_run=grant(POLLS_RUN),
            groups=frozenset(str(g) for g in model.get("groups") or ()),
        )

    def summary(self) -> dict[str, Any]:
        """What this token may do, for ``GET /api/me``."""

        def describe(grant: Grant) -> Any:
            if grant.everywhere:
                return "all"
            return {"groups": sorted(grant.groups), "users": sorted(grant.users)}

        return {
            "name": self.name,
            "kind": self.kind,
            "learner": self.learner,
            "cohort_read": describe(self.cohort_read),
            "cohort_aggregates": describe(self.cohort_aggregates),
            "polls_run": describe(self.polls_run),
        }


def course_groups(course: str) -> dict[str, str]:
    """The hub groups of one course, by the part people play in it.

    The cohort and its tutors are nbgrader's own multi-course groups (``nbgrader-<course>``
    students, ``formgrade-<course>`` graders), so one set of groups serves nbgrader's exchange and
    formgrader and the courseware service alike.
    """
    return {
        "learners": f"nbgrader-{course}",
        "tutors": f"formgrade-{course}",
        "evaluation": f"evaluation-{course}",
        "seminar": f"seminar-leads-{course}",
    }


def course_roles(course: str) -> list[dict[str, Any]]:
    """Roles giving a course's staff groups their scopes over the course's learner group."""
    g = course_groups(course)
    cohort = f"!group={g['learners']}"
    return [
        {
            "name": f"courseware-tutor-{course}",
            "description": f"Tutors of {course}: read the cohort's responses and aggregates.",
            "scopes": [COHORT_READ + cohort, COHORT_AGGREGATES + cohort],
            "groups": [g["tutors"]],
        },
        {
            "name": f"courseware-evaluation-{course}",
            "description": f"Evaluation leads of {course}: the cohort's aggregates.",
            "scopes": [COHORT_AGGREGATES + cohort],
            "groups": [g["evaluation"]],
        },
        {
            "name": f"courseware-seminar-{course}",
            "description": f"Seminar leads of {course}: run polls for the cohort.",
            "scopes": [POLLS_RUN + cohort, f"read:groups{cohort}"],
            "groups": [g["seminar"]],
        },
    ]


def hub_roles(
    courses: Iterable[str] = (),
    *,
    service: str = SERVICE_NAME,
    service_scopes: Sequence[str] = ("read:groups", "list:groups", "read:users:groups"),
) -> list[dict[str, Any]]:
    """``c.JupyterHub.load_roles`` for the courseware service and ``courses``.

    * ``user``: every hub user is a learner of their own responses and may use the service.
    * ``server``: the token a learner's server and kernels hold; JupyterHub intersects it with
      the owner's permissions, so a tutor's kernel gets its owner's cohort scopes and a learner's
      kernel only its own.
    * the service's own role: enough to read group membership from the hub.
    """
    access = f"access:services!service={service}"
    staff = [COHORT_READ, COHORT_AGGREGATES, POLLS_RUN]
    roles: list[dict[str, Any]] = [
        {"name": "user", "scopes": ["self", access, f"{LEARNER}!user"]},
        {
            "name": "server",
            "scopes": [
                "users:activity!user",
                "access:servers!server",
                "read:users:name!user",
                "read:users:groups!user",  # nbgrader's JupyterHubAuthPlugin lists your courses
                access,
                f"{LEARNER}!user",
                *staff,
            ],
        },
        {
            "name": f"{service}-service",
            "description": "The courseware service reads group membership.",
            "scopes": list(service_scopes),
            "services": [service],
        },
    ]
    for course in courses:
        roles += course_roles(course)
    return roles
