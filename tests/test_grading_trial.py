"""What a tutor's own trial of docs/grading.md turned up, on real nbgrader: work that raised, failed a
test or had its protected cells edited is reported with the reason (never a bare score), and an
essay left as released is named by ``scripts`` instead of silently dropped.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import VENV_BIN, run_courseware, run_program

from conftest import FIXTURES, REPO

sys.path.insert(0, str(FIXTURES / "grading"))
from cohort import (
    COMM,
    ESSAY,
    SCRIPTS,
    _answers,
    _cell,
    _edit_notebook,
    _write_submission,
    essay_text,
)

pytestmark = pytest.mark.timeout(600)


def grade(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_courseware("grade", *args, cwd=cwd, timeout=500)


def nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_program(VENV_BIN / "nbgrader", *args, cwd=cwd, timeout=500)


def _insert(nb: dict[str, Any], index: int, source: str) -> None:
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": []}
    nb["cells"].insert(index, {**cell, "source": source})


@dataclass
class Trial:
    course: Path
    comm: dict[str, dict[str, Any]]
    comm_out: str
    scripts_out: str
    essay: dict[str, Any]


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trial]:
    course = tmp_path_factory.mktemp("trial")
    shutil.copytree(REPO / "assignments", course, dirs_exist_ok=True)
    for assignment in (COMM, ESSAY):
        nbgrader("generate_assignment", assignment, cwd=course)
    answers = json.dumps(_answers([3, 5, 9], 2, "I am so sorry. What worries you most?"))

    def comm(student: str) -> Path:
        folder = course / "submitted" / student / COMM
        _write_submission(folder, course / "release" / COMM)
        (folder / "assessed-answers.json").write_text(answers)
        # as nbgrader's exchange collects it, so release_feedback can deliver its feedback
        (folder / "submission_secret.txt").write_text(f"secret-of-{student}")
        return folder / f"{COMM}.ipynb"

    comm("ok")
    # a learner's own cell raises; grading carries on past it
    _edit_notebook(comm("raises"), lambda nb: _insert(nb, 2, "ratio = 1 / 0"))
    # a learner's cell breaks the check a test cell calls: that test fails and scores nothing
    _edit_notebook(
        comm("fails-test"),
        lambda nb: _insert(
            nb, 2, "import courseware.grading as g\ng.check_saved = lambda *a: 1 / 0"
        ),
    )

    def tamper(nb: dict[str, Any]) -> None:
        _cell(nb, "test-cues-breathless")["source"] = "print('all good')"
        nb["cells"][1]["source"] = "assessment = None  # not what was released"

    _edit_notebook(comm("tampered"), tamper)
    # a learner's cell makes every hidden test pass; the answers file earns nothing
    patched = comm("patched")
    (patched.parent / "assessed-answers.json").write_text(
        json.dumps(_answers([1], 0, "Right, let's get on."))
    )
    _edit_notebook(
        patched,
        lambda nb: _insert(
            nb, 2, "import courseware.grading as g\ng.grade_item = lambda *a, **k: None"
        ),
    )
    for student, text in (("writer", essay_text(1)), ("blank", None)):
        folder = course / "submitted" / student / ESSAY
        _write_submission(folder, course / "release" / ESSAY)
        if text is not None:
            _edit_notebook(
                folder / f"{ESSAY}.ipynb",
                lambda nb, text=text: _cell(nb, "essay").update(source=text),
            )
    comm_run = grade("autograde", COMM, "--jobs", "1", "--json", "comm.json", cwd=course)
    report = json.loads((course / "comm.json").read_text())
    grade("autograde", ESSAY, "--jobs", "1", "--json", "essay.json", cwd=course)
    scripts = grade(*SCRIPTS, cwd=course)
    comm_results = {r["student"]: r for r in report["results"]}
    essay = json.loads((course / "essay.json").read_text())
    yield Trial(course, comm_results, comm_run.stdout, scripts.stdout, essay)


def test_a_cell_that_raised_is_named_with_its_error(trial: Trial) -> None:
    assert trial.comm["ok"]["problems"] == []
    raised = trial.comm["raises"]
    assert raised["status"] == "graded"
    assert any(
        "cell 3 raised ZeroDivisionError: division by zero" in p for p in raised["problems"]
    ), raised["problems"]
    assert "raises: 5/9 + manual marking — communication-skills.ipynb cell 3 raised" in (
        trial.comm_out
    )


def test_a_failed_test_cell_is_named_and_scores_nothing(trial: Trial) -> None:
    failed = trial.comm["fails-test"]
    assert failed["status"] == "graded"
    notes = failed["problems"]
    for grade_id in ("test-cues-breathless", "test-reply-to-worry"):
        assert any(
            f"('{grade_id}') failed with ZeroDivisionError" in p and "no points" in p for p in notes
        ), notes
    assert failed["score"] == 0


def test_edited_protected_cells_are_reported(trial: Trial) -> None:
    notes = trial.comm["tampered"]["problems"]
    assert any(
        "cell 'test-cues-breathless' was edited although it is not editable" in p for p in notes
    ), notes
    assert any(
        "released cell 2 ('from courseware.grading import check_saved, open_assessment')" in p
        and "edited or deleted" in p
        for p in notes
    ), notes


def test_scripts_names_an_essay_left_as_released(trial: Trial) -> None:
    assert "1 scripts of reflective-essay" in trial.scripts_out, trial.scripts_out
    assert "no script for blank: answer cell 'essay' left as released" in trial.scripts_out
    essay = {r["student"]: r for r in trial.essay["results"]}
    assert essay["writer"]["problems"] == []
    assert essay["blank"]["problems"] == [
        "reflective-essay.ipynb: answer cell 'essay' left as released (nothing written): scored 0"
    ]


def test_registry_says_why_a_row_has_no_score(trial: Trial) -> None:
    grade("export", COMM, "--registry", "comm.csv", cwd=trial.course)
    with (trial.course / "comm.csv").open() as handle:
        rows = {r["student_id"]: r for r in csv.DictReader(handle)}
    # in the gradebook through the essay, never submitted this assignment
    assert rows["writer"]["status"] == "not-submitted"
    assert rows["writer"]["note"] == "nothing submitted for communication-skills"
    assert "cell 3 raised ZeroDivisionError" in rows["raises"]["note"]


def confirm_patched(course: Path) -> subprocess.CompletedProcess[str]:
    """The tutor confirms the flagged submission's re-scored items, marking Part C at once."""
    return grade(
        "confirm",
        COMM,
        "--student",
        "patched",
        "--rescored",
        "--score",
        "task-compose-reply=1",
        "--by",
        "carol",
        "--reason",
        "a cell replaced grade_item; scored from the answers file",
        cwd=course,
    )


