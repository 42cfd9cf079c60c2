"""deploy/nbgrader_config.py and a course folder's own config, loaded the way nbgrader loads them.

On a hub, /etc/jupyter/nbgrader_config.py (deploy/nbgrader_config.py) is read first, then the
``nbgrader_config.py`` of the folder nbgrader runs in: each course's formgrader service runs in its
course folder, as do the instructor's commands. These tests run nbgrader itself (its formgrader
extension, its command line) with the hub-wide file on ``JUPYTER_CONFIG_PATH``, no hub needed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, REPO

sys.path.insert(0, str(FIXTURES / "grading"))
from cohort import COMM, build_comm_cohort

BIN = Path(sys.executable).parent
MINIMAL = (  # what tests/test_hub_nbgrader.py gives each course folder: id and exchange only
    "c = get_config()\nc.CourseDirectory.course_id = 'course101'\n"
)

FORMGRADER = """
import json, os
from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension
app = FormgradeExtension()
app.root_dir = os.getcwd()  # the service's --ServerApp.root_dir, its working folder too
app.initialize([])
c = app.config
print(json.dumps({
    "preprocessors": [p.__name__ for p in c.GenerateFeedback.get("preprocessors", [])],
    "html_preprocessors": [p.__name__ for p in c.HTMLExporter.get("preprocessors", [])],
    "html_filters": {k: f.__name__ for k, f in c.HTMLExporter.get("filters", {}).items()},
    "release_feedback": getattr(c.ExchangeFactory.get("release_feedback"), "__name__", None),
    "add_missing_cells": c.OverwriteCells.get("add_missing_cells"),
    "course_id": c.CourseDirectory.get("course_id"),
    "exchange": c.Exchange.get("root"),
    "keys": os.environ.get("COURSEWARE_KEYS"),
}))
"""


def environment(tmp_path: Path) -> dict[str, str]:
    hub_wide = tmp_path / "etc-jupyter"
    hub_wide.mkdir(exist_ok=True)
    shutil.copy(REPO / "deploy" / "nbgrader_config.py", hub_wide / "nbgrader_config.py")
    home = tmp_path / "home"
    (home / ".jupyter").mkdir(parents=True, exist_ok=True)
    return {
        "PATH": f"{BIN}{os.pathsep}/usr/bin:/bin",
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_CONFIG_PATH": str(hub_wide),
        "NBGRADER_EXCHANGE": str(tmp_path / "exchange"),
    }


def formgrader_config(course: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", FORMGRADER],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def nbgrader(course: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_formgrader_in_a_course_folder_with_its_own_config(tmp_path: Path) -> None:
    """The course folder's copy of assignments/nbgrader_config.py (with the course's id) adds the
    course's answer keys to what the hub-wide file sets."""
    course = tmp_path / "course101"
    shutil.copytree(REPO / "assignments", course)
    config = course / "nbgrader_config.py"
    config.write_text(
        config.read_text().replace('course_id = "clinical-empathy"', 'course_id = "course101"')
    )
    found = formgrader_config(course, environment(tmp_path))
    assert found["preprocessors"] == [
        "GetGrades",
        "CSSHTMLHeaderPreprocessor",
        "HideTestsInFeedback",
        "FlagUnmarkedInFeedback",
    ]
    assert found["html_preprocessors"] == ["EscapeLearnerHTML"]
    assert found["html_filters"] == {"markdown2html": "safe_markdown2html"}
    assert found["release_feedback"] == "ReleaseFeedback"
    assert found["add_missing_cells"] is True
    assert found["course_id"] == "course101"
    assert found["exchange"] == str(tmp_path / "exchange")
    assert found["keys"] == str(course / "keys")


def test_formgrader_in_a_course_folder_without_the_course_config(tmp_path: Path) -> None:
    course = tmp_path / "course101"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(MINIMAL)
    found = formgrader_config(course, environment(tmp_path))
    assert "HideTestsInFeedback" in found["preprocessors"]
    # the hub-wide file alone keeps learners' HTML from running in the formgrader and feedback
    assert found["html_preprocessors"] == ["EscapeLearnerHTML"]
    assert found["html_filters"] == {"markdown2html": "safe_markdown2html"}
    assert found["add_missing_cells"] is True
    assert found["keys"] is None  # hidden tests then look for keys/ in the course folder


@pytest.mark.timeout(600)
def test_hub_wide_config_alone_grades_and_hides_tests(tmp_path: Path) -> None:
    """A course folder with only its id: nbgrader still restores a deleted test cell, hidden tests
    find the course's keys/ above the notebook, and feedback hides the tests."""
    course = tmp_path / "course101"
    course.mkdir()
    for part in ("source", "keys", "rubrics"):
        shutil.copytree(REPO / "assignments" / part, course / part)
    (course / "nbgrader_config.py").write_text(MINIMAL)
    env = environment(tmp_path)
    nbgrader(course, env, "generate_assignment", COMM)
    expected = build_comm_cohort(course, 2, bad=False)
    deleted = course / "submitted" / "deleted-cell" / COMM
    shutil.copytree(course / "submitted" / "s000" / COMM, deleted)
    notebook = deleted / f"{COMM}.ipynb"
    nb = json.loads(notebook.read_text())
    nb["cells"] = [
        cell
        for cell in nb["cells"]
        if cell["metadata"].get("nbgrader", {}).get("grade_id") != "test-cues-breathless"
    ]
    notebook.write_text(json.dumps(nb))
    expected["deleted-cell"] = expected["s000"]
    nbgrader(course, env, "autograde", COMM)
    nbgrader(course, env, "generate_feedback", COMM)

    import sqlite3

    with sqlite3.connect(course / "gradebook.db") as db:
        rows = db.execute(
            "SELECT student.id, SUM(grade.auto_score) FROM grade "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "JOIN student ON submitted_assignment.student_id = student.id "
            "GROUP BY student.id"
        ).fetchall()
    scores = {student: float(score) for student, score in rows}
    assert scores == pytest.approx({s: want["score"] for s, want in expected.items()})
    for student in expected:
        text = (course / "feedback" / student / COMM / f"{COMM}.html").read_text()
        assert "BEGIN HIDDEN" not in text and "option_points" not in text, student
        assert '<span class="n">grade_item</span>' not in text, student
