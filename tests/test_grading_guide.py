"""docs/grading.md, walked literally on a copy of the course folder with real nbgrader.

Every ``bash`` block marked ``<!-- walk -->`` (or ``<!-- walk: NAME -->``) runs in order, as written, in bash from inside a
copy of ``assignments/`` with this environment's ``bin`` first on ``PATH`` (as §1 says). Blocks not
marked (release and collect, which need an exchange; interactive marking) are read, not run. The
people in the guide do their part between blocks, as they would: learners' submissions appear after
``generate`` (a small cohort with a notebook that is not valid JSON and one that patched the grading
code), and the markers give their first marks after ``first-allocation`` with the guide's scripted
form (``courseware grade mark … --script … --level …``). The FAILED and flagged paths are walked
through ``confirm-failed`` and ``confirm-flagged``; then every export must agree per student.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO

sys.path.insert(0, str(FIXTURES / "grading"))
from cohort import COMM, ESSAY, _answers, _cell, _edit_notebook, _write_submission, essay_text

from courseware.grading._marking import MarkingBook
from courseware.grading._moderation import marking_queue
from courseware.grading._rubric import load_rubric

pytestmark = pytest.mark.timeout(900)

GUIDE = REPO / "docs" / "grading.md"
BLOCK = re.compile(
    r"^<!-- walk(?:: ([\w-]+))? -->\n```(?:bash|sh)\n(.*?)^```$", re.MULTILINE | re.DOTALL
)
BIN = str(Path(sys.executable).parent)
ESSAYS = ["s001", "s002", "s003"]
BROKEN = "s017"  # its essay notebook was cut off mid-upload: not valid JSON
PATCHED = "s022"  # a cell replaced grade_item: every widget item "scored" 2


def walked_blocks() -> list[tuple[str, str]]:
    blocks = BLOCK.findall(GUIDE.read_text(encoding="utf-8"))
    names = [name for name, _ in blocks]
    for needed in ("generate", "first-allocation", "confirm-failed", "confirm-flagged"):
        assert needed in names, f"docs/grading.md lost its walked block {needed!r}"
    return blocks


def submit(course: Path) -> None:
    """What learners hand in (placed where `nbgrader collect` puts it)."""
    release = course / "release"
    for student in ("s001", PATCHED):
        folder = course / "submitted" / student / COMM
        _write_submission(folder, release / COMM)
        cues, option = ([3, 5, 9], 2) if student == "s001" else ([], 0)
        (folder / "assessed-answers.json").write_text(
            json.dumps(_answers(cues, option, "What worries you most?"))
        )
    patch = "import courseware.grading as g\ng.grade_item = lambda *a, **k: 2.0"
    _edit_notebook(
        course / "submitted" / PATCHED / COMM / f"{COMM}.ipynb",
        lambda nb: nb["cells"].insert(
            2,
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "patch",
                "metadata": {},
                "outputs": [],
                "source": patch,
            },
        ),
    )
    for n, student in enumerate([*ESSAYS, BROKEN]):
        folder = course / "submitted" / student / ESSAY
        _write_submission(folder, release / ESSAY)
        notebook = folder / f"{ESSAY}.ipynb"
        _edit_notebook(notebook, lambda nb, n=n: _cell(nb, "essay").update(source=essay_text(n)))
        if student == BROKEN:
            text = notebook.read_text()
            notebook.write_text(text[: len(text) // 2])


def first_marks(course: Path, env: dict[str, str]) -> dict[str, float]:
    """Each marker works through their queue with the guide's scripted form."""
    rubric = load_rubric(course / "rubrics" / "reflect.yaml")
    totals: dict[str, float] = {}
    with MarkingBook(course / "marking.sqlite") as book:
        queues = {m: marking_queue(book, ESSAY, m) for m in ("alice", "bob")}
        students = {s.script: s.student for s in book.scripts(ESSAY)}
    for marker, queue in queues.items():
        for n, (script, _role) in enumerate(queue):
            level = ["thoughtful", "reflection", "critical"][n % 3]
            levels = [f"{c.id}={level}" for c in rubric.criteria]
            levels.append(f"overall={level}")
            if level == "critical":
                levels.append("learning=confirmatory")  # judged only within critical reflection
            args = [a for lv in levels for a in ("--level", lv)]
            done = bash(
                f"courseware grade mark {ESSAY} --marker {marker} --script {script} "
                + " ".join(args),
                course,
                env,
            )
            found = re.search(rf"{script}: (\d+(?:\.\d+)?) \((.+)\) recorded", done.stdout)
            assert found, done.stdout
            # the pass mark of a level-7 course (10 of 20) exactly when the level is reflection
            points = {"thoughtful": 6.5, "reflection": 10, "critical": 15}[level]
            assert float(found.group(1)) == points, done.stdout
            totals[students[script]] = float(found.group(1))
    return totals