def test_feedback_on_a_flagged_submission_is_provisional_until_confirmed(trial: Trial) -> None:
    """Feedback made before a tutor confirms a flagged submission's score shows the score its own
    kernel claimed: the learner is told it is provisional and the tutor what to do."""
    course = trial.course

    def feedback(student: str) -> str:
        return (course / "feedback" / student / COMM / f"{COMM}.html").read_text()

    made = nbgrader("generate_feedback", COMM, cwd=course)
    warned = {
        line.split("feedback for student ")[1].split()[0]: line
        for line in made.stderr.splitlines()
        if "flagged for review" in line
    }
    # a learner's cell broke the check its test cells call: also flagged (kernel 0, answers 5)
    assert sorted(warned) == ["fails-test", "patched"], made.stderr
    line = warned["patched"]
    assert "feedback for student patched on communication-skills/communication-skills" in line
    assert "the notebook claimed 5, re-scored 0" in line
    assert "`courseware grade confirm communication-skills --student patched --rescored`" in line
    assert "`nbgrader generate_feedback communication-skills --student patched --force`" in line
    flagged = feedback("patched")
    note = "<strong>Score under review:</strong> the scores on this page are provisional."
    assert note in flagged, flagged[:3000]
    assert "(Score: 5.0 / 9.0)" in flagged  # the kernel's claim, in nbgrader's header
    # the first thing after that header: before the other note and every cell of the notebook
    assert flagged.index(note) < flagged.index("<strong>Not marked yet:</strong>")
    assert flagged.index(note) < flagged.index("its code and output are not shown in feedback")
    assert "tamper" not in flagged.lower()
    honest = feedback("ok")
    assert "Score under review" not in honest and "(Score: 5.0 / 9.0)" in honest

    # a tutor marks ok's written part (as the formgrader saves a score) and makes its feedback again
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for cell in gb.find_submission_notebook(COMM, COMM, "ok").grades:
            if cell.needs_manual_grade:
                cell.manual_score, cell.needs_manual_grade = cell.max_score, False
        gb.db.commit()
    nbgrader("generate_feedback", COMM, "--student", "ok", "--force", cwd=course)
    # releasing provisional feedback warns, per student, with what to do; it is released anyway
    released = nbgrader("release_feedback", COMM, cwd=course)
    provisional = {
        line.split("feedback for student ")[1].split()[0]: line
        for line in released.stderr.splitlines()
        if "released while provisional" in line
    }
    assert sorted(provisional) == ["fails-test", "patched", "raises", "tampered"], released.stderr
    line = provisional["patched"]
    assert "(score under review, parts not marked yet)" in line, line
    assert "`courseware grade confirm communication-skills --student patched --rescored`" in line
    assert "`nbgrader generate_feedback communication-skills --student patched --force`" in line
    assert "`nbgrader release_feedback communication-skills --student patched`" in line
    assert (
        "(parts not marked yet)" in provisional["raises"] and "formgrader" in provisional["raises"]
    )
    outbound = course / "exchange" / "clinical-empathy" / "feedback"
    assert len(list(outbound.glob("*.html"))) == 5  # every student's, the honest one's too

    # confirming the score leaves that feedback (and its released copy) out of date: confirm says so
    told = confirm_patched(course).stdout
    assert "feedback made before this confirmation is out of date" in told, told
    page = f"feedback/patched/{COMM}/{COMM}.html"
    assert f"  {page} (it says: score under review, parts not marked yet)" in told, told
    assert f"make it again: nbgrader generate_feedback {COMM} --student patched --force" in told
    assert f"it was already released ({outbound}/" in told, told
    assert f"release it again after that: nbgrader release_feedback {COMM} --student patched" in (
        told
    )
    again = nbgrader("generate_feedback", COMM, "--student", "patched", "--force", cwd=course)
    assert "flagged for review" not in again.stderr, again.stderr
    confirmed = feedback("patched")
    assert "Score under review" not in confirmed and "Not marked yet" not in confirmed
    assert "(Score: 1.0 / 9.0)" in confirmed  # the confirmed scores, from the gradebook


def test_a_confirmed_score_stands_when_autograde_runs_again(trial: Trial) -> None:
    assert "patched: 5/9 NEEDS REVIEW (re-scored 0/9)" in trial.comm_out, trial.comm_out
    confirm_patched(trial.course)
    again = grade("autograde", COMM, "--student", "patched", cwd=trial.course).stdout
    (line,) = [row for row in again.splitlines() if row.startswith("  patched:")]
    assert line.startswith("  patched: 1/9 —"), line
    assert "NEEDS REVIEW" not in line and "re-scored" not in line, line
    assert "the score a tutor confirmed stands" in line, line
    assert "needs review" not in again
