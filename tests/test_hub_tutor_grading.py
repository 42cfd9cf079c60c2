"""Tutors grade in the browser on the hub: nbgrader's formgrader and the courseware marking view.

One real JupyterHub (deploy/jupyterhub_config.py with test identities), configurable-http-proxy,
the courseware service on PostgreSQL, and course101's formgrader as a hub service run by its grader
account (nbgrader's multi-course layout). The hub-wide nbgrader config (deploy/nbgrader_config.py,
with ``JupyterHubAuthPlugin``) is read by the learner's server and by the formgrader, as
/etc/jupyter/nbgrader_config.py would be. A learner submits through nbgrader's exchange; the
instructor collects and autogrades with nbgrader's command line; the tutor works in Debian's
Chromium signed in at the hub.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fixtures.hub.hubtest import Hub, http

from conftest import REPO

pytestmark = pytest.mark.hub

ASSIGNMENT = "reflective-essay"
COURSE = "course101"
BIN = Path(sys.executable).parent
ESSAY = (
    "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">\n"
    "On my first ward round a patient asked me whether she was dying. I froze, then said the "
    "registrar would be along soon. =1+1 I felt ashamed of that answer, and this essay is about "
    "what I would say now."
)


def nbgrader(course_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(course_dir)}
    return subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=course_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@dataclass
class Setup:
    hub: Hub
    course: Path
    exchange: Path


@pytest.fixture(scope="module")
def setup(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("tutor-hub")
    exchange = root / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    hub_wide = root / "etc-jupyter"
    hub_wide.mkdir()
    shutil.copy(REPO / "deploy" / "nbgrader_config.py", hub_wide / "nbgrader_config.py")
    course = root / "courses" / COURSE
    shutil.copytree(REPO / "assignments", course)
    config = course / "nbgrader_config.py"
    config.write_text(
        config.read_text().replace('course_id = "clinical-empathy"', f"course_id = {COURSE!r}")
        + f"c.Exchange.root = {str(exchange)!r}\n"
    )
    done = nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    assert done.returncode == 0, done.stderr[-3000:]
    done = nbgrader(course, "release_assignment", ASSIGNMENT)
    assert done.returncode == 0, done.stderr[-3000:]
    hub = Hub(
        root / "hub",
        database_url=postgres.create_database("tutor_grading"),
        groups={
            f"nbgrader-{COURSE}": ["stu"],
            f"formgrade-{COURSE}": ["tutor"],
            "formgrade-course202": ["other-tutor"],
        },
        courses=[COURSE, "course202"],
        formgraders={COURSE: course},
        env={"COURSEWARE_TEST_JUPYTER_CONFIG": str(hub_wide), "NBGRADER_EXCHANGE": str(exchange)},
    ).start()
    try:
        yield Setup(hub, course, exchange)
    finally:
        hub.stop()


def test_formgrader_lists_the_courses_assignments(setup: Setup) -> None:
    """The formgrader's own API, as its Manage Assignments page calls it, through the hub."""
    hub = setup.hub
    hub.ensure_user("tutor")
    status, answer = http(
        "GET", f"{hub.url}/services/{COURSE}/formgrader/api/assignments", token=hub.token("tutor")
    )
    assert status == 200, answer
    (found,) = [a for a in answer if a["name"] == ASSIGNMENT]
    assert found["status"] == "released"