def bash(body: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", body],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{body}\n{result.stdout}\n{result.stderr}"
    return result


def rows(path: Path, key: str = "student_id") -> dict[str, dict[str, str]]:
    with path.open() as handle:
        return {r[key]: r for r in csv.DictReader(handle)}


def test_grading_guide_walked_literally(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(REPO / "assignments", course)
    shutil.copytree(REPO / "courses", tmp_path / "courses")  # beside it, as in the repository
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\nc.Execute.timeout = 10\n")
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    out: dict[str, str] = {}
    totals: dict[str, float] = {}
    for name, body in walked_blocks():
        out[name] = bash(body, course, env).stdout
        if name == "generate":
            submit(course)
        elif name == "first-allocation":
            totals = first_marks(course, env)

    # the FAILED submission was named with its next step, and never became a script
    assert re.search(r"not graded: .*s017.*courseware grade confirm", out["first-allocation"])
    assert re.search(r"no script for s017: failed-to-grade", out["first-allocation"])
    assert sorted(totals) == ESSAYS
    # the flagged one was named too
    assert re.search(r"s022: 4/9 NEEDS REVIEW \(re-scored 0/9\)", out["autograde"])
    assert "s017: graded 10/20" in out["confirm-failed"]
    # scripts printed the course's standard and each grade's points
    assert "pass mark 50%, pass at Reflection or above" in out["first-allocation"]
    assert "Thoughtful action: 6.5/20 (fail)" in out["first-allocation"]
    assert "s022: graded 1/9" in out["confirm-flagged"]

    essay = rows(course / "essay-registry.csv")  # written before the confirmations
    assert essay[BROKEN]["status"] == "failed-to-grade" and essay[BROKEN]["score"] == ""
    comm = rows(course / "comm-registry.csv")
    assert comm[PATCHED]["status"] == "graded" and comm[PATCHED]["score"] == "1.0"
    assert (comm[PATCHED]["claimed_score"], comm[PATCHED]["rescored_score"]) == ("4.0", "0.0")
    assert "confirmed by carol" in comm[PATCHED]["note"]

    # now, after every step, all exports agree with each other per student
    bash(
        "nbgrader export && courseware grade export reflective-essay "
        "--registry final.csv --research final-research.csv",
        course,
        env,
    )
    essay = rows(course / "final.csv")
    nbgrader_rows = {
        r["student_id"]: r
        for r in csv.DictReader((course / "grades.csv").open())
        if r["assignment"] == ESSAY
    }
    want = {**totals, BROKEN: 10.0}
    for student, score in want.items():
        assert essay[student]["status"] == "graded", essay[student]
        assert float(essay[student]["score"]) == score
        assert float(nbgrader_rows[student]["raw_score"]) == score
    for student in ESSAYS:  # pass or fail by level, never by points alone
        assert essay[student]["result"] == ("pass" if want[student] >= 10 else "fail")
    research = list(csv.DictReader((course / "final-research.csv").open()))
    assert sorted(float(r["score"]) for r in research if r["status"] == "graded") == sorted(
        want.values()
    )
