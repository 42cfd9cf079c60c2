"""Roles and scopes as the service reads them, LTI 1.3 role mapping, and the deploy configs."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from traitlets.config import Config, PyFileConfigLoader

from courseware.hub import (
    COHORT_AGGREGATES,
    COHORT_READ,
    CUSTOM_SCOPES,
    LEARNER,
    POLLS_RUN,
    Permissions,
    course_roles,
    hub_roles,
    lti_groups,
)
from courseware.hub._lti import CONTEXT_CLAIM, ROLES_CLAIM

from conftest import REPO

LIS = "http://purl.imsglobal.org/vocab/lis/v2"


def test_permissions_read_expanded_filtered_scopes() -> None:
    perms = Permissions.from_model(
        {
            "name": "tess",
            "kind": "user",
            "scopes": [
                f"{LEARNER}!user=tess",
                f"{COHORT_READ}!group=nbgrader-y1",
                f"{COHORT_AGGREGATES}!group=nbgrader-y1",
                f"{COHORT_AGGREGATES}!group=nbgrader-y2",
                "access:services!service=courseware",
                "read:users:groups!user=tess",
            ],
        }
    )
    assert perms.learner
    assert perms.cohort_read.covers_group("nbgrader-y1")
    assert not perms.cohort_read.covers_group("nbgrader-y2")
    assert perms.cohort_aggregates.groups == {"nbgrader-y1", "nbgrader-y2"}
    assert not perms.polls_run and not perms.cohort_read.everywhere


def test_learner_scope_for_someone_else_does_not_make_you_a_learner() -> None:
    perms = Permissions.from_model({"name": "ben", "scopes": [f"{LEARNER}!user=ana"]})
    assert not perms.learner
    service = Permissions.from_model({"name": "grader", "kind": "service", "scopes": [LEARNER]})
    assert not service.learner  # services never save responses as a learner


def test_unfiltered_scope_covers_every_group() -> None:
    perms = Permissions.from_model({"name": "lead", "scopes": [POLLS_RUN, COHORT_READ]})
    assert perms.polls_run.covers_group("anything") and perms.cohort_read.everywhere


def test_roles_are_valid_for_jupyterhub() -> None:
    from jupyterhub import roles, scopes

    scopes.define_custom_scopes(CUSTOM_SCOPES)
    for role in hub_roles(["mbchb-y3"]):
        roles._validate_role_name(role["name"])
        scopes._check_scopes_exist(role["scopes"], who_for=role["name"])
    tutor = course_roles("mbchb-y3")[0]
    assert tutor["groups"] == ["formgrade-mbchb-y3"]
    assert f"{COHORT_READ}!group=nbgrader-mbchb-y3" in tutor["scopes"]


def launch(label: str, *roles: str) -> dict[str, Any]:
    return {
        "sub": "a1b2c3",
        CONTEXT_CLAIM: {"id": "ctx-42", "label": label, "title": "Year 3"},
        ROLES_CLAIM: list(roles),
    }


def test_lti_roles_map_to_course_groups() -> None:
    learner = launch("MBChB Y3", f"{LIS}/membership#Learner", f"{LIS}/institution/person#Student")
    assert lti_groups(learner) == ["nbgrader-mbchb-y3"]
    teacher = launch(
        "MBChB Y3", f"{LIS}/membership#Instructor", f"{LIS}/institution/person#Faculty"
    )
    assert lti_groups(teacher) == ["formgrade-mbchb-y3", "seminar-leads-mbchb-y3"]
    ta = launch("MBChB Y3", f"{LIS}/membership/Instructor#TeachingAssistant")
    assert lti_groups(ta) == ["formgrade-mbchb-y3"]
    assert lti_groups(launch("MBChB Y3", "Learner")) == ["nbgrader-mbchb-y3"]


def test_lti_launch_keeps_other_courses_and_replaces_this_one() -> None:
    current = ["nbgrader-pgcert", "formgrade-mbchb-y3", "admins"]
    now_learner = launch("MBChB Y3", f"{LIS}/membership#Learner")
    assert lti_groups(now_learner, current) == ["admins", "nbgrader-mbchb-y3", "nbgrader-pgcert"]


def test_lti_launch_without_context_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="context"):
        lti_groups({ROLES_CLAIM: [f"{LIS}/membership#Learner"]})


def load_config(path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Config:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    loader = PyFileConfigLoader(path.name, path=str(path.parent))
    return loader.load_config()


def test_single_machine_config_declares_service_roles_and_formgraders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = load_config(
        REPO / "deploy" / "jupyterhub_config.py",
        monkeypatch,
        COURSEWARE_COURSES="course101 course202",
        COURSEWARE_FORMGRADERS=f"course101={tmp_path}",
        COURSEWARE_DATABASE_URL="postgresql://courseware:secret@db/courseware",
    )
    services = {s["name"]: s for s in config.JupyterHub.services}
    assert services["courseware"]["environment"]["COURSEWARE_DATABASE_URL"].endswith(
        "@db/courseware"
    )
    assert "secret" not in str(config.Spawner.environment)
    assert services["course101"]["cwd"] == str(tmp_path)
    names = {r["name"] for r in config.JupyterHub.load_roles}
    assert {"user", "server", "courseware-tutor-course202", "formgrader-course101"} <= names
    assert "nbgrader-course202" in config.JupyterHub.load_groups


def test_lti_config_loads_into_the_real_authenticator(monkeypatch: pytest.MonkeyPatch) -> None:
    from ltiauthenticator.lti13.auth import LTI13Authenticator

    config = load_config(
        REPO / "deploy" / "lti13_config.py",
        monkeypatch,
        LTI13_CLIENT_ID="tool-1",
        LTI13_ISSUER="https://vle.example.ac.uk",
        LTI13_AUTHORIZE_URL="https://vle.example.ac.uk/auth",
        LTI13_JWKS_URL="https://vle.example.ac.uk/jwks",
    )
    assert "load_groups" not in config.JupyterHub  # the LMS owns groups
    assert os.environ.get("COURSEWARE_HUB_GROUPS") is None  # nothing leaks into other configs
    authenticator = LTI13Authenticator(config=config)
    assert authenticator.client_id == {"tool-1"} and authenticator.manage_groups
    # The hook, as JupyterHub calls it after a launch, for someone already on another course.
    existing = SimpleNamespace(groups=[SimpleNamespace(name="nbgrader-pgcert")])
    handler = SimpleNamespace(find_user=lambda name: existing)
    model = {"name": "a1b2c3", "auth_state": launch("MBChB Y3", f"{LIS}/membership#Instructor")}
    out = config.Authenticator.post_auth_hook(authenticator, handler, model)
    assert out["groups"] == ["formgrade-mbchb-y3", "nbgrader-pgcert", "seminar-leads-mbchb-y3"]


def test_formgrader_services_follow_nbgraders_multi_course_layout(tmp_path: Path) -> None:
    """Each course's formgrader runs as its grader account, which is in the course's graders'
    group (nbgrader's JupyterHubAuthPlugin finds the course through it); its token reads only that
    account and manages only the course's learners' group."""
    from traitlets.config import Config

    from courseware.hub import formgrader_services

    c = Config()
    c.JupyterHub.load_groups = {"formgrade-c1": {"users": ["tess"]}}
    formgrader_services(c, {"c1": tmp_path}, first_port=9000, unix_accounts=True)
    (service,) = c.JupyterHub.services
    assert service["user"] == "grader-c1" and "--allow-root" not in service["command"]
    assert service["url"] == "http://127.0.0.1:9000" and service["cwd"] == str(tmp_path)
    assert c.JupyterHub.load_groups["formgrade-c1"]["users"] == ["tess", "grader-c1"]
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["formgrader-c1"]["groups"] == ["formgrade-c1"]
    assert roles["formgrader-service-c1"]["services"] == ["c1"]
    assert all(
        scope.endswith(("!user=grader-c1", "!group=nbgrader-c1"))
        for scope in roles["formgrader-service-c1"]["scopes"]
    )

    lti = Config()  # an authenticator that manages groups: the config must not load any
    formgrader_services(lti, {"c1": tmp_path}, first_port=9000, groups=False)
    assert "load_groups" not in lti.JupyterHub
    assert "user" not in lti.JupyterHub.services[0]
    assert lti.JupyterHub.services[0]["environment"]["COURSEWARE_GRADER_ACCOUNT"] == "grader-c1"
