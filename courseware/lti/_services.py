"""LTI Advantage services from the command line: marks to the VLE's gradebook (AGS) and the VLE's
course membership to the nbgrader roster and hub groups (NRPS).

Both run over pylti1p3's service connector: it signs a client-credentials assertion with the
tool's private key, trades it at the VLE's token endpoint for a scoped access token, and calls the
endpoints the VLE's last launch from that course offered (kept in the ledger).

Marks: a student's mark goes to the VLE only when

* its standing (``courseware.grading``: the registry export's status) is ``graded``: moderated and
  written back, never ``failed-to-grade``, ``needs-review`` (flagged as possible tampering, until a
  tutor confirms a score), ``needs-manual-marking`` or ``not-submitted``;
* a tutor released it (:func:`release_marks`), and the score has not changed since.

Every attempt is logged in the ledger: sent (with the VLE's answer), refused (with why) or error.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._config import LtiError, ToolConfig
from ._ledger import Context, Ledger, Release, Send

__all__ = [
    "AGS_LINEITEM",
    "AGS_SCORE",
    "NRPS_READ",
    "Member",
    "Roster",
    "SendReport",
    "fetch_members",
    "release_marks",
    "send_marks",
    "sync_roster",
]

AGS_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
AGS_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS_READ = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ROLES_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/roles"


def _connector(config: ToolConfig, context: Context) -> Any:
    from pylti1p3.service_connector import ServiceConnector

    conf = config.pylti_config()
    registration = conf.find_registration_by_params(context.issuer, context.client_id)
    if registration is None:
        raise LtiError(
            f"the VLE {context.issuer} (client {context.client_id}) is no longer in the tool's "
            "settings"
        )
    return ServiceConnector(registration)


def _registry(course_root: str | Path, assignment: str) -> list[dict[str, Any]]:
    from ..grading import CourseFolder, MarkingBook, registry_rows

    course = CourseFolder.open(course_root)
    with MarkingBook(course.marking_db) as book:
        return registry_rows(course, book, assignment)


def release_marks(
    ledger: Ledger,
    course_root: str | Path,
    course: str,
    assignment: str,
    *,
    by: str,
    students: Iterable[str] | None = None,
) -> tuple[list[Release], dict[str, str]]:
    """Release final marks for the VLE: each ``graded`` student's score (or only ``students``).

    Returns the releases and, for each student not released, why (their status)."""
    if not by.strip():
        raise LtiError("say who releases the marks (--by NAME)")
    wanted = set(students) if students is not None else None
    released: list[Release] = []
    held: dict[str, str] = {}
    for row in _registry(course_root, assignment):
        student = str(row["student_id"])
        if wanted is not None and student not in wanted:
            continue
        if row["status"] != "graded":
            held[student] = f"{row['status']}: not released ({row['note'] or 'no final mark'})"
            continue
        release = Release(
            course,
            assignment,
            student,
            float(row["score"]),
            float(row["max_score"]),
            by.strip(),
            time.time(),
        )
        ledger.release(release)
        released.append(release)
    for student in sorted((wanted or set()) - {r.student for r in released} - set(held)):
        held[student] = "not in the gradebook for this assignment"
    return released, held


@dataclass
class SendReport:
    """What ``send_marks`` did, student by student."""

    sent: dict[str, float] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    lineitem: str = ""


def _response_text(exc: Exception) -> tuple[int | None, str]:
    response = getattr(exc, "response", None)
    if response is None:
        return None, str(exc)
    return int(response.status_code), str(response.text)[:2000]


def send_marks(
    config: ToolConfig,
    ledger: Ledger,
    course_root: str | Path,
    course: str,
    assignment: str,
    *,
    by: str,
) -> SendReport:
    """Send each released, final mark of ``assignment`` to the VLE course's line item for it
    (found by tag, else created), logging every attempt."""
    from pylti1p3.assignments_grades import AssignmentsGradesService
    from pylti1p3.grade import Grade
    from pylti1p3.lineitem import LineItem

    if not by.strip():
        raise LtiError("say who sends the marks (--by NAME)")
    context = ledger.context(course)
    if not context.lineitems or AGS_SCORE not in context.ags_scopes:
        raise LtiError(
            f"the VLE course {course!r} offers no gradebook service to this tool (turn on "
            "Assignment and Grade Services for the tool in the VLE, then launch it once)"
        )
    rows = _registry(course_root, assignment)
    releases = ledger.releases(course, assignment)
    last_sent = {
        s.student: s.score for s in ledger.sends(course, assignment) if s.outcome == "sent"
    }
    report = SendReport()

    def log(student: str, row: dict[str, Any], outcome: str, status: int | None, text: str) -> None:
        score = row.get("score")
        ledger.log_send(
            Send(
                time.time(),
                by.strip(),
                course,
                assignment,
                student,
                float(score) if score not in ("", None) else None,
                float(row["max_score"]) if row.get("max_score") not in ("", None) else None,
                report.lineitem or None,
                outcome,
                status,
                text,
            )
        )

    to_send: list[dict[str, Any]] = []
    for row in rows:
        student = str(row["student_id"])
        release = releases.get(student)
        why = ""
        if row["status"] != "graded":
            why = f"{row['status']}: never sent until it is graded and released"
        elif release is None:
            why = "not released by a tutor (courseware lti release)"
        elif abs(release.score - float(row["score"])) > 1e-9:
            why = (
                f"the mark changed since {release.by} released {release.score:g}: release it again"
            )
        if why:
            report.refused[student] = why
            log(student, row, "refused", None, why)
        elif last_sent.get(student) == float(row["score"]):
            report.unchanged.append(student)
        else:
            to_send.append(row)
    if not to_send:
        return report
    max_score = float(to_send[0]["max_score"])
    ags = AssignmentsGradesService(
        _connector(config, context),
        {"scope": list(context.ags_scopes), "lineitems": context.lineitems},
    )
    wanted = (
        LineItem()
        .set_tag(assignment)
        .set_label(assignment)
        .set_resource_id(assignment)
        .set_score_maximum(max_score)
    )
    try:
        lineitem = ags.find_or_create_lineitem(wanted, find_by="tag")
    except Exception as exc:
        status, text = _response_text(exc)
        raise LtiError(f"the VLE refused the gradebook column ({status}): {text}") from None
    report.lineitem = str(lineitem.get_id())
    members = ledger.members(course)
    for row in to_send:
        student = str(row["student_id"])
        grade = (
            Grade()
            .set_score_given(float(row["score"]))
            .set_score_maximum(float(row["max_score"]))
            .set_timestamp(datetime.now(timezone.utc).isoformat(timespec="seconds"))
            .set_activity_progress("Completed")
            .set_grading_progress("FullyGraded")
            .set_user_id(members.get(student, student))
        )
        try:
            answer = ags.put_grade(grade, lineitem)
        except Exception as exc:
            status, text = _response_text(exc)
            report.errors[student] = f"{status}: {text}"
            log(student, row, "error", status, text)
            continue
        report.sent[student] = float(row["score"])
        log(student, row, "sent", 200, json.dumps(answer.get("body")))
    return report


@dataclass(frozen=True)
class Member:
    """One person on the VLE course, as NRPS gives them."""

    user_id: str
    name: str  # the hub user name and nbgrader student id (``username_key``)
    roles: tuple[str, ...]
    status: str
    given_name: str = ""
    family_name: str = ""

    @property
    def learner(self) -> bool:
        return any(r.rsplit("#", 1)[-1] == "Learner" for r in self.roles)


def fetch_members(config: ToolConfig, context: Context) -> list[Member]:
    """Every member of the VLE course, all pages (NRPS ``Link: rel=next``), through pylti1p3."""
    from pylti1p3.names_roles import NamesRolesProvisioningService

    if not context.memberships:
        raise LtiError(
            f"the VLE course {context.course!r} offers no membership service to this tool (turn "
            "on Names and Role Provisioning for the tool in the VLE, then launch it once)"
        )
    nrps = NamesRolesProvisioningService(
        _connector(config, context), {"context_memberships_url": context.memberships}
    )
    try:
        raw = nrps.get_members()
    except Exception as exc:
        status, text = _response_text(exc)
        raise LtiError(f"the VLE refused the course membership ({status}): {text}") from None
    members = []
    for m in raw:
        name = str(m.get(config.username_key) or "")
        if not name:
            raise LtiError(f"a member of {context.course!r} has no {config.username_key!r}")
        members.append(
            Member(
                str(m.get("user_id", "")),
                name,
                tuple(str(r) for r in m.get("roles", [])),
                str(m.get("status", "Active")),
                str(m.get("given_name", "")),
                str(m.get("family_name", "")),
            )
        )
    return members


@dataclass
class Roster:
    """What ``sync_roster`` found and changed."""

    members: list[Member]
    students_added: list[str] = field(default_factory=list)
    students_gone: list[str] = field(default_factory=list)  # in nbgrader, no longer on the VLE
    groups: dict[str, list[str]] = field(default_factory=dict)  # group -> members now
    added: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)


def _hub(method: str, url: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"token {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
            return answer.status, json.loads(text) if text else None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def sync_roster(
    config: ToolConfig,
    ledger: Ledger,
    course: str,
    *,
    course_root: str | Path | None = None,
    hub_api: str | None = None,
    hub_token: str | None = None,
    names: bool = False,
) -> Roster:
    """Create or refresh the nbgrader roster and the hub groups from the VLE course's members.

    Active Learners become nbgrader students (ids only unless ``names``: pseudonymous by
    default); nobody is removed from nbgrader (their work stays), those gone are reported. Each of
    the course's hub groups (:func:`courseware.hub.course_groups`) is set to exactly the members
    whose roles give it (:func:`courseware.hub.lti_groups`); other courses' groups are untouched.
    """
    from ..hub import course_groups, lti_groups

    context = ledger.context(course)
    members = fetch_members(config, context)
    active = [m for m in members if m.status == "Active"]
    ledger.record_members(course, {m.name: m.user_id for m in members})
    roster = Roster(members)
    if course_root is not None:
        from ..grading import CourseFolder

        with CourseFolder.open(course_root).gradebook() as gb:
            known = {s.id for s in gb.students}
            for m in active:
                if not m.learner:
                    continue
                extra = {"first_name": m.given_name, "last_name": m.family_name} if names else {}
                gb.update_or_create_student(m.name, **extra)
                if m.name not in known:
                    roster.students_added.append(m.name)
            learners = {m.name for m in active if m.learner}
            roster.students_gone = sorted(known - learners)
    wanted: dict[str, set[str]] = {g: set() for g in course_groups(course).values()}
    for m in active:
        for group in lti_groups({ROLES_CLAIM: list(m.roles)}, course=course):
            wanted.setdefault(group, set()).add(m.name)
    roster.groups = {g: sorted(v) for g, v in wanted.items()}
    if hub_api is None:
        return roster
    if not hub_token:
        raise LtiError("give the hub API token (JUPYTERHUB_API_TOKEN) to set the hub's groups")
    api = hub_api.rstrip("/")

    def quote(part: str) -> str:
        return urllib.parse.quote(part, safe="")

    for name in sorted({m.name for m in active}):
        status, answer = _hub("POST", f"{api}/users/{quote(name)}", hub_token, {})
        if status not in (201, 409):
            raise LtiError(f"the hub refused to add user {name!r} ({status}): {answer}")
    for group, want in wanted.items():
        status, answer = _hub("GET", f"{api}/groups/{quote(group)}", hub_token)
        if status == 404:
            status, answer = _hub("POST", f"{api}/groups/{quote(group)}", hub_token, {})
            if status != 201:
                raise LtiError(f"the hub refused to create group {group!r} ({status}): {answer}")
            answer = {"users": []}
        elif status != 200:
            raise LtiError(f"the hub refused to show group {group!r} ({status}): {answer}")
        now = set(answer.get("users", []))
        changes = (
            ("POST", "add to", sorted(want - now), roster.added),
            ("DELETE", "remove from", sorted(now - want), roster.removed),
        )
        for method, doing, users, done in changes:
            if not users:
                continue
            status, answer = _hub(
                method, f"{api}/groups/{quote(group)}/users", hub_token, {"users": users}
            )
            if status != 200:
                raise LtiError(f"the hub refused to {doing} {group!r} ({status}): {answer}")
            done[group] = users
    return roster
