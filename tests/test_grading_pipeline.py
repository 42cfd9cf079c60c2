"""The real grading pipeline, end to end, on a synthetic cohort.

``nbgrader generate_assignment`` → submissions placed as nbgrader expects (34 students including every
kind of bad submission, and one that kills its grading process) → ``courseware grade autograde --jobs 2`` → blind first and second marking
with a disagreement → a third marker → agreed marks in the gradebook → ``nbgrader generate_feedback``
and ``nbgrader export`` → ``courseware grade export``. Each test looks at one stage of the same run.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import pytest
from helpers import VENV_BIN, run_courseware, run_program

from conftest import FIXTURES, REPO

sys.path.insert(0, str(FIXTURES / "grading"))
from cohort import (
    BAD_KINDS,
    COMM,
    ESSAY,
    ESSAY_BAD,
    SCRIPTS,
    build_comm_cohort,
    build_essay_bad,
    build_essay_cohort,
)
from nbgrader.api import MissingEntry

from courseware.grading._course import CourseFolder, GradingError
from courseware.grading._marking import MarkingBook
from courseware.grading._moderation import (
    marking_queue,
    marking_rubric,
    record_mark,
    script_text,
)
from courseware.grading._rubric import load_rubric

GOOD = 23  # + 13 bad kinds = 36 students
ESSAY_STUDENTS = [f"s{n:03d}" for n in range(13)]
BLANK = "s020"
NARRATIVE = "narrative-medicine"  # submits the essay notebook untouched: a real zero
pytestmark = pytest.mark.timeout(600)


def courseware(*args: str, cwd: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    """``courseware grade ARGS…`` in the course folder ``cwd``."""
    return run_courseware("grade", *args, cwd=cwd, timeout=400, **kw)


def nbgrader(*args: str, cwd: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    return run_program(VENV_BIN / "nbgrader", *args, cwd=cwd, timeout=400, **kw)


def essay_number(text: str) -> int:
    found = re.match(r"Essay (\d+)\.", text)
    assert found, text[:80]
    return int(found.group(1))


CRITERIA = ["writing-spectrum", "presence", "dilemma", "emotions", "meaning-making"]
LEVELS = ["habitual", "thoughtful", "reflection", "critical"]


def first_levels(n: int) -> dict[str, str]:
    """What a marker judges essay ``n`` to be: a spread across the range, some fails."""
    level = LEVELS[n % 4]
    levels = {**dict.fromkeys(CRITERIA, level), "overall": level}
    if level == "critical":
        levels["learning"] = ["confirmatory", "transformative"][n % 2]
    return levels


def total(levels: dict[str, str]) -> float:
    """A grade's points in the 20-point essay cell at FHEQ level 7 with pass level reflection."""
    points = {"habitual": 3, "thoughtful": 6.5, "reflection": 10}
    if levels["overall"] == "critical":
        return {"confirmatory": 15, "transformative": 20}[levels["learning"]]
    return points[levels["overall"]]


def reflect_rubric(course: Path) -> Any:
    """The essay's rubric under the standard `scripts --course-file` recorded."""
    with MarkingBook(course / "marking.sqlite") as book:
        return marking_rubric(course, book, ESSAY)


@dataclass
class Run:
    course: Path
    expected: dict[str, dict[str, Any]]
    autograde: subprocess.CompletedProcess[str]
    report: dict[str, Any]
    plain_scores: dict[str, dict[str, float]]
    essay_autograde: subprocess.CompletedProcess[str]
    essay_report: dict[str, Any]
    marks: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> role -> total
    disputed: str = ""
    agreed: dict[str, float] = field(default_factory=dict)
    third_view: str = ""
    scripts_out: str = ""
    remarked: str = ""


