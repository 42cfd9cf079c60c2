"""LTI 1.3 launches to hub groups: the LMS says who teaches and who learns on each course.

An LTI 1.3 launch (e.g. from Moodle, Canvas or Blackboard through ``ltiauthenticator``'s
``LTI13Authenticator``) carries the course (the ``context`` claim) and the person's roles in it
(the ``roles`` claim, LIS vocabulary URIs). :func:`lti_groups` turns those into hub groups named
by :func:`courseware.hub.course_groups`, which the course roles (:func:`course_roles`) give
their scopes to. A person on several courses keeps their other courses' groups: each launch
only rewrites the groups of the course it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ._roles import course_groups

__all__ = ["CONTEXT_CLAIM", "DEFAULT_ROLE_GROUPS", "ROLES_CLAIM", "lti_course", "lti_groups"]

ROLES_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/roles"
CONTEXT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/context"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"

DEFAULT_ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    "Learner": ("learners",),
    "Instructor": ("tutors", "seminar"),
    "TeachingAssistant": ("tutors",),
    "Grader": ("tutors",),
    "Mentor": ("seminar",),
}
"""LIS context role (or sub-role) → parts in :func:`course_groups`. Evaluation leads are not an
LMS role; add them to ``evaluation-<course>`` on the hub by hand."""


def lti_course(claims: Mapping[str, Any]) -> str:
    """The course name for a launch: its context label (else id), as a safe group-name slug."""
    context = claims.get(CONTEXT_CLAIM)
    if not isinstance(context, Mapping):
        raise ValueError(f"the LTI launch has no {CONTEXT_CLAIM} claim")
    raw = str(context.get("label") or context.get("id") or "").strip()
    slug = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    if not slug:
        raise ValueError("the LTI launch's context has neither a label nor an id")
    return slug


def _context_roles(claims: Mapping[str, Any]) -> set[str]:
    """Context (membership) role names, e.g. ``Instructor`` or sub-role ``TeachingAssistant``."""
    names = set()
    for uri in claims.get(ROLES_CLAIM) or ():
        uri = str(uri)
        if uri.startswith(MEMBERSHIP):
            names.add(uri.rsplit("#", 1)[-1])
        elif "#" not in uri and "/" not in uri:  # simple names are context roles (LTI 1.3 §A.2.3)
            names.add(uri)
    return names


def lti_groups(
    claims: Mapping[str, Any],
    current: Iterable[str] = (),
    *,
    role_groups: Mapping[str, Iterable[str]] = DEFAULT_ROLE_GROUPS,
    course: str | None = None,
) -> list[str]:
    """The hub groups a person should be in after this launch.

    ``current`` are the groups they are in now: those of other courses are kept, those of this
    course are replaced by what this launch's roles give. Institution roles (e.g. Faculty) are
    ignored: what counts is the part played on this course.
    """
    course = course or lti_course(claims)
    parts = course_groups(course)
    this_course = set(parts.values())
    groups = {g for g in current if g not in this_course}
    for role in _context_roles(claims):
        for part in role_groups.get(role, ()):
            groups.add(parts[part])
    return sorted(groups)