def cell_scores(course: Path, assignment: str) -> dict[str, dict[str, float]]:
    with CourseFolder.open(course).gradebook() as gb:
        found = {}
        for submission in gb.assignment_submissions(assignment):
            found[submission.student.id] = {
                g.name: g.auto_score for nb in submission.notebooks for g in nb.grades
            }
        return found


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "assignments", course, dirs_exist_ok=True)
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\nc.Execute.timeout = 6  # the endless-loop submission costs 6 s, not 30\n")
    for assignment in (COMM, ESSAY, NARRATIVE):
        nbgrader("generate_assignment", assignment, cwd=course)
    expected = build_comm_cohort(course, GOOD)
    build_essay_cohort(course, ESSAY_STUDENTS)
    build_essay_bad(course)
    blank = course / "submitted" / BLANK / ESSAY
    shutil.copytree(course / "release" / ESSAY, blank)
    (blank / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")

    # plain nbgrader on a copy of part of the cohort, to compare what lands in the gradebook
    plain = tmp_path_factory.mktemp("plain")
    shutil.copytree(course, plain, dirs_exist_ok=True)
    keep = {
        "s000",
        "s001",
        "s002",
        "s003",
        "bad-deleted-cell",
        "bad-changed-cell-type",
        "bad-patched-grader",
    }
    for folder in (plain / "submitted").iterdir():
        if folder.name not in keep:
            shutil.rmtree(folder)
    (plain / "nbgrader_config.py").write_text(
        (plain / "nbgrader_config.py").read_text().replace(str(course), str(plain))
    )
    nbgrader("autograde", COMM, cwd=plain, expect_ok=False)
    plain_scores = cell_scores(plain, COMM)

    result = courseware("autograde", COMM, "--jobs", "2", "--json", "report.json", cwd=course)
    report = json.loads((course / "report.json").read_text())
    essay = courseware("autograde", ESSAY, "--jobs", "2", "--json", "essay.json", cwd=course)
    essay_report = json.loads((course / "essay.json").read_text())
    yield Run(course, expected, result, report, plain_scores, essay, essay_report)


def test_every_student_is_reported_with_status_and_reason(pipeline: Run) -> None:
    results = {r["student"]: r for r in pipeline.report["results"]}
    assert len(results) == GOOD + len(BAD_KINDS) >= 30
    for student, want in pipeline.expected.items():
        got = results[student]
        assert got["status"] == want["status"], (student, got)
        if "score" in want:
            assert got["score"] == pytest.approx(want["score"]), (student, got)
        if "reason" in want:
            assert any(want["reason"] in p for p in got["problems"]), (student, got["problems"])
        elif student.startswith("s"):
            assert got["problems"] == [], (student, got["problems"])
    out = pipeline.autograde.stdout
    assert "summary: 3 failed, 31 graded, 2 skipped" in out
    assert re.search(r"bad-corrupted-metadata: FAILED .*metadata is corrupted", out)
    assert "bad-empty-folder: SKIPPED — the submission folder is empty" in out
    total = len(results)
    assert f"{total} students in" in out
    assert "[#" not in pipeline.autograde.stderr  # no progress bar off a terminal
    assert "bad-kills-grader: FAILED" in out and "s022: 0/9" in out  # the batch went on
    assert "bad-patched-grader: 4/9 NEEDS REVIEW (re-scored 0/9)" in out
    assert re.search(r"needs review: bad-patched-grader\. .*courseware grade confirm", out)


def test_essays_autograde_could_not_grade_are_reported_with_next_step(pipeline: Run) -> None:
    results = {r["student"]: r for r in pipeline.essay_report["results"]}
    for student, (status, reason) in ESSAY_BAD.items():
        assert results[student]["status"] == status, results[student]
        assert any(reason in p for p in results[student]["problems"]), results[student]
    out = pipeline.essay_autograde.stdout
    assert re.search(r"not graded: e-invalid-json, e-os-exit\. .*courseware grade confirm", out)


def test_parallel_scores_equal_plain_nbgrader(pipeline: Run) -> None:
    ours = cell_scores(pipeline.course, COMM)
    assert pipeline.plain_scores, "plain nbgrader graded nothing"
    for student, cells in pipeline.plain_scores.items():
        assert ours[student] == cells, student
    assert ours["bad-deleted-cell"]["test-cues-breathless"] == 3.0  # restored and run


def test_hidden_tests_and_key_never_released(pipeline: Run) -> None:
    release = pipeline.course / "release" / COMM
    text = (release / f"{COMM}.ipynb").read_text()
    assert "grade_item" not in text and "BEGIN HIDDEN" not in text
    assert sorted(p.name for p in release.iterdir()) == [f"{COMM}.ipynb", "items.yaml"]
    assert "option_points" not in (release / "items.yaml").read_text()


def test_manually_graded_assignments_release_cleanly(pipeline: Run) -> None:
    with CourseFolder.open(pipeline.course).gradebook() as gb:
        essay = gb.find_assignment(ESSAY)
        narrative = gb.find_assignment(NARRATIVE)
        assert essay.max_score == 20 and narrative.max_score == 20
        cells = {c.name: c.max_score for nb in narrative.notebooks for c in nb.grade_cells}
        assert cells == {"close-reading": 10, "parallel-chart": 10}
    for assignment in (ESSAY, NARRATIVE):
        text = (pipeline.course / "release" / assignment / f"{assignment}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "YOUR ANSWER HERE" in text


def mark_all(run_: Run, book: MarkingBook, rubric: Any, marker: str, adjust: str = "") -> None:
    course = CourseFolder.open(run_.course)
    for script_id, role in marking_queue(book, ESSAY, marker):
        n = essay_number(script_text(course, book.script(script_id)))
        levels = first_levels(n)
        student = book.script(script_id).student
        if role == "second" and student == adjust:
            levels = {
                **dict.fromkeys([*CRITERIA, "overall"], "critical"),
                "learning": "transformative",
            }
            run_.disputed = student
        record_mark(
            book,
            rubric,
            script_id,
            marker,
            levels,
            {"presence": f"=HYPERLINK() note {n}"},
            f"Overall {n} <b>ok</b>",
        )
        run_.marks.setdefault(student, {})[role] = total(levels)


@pytest.fixture(scope="module")
def marked(pipeline: Run) -> Run:
    course = pipeline.course
    out = courseware(*SCRIPTS, cwd=course).stdout
    pipeline.scripts_out = out
    assert f"{len(ESSAY_STUDENTS)} scripts" in out  # the untouched essay was already scored 0
    courseware("allocate", ESSAY, "--role", "first", "--markers", "alice,bob", cwd=course)
    early = courseware(
        "allocate", ESSAY, "--role", "second", "--markers", "bob", cwd=course, expect_ok=False
    )
    assert early.returncode == 1 and "have no first mark yet" in early.stderr
    assert "standard: creative-medicine-cpd, FHEQ level 7, pass mark 50%" in out
    rubric = reflect_rubric(course)
    with MarkingBook(course / "marking.sqlite") as book:
        someone_elses = marking_queue(book, ESSAY, "alice")[0][0]
        with pytest.raises(GradingError, match="not allocated to 'mallory'"):
            record_mark(book, rubric, someone_elses, "mallory", first_levels(0))
    with MarkingBook(course / "marking.sqlite") as book:
        for marker in ("alice", "bob"):
            mark_all(pipeline, book, rubric, marker)
        # alice opens one of her marked scripts again, with the same levels and a new comment
        script_id = next(s for s, r in book.allocations(ESSAY).items() if r["first"] == "alice")
        n = essay_number(script_text(CourseFolder.open(course), book.script(script_id)))
    levels = first_levels(n)
    answers = "".join(f"{LEVELS.index(levels[c.id]) + 1}\n\n" for c in rubric.criteria)
    answers += f"{LEVELS.index(levels['overall']) + 1}\n"
    if "learning" in levels:
        answers += f"{['confirmatory', 'transformative'].index(levels['learning']) + 1}\n"
    remark = courseware(
        "mark",
        ESSAY,
        "--marker",
        "alice",
        "--script",
        script_id,
        cwd=course,
        stdin=answers + "Re-read: a clearer account than I first thought.\n",
    )
    assert f"saved {script_id}: {total(levels):g}" in remark.stdout, remark.stdout
    pipeline.remarked = script_id
    courseware("allocate", ESSAY, "--role", "second", "--markers", "alice,bob", cwd=course)
    with MarkingBook(course / "marking.sqlite") as book:
        sampled = [
            s.student for s in book.scripts(ESSAY) if "second" in book.allocations(ESSAY)[s.script]
        ]
        # a script whose first mark is a pass below the top, pushed up by the second marker
        target = next(s for s in sampled if pipeline.marks[s]["first"] in (10, 15))
        for marker in ("alice", "bob"):
            mark_all(pipeline, book, rubric, marker, adjust=target)
    moderation = courseware("moderate", ESSAY, cwd=course).stdout
    assert re.search(r"waiting for a third mark: S-[0-9A-F]{8}$", moderation, re.M), moderation
    courseware("allocate", ESSAY, "--role", "third", "--markers", "carol", cwd=course)
    # carol marks at the terminal: level numbers, comments, overall comment
    # reflection, reflection, thoughtful, reflection, thoughtful: at most reflection overall
    answers = "3\nClear account.\n3\n\n2\n\n3\n\n2\n\n4\n3\nThoughtful; see comments.\n"
    view = courseware("mark", ESSAY, "--marker", "carol", cwd=course, stdin=answers).stdout
    pipeline.third_view = view
    assert "the criteria support at most Reflection" in view
    assert "please type a number from 1 to 3" in view  # critical reflection was refused
    pipeline.marks[pipeline.disputed]["third"] = 10
    courseware("moderate", ESSAY, "--write", cwd=course)
    with MarkingBook(course / "marking.sqlite") as book:
        scripts = {s.script: s.student for s in book.scripts(ESSAY)}
        pipeline.agreed = {scripts[k]: v.total for k, v in book.agreed(ESSAY).items()}
    return pipeline


def expected_agreed(marks: dict[str, float]) -> float:
    if "second" not in marks:
        return marks["first"]
    if "third" in marks:
        return sorted(marks.values())[1]
    return round((marks["first"] + marks["second"]) / 2 * 2) / 2


def test_failed_and_deleted_essays_never_become_scripts(marked: Run) -> None:
    out = marked.scripts_out
    assert re.search(r"no script for e-invalid-json: failed-to-grade: .*not a notebook", out)
    assert re.search(r"no script for e-os-exit: failed-to-grade: .*courseware grade confirm", out)
    assert "no script for e-deleted-essay: answer cell 'essay' was deleted" in out
    course = CourseFolder.open(marked.course)
    with MarkingBook(marked.course / "marking.sqlite") as book:
        scripts = book.scripts(ESSAY)
        assert not {s.student for s in scripts} & set(ESSAY_BAD)
        for script in scripts:
            text = script_text(course, script)
            assert "This cell was missing" not in text and "YOUR ANSWER HERE" not in text


def test_a_marker_can_open_a_marked_script_again(marked: Run) -> None:
    with MarkingBook(marked.course / "marking.sqlite") as book:
        latest = book.marks(ESSAY)[marked.remarked]["first"]
        assert latest.marker == "alice"
        assert latest.comment == "Re-read: a clearer account than I first thought."
    with sqlite3.connect(marked.course / "marking.sqlite") as db:
        (count,) = db.execute(
            "SELECT count(*) FROM marks WHERE script = ? AND role = 'first'", (marked.remarked,)
        ).fetchone()
    assert count == 2  # the earlier mark is kept in the marking book
    with MarkingBook(marked.course / "marking.sqlite") as book:
        remarks = [r for r in book.remarks(ESSAY) if r.script == marked.remarked]
    (remark,) = remarks  # the same levels again: old and new level recorded, and equal
    assert remark.old_level == remark.new_level and remark.marker == "alice"


def test_moderate_write_refuses_a_failed_submission(marked: Run) -> None:
    """A script made for e-os-exit before the fix (an old marking book) is marked and agreed, but
    `moderate --write` keeps it out of the gradebook."""
    course = marked.course
    rubric = reflect_rubric(course)
    with MarkingBook(course / "marking.sqlite") as book:
        stale = book.add_script(ESSAY, "e-os-exit", ESSAY, "essay", "reflect")
        book.allocate(stale, "first", "alice")
        record_mark(book, rubric, stale, "alice", first_levels(3))
    out = courseware("moderate", ESSAY, "--write", cwd=course).stdout
    assert re.search(rf"not written for {stale}: failed-to-grade: autograde could not grade", out)
    # (no row at all: nothing was written either)
    with CourseFolder.open(course).gradebook() as gb, contextlib.suppress(MissingEntry):
        assert gb.find_grade("essay", ESSAY, ESSAY, "e-os-exit").manual_score is None


def test_sample_covers_fails_and_range(marked: Run) -> None:
    firsts = {s: m["first"] for s, m in marked.marks.items()}
    sampled = {s for s, m in marked.marks.items() if "second" in m}
    assert len(sampled) >= 10
    assert {s for s, t in firsts.items() if t < 10} <= sampled  # every fail (below reflection)
    assert min(firsts.values()) in {firsts[s] for s in sampled}
    assert max(firsts.values()) in {firsts[s] for s in sampled}


def test_third_marker_sees_no_name_and_no_other_marks(marked: Run) -> None:
    view = marked.third_view
    assert re.search(r"Script S-[0-9A-F]{8}", view)
    assert marked.disputed not in view
    assert "alice" not in view and "bob" not in view
    assert "saved S-" in view


def test_agreed_marks_in_gradebook_feedback_and_export(marked: Run) -> None:
    course = marked.course
    for student, marks in marked.marks.items():
        assert marked.agreed[student] == expected_agreed(marks), (student, marks)
    assert marked.agreed[marked.disputed] == sorted(marked.marks[marked.disputed].values())[1]
    with CourseFolder.open(course).gradebook() as gb:
        for student, value in marked.agreed.items():
            grade = gb.find_grade("essay", ESSAY, ESSAY, student)
            assert grade.manual_score == value and not grade.needs_manual_grade

    nbgrader("generate_feedback", ESSAY, cwd=course)
    nbgrader("generate_feedback", COMM, cwd=course)
    disputed = (course / "feedback" / marked.disputed / ESSAY / f"{ESSAY}.html").read_text()
    # agreed: the middle of three marks (first 10 or 15, second 20, third 10), which is the first
    # mark; the learner reads that mark's levels and words (a marker's HTML as text)
    level = {10: "Reflection", 15: "Critical reflection"}[marked.agreed[marked.disputed]]
    assert f"Writing spectrum: {level}" in disputed
    with MarkingBook(course / "marking.sqlite") as book:
        script = next(s.script for s in book.scripts(ESSAY) if s.student == marked.disputed)
        words = book.marks(ESSAY)[script]["first"].comment
    assert escape(words, quote=False) in disputed and "<b>ok</b>" not in disputed
    pages = sorted((course / "feedback").glob(f"*/{COMM}/{COMM}.html"))
    graded = {s for s, want in marked.expected.items() if want["status"] == "graded"}
    assert graded and graded <= {page.parts[-3] for page in pages}  # a page for each graded one
    for html in pages:
        text = html.read_text()
        assert "BEGIN HIDDEN" not in text, html
        # the hidden call itself (a learner's own cell may mention grade_item, as one here does)
        assert '<span class="n">grade_item</span><span class="p">(</span>' not in text, html
        assert "cues found" not in text and "option_points" not in text, html
        assert "its code and output are not shown in feedback" in text

    nbgrader("export", cwd=course)
    with (course / "grades.csv").open() as handle:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(handle)}
    for student, value in marked.agreed.items():
        assert float(rows[(ESSAY, student)]["score"]) == value
    assert float(rows[(ESSAY, BLANK)]["score"]) == 0.0
    for student, want in marked.expected.items():
        if want["status"] == "graded":
            assert float(rows[(COMM, student)]["raw_score"]) == pytest.approx(want["score"])


def test_autograde_again_keeps_agreed_marks_or_refuses_changed_work(marked: Run) -> None:
    course = marked.course
    student = sorted(marked.agreed)[0]
    again = courseware("autograde", ESSAY, "--student", student, cwd=course).stdout
    assert f"kept the marks already agreed or confirmed: essay {marked.agreed[student]:g}" in again
    with CourseFolder.open(course).gradebook() as gb:
        grade = gb.find_grade("essay", ESSAY, ESSAY, student)
        assert grade.manual_score == marked.agreed[student] and not grade.needs_manual_grade
        assert not gb.find_submission(ESSAY, student).needs_manual_grade
    # a different file in place of the one marked: refused, nothing graded
    notebook = course / "submitted" / student / ESSAY / f"{ESSAY}.ipynb"
    original = notebook.read_bytes()
    notebook.write_bytes(original.replace(b"Essay ", b"Essay (rewritten) ", 1))
    try:
        refused = courseware("autograde", ESSAY, "--student", student, cwd=course, expect_ok=False)
    finally:
        notebook.write_bytes(original)
    assert refused.returncode == 1
    assert f"the submission of {student} changed since it was graded" in refused.stderr
    assert "courseware grade confirm" in refused.stderr


def test_registry_tells_zero_from_failed_and_unmarked(marked: Run) -> None:
    course = marked.course
    courseware("export", ESSAY, "--registry", "essay.csv", "--research", "research.csv", cwd=course)
    courseware("export", COMM, "--registry", "comm.csv", cwd=course)
    with (course / "essay.csv").open() as handle:
        essay = {r["student_id"]: r for r in csv.DictReader(handle)}
    assert essay[BLANK]["status"] == "graded" and essay[BLANK]["score"] == "0.0"
    for student, value in marked.agreed.items():
        assert essay[student]["status"] == "graded" and float(essay[student]["score"]) == value
        # a pass exactly when the agreed level reaches reflection, the course's pass level
        assert essay[student]["result"] == ("pass" if value >= 10 else "fail"), essay[student]
        level = {
            3: "habitual",
            6.5: "thoughtful",
            10: "reflection",
            15: "critical-confirmatory",
            20: "critical-transformative",
        }[value]
        assert essay[student]["level"] == level
        assert essay[student]["level"].startswith("critical") == (value > 10)
    # the evaluation reads the export's levels as they are (one per agreed essay, no problems)
    from courseware.analytics import Pseudonyms, read_levels

    pseudonyms = Pseudonyms(b"k" * 32)
    read = read_levels(course / "essay.csv", pseudonyms)
    assert not read.problems
    levels = dict(zip(read.levels["learner"], read.levels["level"], strict=True))
    names = {"habitual": "habitual action", "thoughtful": "thoughtful action"}
    names |= {"reflection": "reflection", "critical": "critical reflection"}
    for student in marked.agreed:
        expected = names[essay[student]["level"].partition("-")[0]]
        assert levels[pseudonyms(student)] == expected
    assert essay["s015"]["status"] == "not-submitted"  # in the gradebook, no essay
    assert essay["s015"]["score"] == ""
    with (course / "comm.csv").open() as handle:
        comm = {r["student_id"]: r for r in csv.DictReader(handle)}
    assert comm["bad-not-a-notebook"]["status"] == "failed-to-grade"
    assert comm["bad-not-a-notebook"]["score"] == ""
    assert "not a notebook" in comm["bad-not-a-notebook"]["note"]
    assert comm["bad-empty-folder"]["status"] == "not-submitted"
    assert comm["s000"]["status"] == "needs-manual-marking" and comm["s000"]["score"] == ""
    assert "possible tampering" in comm["bad-patched-grader"]["note"]
    for kind, odd in (("bonus-question", "'bonus-question'"), ("planted-key", "keys/")):
        assert comm[f"bad-{kind}"]["status"] == "needs-manual-marking", comm[f"bad-{kind}"]
        assert odd in comm[f"bad-{kind}"]["note"], comm[f"bad-{kind}"]
    assert essay["e-deleted-essay"]["status"] == "graded"
    assert essay["e-deleted-essay"]["score"] == "0.0"
    assert "answer cell 'essay' was deleted" in essay["e-deleted-essay"]["note"]
    for student in ("e-invalid-json", "e-os-exit"):
        assert essay[student]["status"] == "failed-to-grade", essay[student]
        assert essay[student]["score"] == ""
        assert "courseware grade confirm" in essay[student]["note"]
    research = (course / "research.csv").read_text()
    for student in [*marked.agreed, BLANK]:
        assert student not in research
    assert "HYPERLINK" not in research and "Overall" not in research  # no free text
    rows = list(csv.DictReader(research.splitlines()))
    assert all(re.fullmatch(r"P-[0-9a-f]{12}", r["pseudonym"]) for r in rows)


def test_examiner_pack_is_anonymous(marked: Run) -> None:
    course = marked.course
    courseware("examiner-pack", ESSAY, "--out", "pack", cwd=course)
    pack = course / "pack"
    everything = "".join(p.read_text() for p in pack.rglob("*") if p.is_file())
    for student in marked.marks:
        assert student not in everything
    for name in ("alice", "bob", "carol"):
        assert name not in everything
    summary = json.loads((pack / "summary.json").read_text())
    assert summary["double_marked"] == sum("second" in m for m in marked.marks.values())
    with (pack / "marks.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["marker"] for r in rows} >= {"Marker A", "Marker B", "Marker C"}
    assert len(list((pack / "scripts").glob("S-*.md"))) == summary["double_marked"]
    assert summary["standard"]["pass_level"] == "reflection"
    assert {r["level:overall"] for r in rows if r["role"] != "agreed"} <= set(LEVELS)
    with (pack / "remarks.csv").open() as handle:
        remarks = list(csv.DictReader(handle))
    assert [r["script"] for r in remarks] == [marked.remarked]
    assert remarks[0]["marker"].startswith("Marker ")


def test_narrative_medicine_parts_are_marked_against_their_rubric(pipeline: Run) -> None:
    """Both parts of the narrative-medicine piece become scripts marked with its own rubric, and
    each part's agreed mark lands in its own cell."""
    course = pipeline.course
    students = ["s000", "s001", "s002"]
    for n, student in enumerate(students):
        folder = course / "submitted" / student / NARRATIVE
        shutil.copytree(course / "release" / NARRATIVE, folder)
        (folder / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
        notebook = folder / f"{NARRATIVE}.ipynb"
        nb = json.loads(notebook.read_text())
        for cell in nb["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id:
                cell["source"] = f"{grade_id} by student {n}: the leaflet, folded and unfolded."
        notebook.write_text(json.dumps(nb))
    courseware("autograde", NARRATIVE, "--jobs", "2", cwd=course)
    for cell, count in (("close-reading", 3), ("parallel-chart", 6)):
        out = courseware(
            "scripts", NARRATIVE, "--rubric", "narrative-medicine", "--cell", cell, cwd=course
        ).stdout
        assert f"{count} scripts of {NARRATIVE} to mark with rubric narrative-medicine" in out
    rubric = load_rubric(course / "rubrics" / "narrative-medicine.yaml")
    first = {c.id: "secure" for c in rubric.criteria}  # 6
    second = {**first, "insight": "accomplished"}  # 7: a different band, so a third marker
    expected: dict[tuple[str, str], float] = {}
    courseware("allocate", NARRATIVE, "--role", "first", "--markers", "alice,bob", cwd=course)
    with MarkingBook(course / "marking.sqlite") as book:
        for marker in ("alice", "bob"):
            for script, _ in marking_queue(book, NARRATIVE, marker):
                record_mark(book, rubric, script, marker, first)
    courseware("allocate", NARRATIVE, "--role", "second", "--markers", "alice,bob", cwd=course)
    with MarkingBook(course / "marking.sqlite") as book:
        for marker in ("alice", "bob"):
            for script, _ in marking_queue(book, NARRATIVE, marker):
                info = book.script(script)
                levels = second if info.cell == "parallel-chart" else first
                record_mark(book, rubric, script, marker, levels)
                expected[(info.student, info.cell)] = rubric.total(levels)
    out = courseware("moderate", NARRATIVE, cwd=course).stdout
    assert "waiting for a third mark" in out  # the parallel charts: merit and distinction
    courseware("allocate", NARRATIVE, "--role", "third", "--markers", "carol", cwd=course)
    with MarkingBook(course / "marking.sqlite") as book:
        for script, _ in marking_queue(book, NARRATIVE, "carol"):
            record_mark(book, rubric, script, "carol", first)
            expected[(book.script(script).student, book.script(script).cell)] = 6.0  # median
    courseware("moderate", NARRATIVE, "--write", cwd=course)
    assert len(expected) == 6
    with CourseFolder.open(course).gradebook() as gb:
        for (student, cell), value in expected.items():
            grade = gb.find_grade(cell, NARRATIVE, NARRATIVE, student)
            assert grade.manual_score == value, (student, cell)
            comment = gb.find_comment(cell, NARRATIVE, NARRATIVE, student).manual_comment
            assert "Attention to form and voice: Secure" in comment


def test_flagged_submission_needs_review_until_a_tutor_confirms(marked: Run) -> None:
    course = marked.course
    courseware("export", COMM, "--registry", "flagged.csv", cwd=course)
    with (course / "flagged.csv").open() as handle:
        row = {r["student_id"]: r for r in csv.DictReader(handle)}["bad-patched-grader"]
    assert row["status"] == "needs-review" and row["score"] == ""
    assert (row["claimed_score"], row["rescored_score"]) == ("4.0", "0.0")
    assert "the notebook claimed 4, re-scored 0" in row["note"]
    no_reason = courseware(
        "confirm",
        COMM,
        "--student",
        "bad-patched-grader",
        "--rescored",
        "--reason",
        " ",
        "--by",
        "carol",
        cwd=course,
        expect_ok=False,
    )
    assert no_reason.returncode == 1 and "give a --reason" in no_reason.stderr
    out = courseware(
        "confirm",
        COMM,
        "--student",
        "bad-patched-grader",
        "--rescored",
        "--score",
        "task-compose-reply=1",
        "--reason",
        "grade_item patched; answers file re-scored",
        "--by",
        "carol",
        cwd=course,
    ).stdout
    assert "bad-patched-grader: graded 1/9" in out, out
    courseware("export", COMM, "--registry", "flagged.csv", cwd=course)
    with (course / "flagged.csv").open() as handle:
        row = {r["student_id"]: r for r in csv.DictReader(handle)}["bad-patched-grader"]
    assert row["status"] == "graded" and row["score"] == "1.0"
    assert (row["claimed_score"], row["rescored_score"]) == ("4.0", "0.0")  # both kept
    assert "score confirmed by carol: grade_item patched" in row["note"]


def test_failed_submission_marked_by_hand_through_confirm(marked: Run) -> None:
    course = marked.course
    partial = courseware(
        "confirm",
        ESSAY,
        "--student",
        "e-invalid-json",
        "--score",
        "nothing=3",
        "--reason",
        "x",
        "--by",
        "carol",
        cwd=course,
        expect_ok=False,
    )
    assert partial.returncode == 1 and "has no cell 'nothing' (cells: essay)" in partial.stderr
    out = courseware(
        "confirm",
        ESSAY,
        "--student",
        "e-invalid-json",
        "--score",
        "essay=12",
        "--reason",
        "notebook file truncated; marked the essay from the original by hand",
        "--by",
        "carol",
        cwd=course,
    ).stdout
    assert "e-invalid-json: graded 12/20" in out, out


def _exports(course: Path, assignment: str) -> dict[str, dict[str, dict[str, str]]]:
    """Every export of one assignment, keyed by student id: nbgrader's, the registry, research."""
    nbgrader("export", cwd=course)
    with (course / "grades.csv").open() as handle:
        nbgrader_rows = {
            r["student_id"]: r for r in csv.DictReader(handle) if r["assignment"] == assignment
        }
    courseware(
        "export", assignment, "--registry", "agree.csv", "--research", "agree-r.csv", cwd=course
    )
    with (course / "agree.csv").open() as handle:
        registry = {r["student_id"]: r for r in csv.DictReader(handle)}
    with MarkingBook(course / "marking.sqlite") as book:
        secret = book.secret("research-pseudonym-salt")
    from courseware.grading._exports import pseudonym

    with (course / "agree-r.csv").open() as handle:
        by_pseudonym = {r["pseudonym"]: r for r in csv.DictReader(handle)}
    research = {s: by_pseudonym[pseudonym(secret, s)] for s in registry}
    return {"nbgrader": nbgrader_rows, "registry": registry, "research": research}


@pytest.mark.parametrize("assignment", [ESSAY, COMM])
def test_every_export_agrees_with_the_gradebook_per_student(marked: Run, assignment: str) -> None:
    course = marked.course
    found = _exports(course, assignment)
    registry = found["registry"]
    statuses = {r["status"] for r in registry.values()}
    assert statuses <= {
        "graded",
        "needs-manual-marking",
        "needs-review",
        "failed-to-grade",
        "not-submitted",
    }
    with CourseFolder.open(course).gradebook() as gb:
        for student, row in registry.items():
            research = found["research"][student]
            assert (research["status"], research["score"]) == (row["status"], row["score"])
            if row["status"] != "graded":
                assert row["score"] == "", row
                continue
            score = float(row["score"])
            assert float(research["score"]) == score
            assert float(gb.find_submission(assignment, student).score) == score, student
            assert float(found["nbgrader"][student]["raw_score"]) == score, student
    if assignment == ESSAY:  # the cohort's hard cases, each in a single, agreed state
        assert registry["e-invalid-json"]["status"] == "graded"  # confirmed by hand: 12
        assert registry["e-os-exit"]["status"] == "failed-to-grade"
        assert registry["e-deleted-essay"]["score"] == "0.0"
        assert found["research"]["e-os-exit"]["agreed_band"] == ""
