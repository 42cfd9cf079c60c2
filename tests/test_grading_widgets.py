"""Assessed widgets without a kernel: answers reach the sidecar file through the model's rules, and
under nbgrader the same cell shows the saved answer instead of a widget (nothing is overwritten)."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import ipywidgets as w
import pytest

from courseware.grading import ANSWERS_FILE, open_assessment, read_answers
from courseware.grading._widgets import AssessedChoice, AssessedCompose, AssessedCueSpotting

from conftest import REPO

SOURCE = REPO / "assignments" / "source" / "communication-skills"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    shutil.copy(SOURCE / "items.yaml", tmp_path)
    return tmp_path


def test_cue_boxes_save_the_ticked_lines(folder: Path) -> None:
    widget = open_assessment(folder).show("cues-breathless")
    assert isinstance(widget, AssessedCueSpotting)
    widget.boxes[3].value = True
    widget.boxes[9].value = True
    assert read_answers(folder / ANSWERS_FILE).latest("cues-breathless") == {"lines": [3, 9]}
    widget.boxes[3].value = False
    found = read_answers(folder / ANSWERS_FILE)
    assert found.latest("cues-breathless") == {"lines": [9]} and len(found.entries) == 3
    assert all(box.description for box in widget.boxes)  # every control has a visible label
    again = open_assessment(folder).show("cues-breathless")
    assert [b.value for b in again.boxes].count(True) == 1 and again.boxes[9].value


def test_choice_and_compose_restore_and_save(folder: Path) -> None:
    assessment = open_assessment(folder)
    choice = assessment.show("reply-to-worry")
    assert isinstance(choice, AssessedChoice) and choice.choice.value is None
    choice.choice.value = 2
    compose = assessment.show("compose-reply")
    assert isinstance(compose, AssessedCompose)
    compose.text.value = "Short."
    assert "at least 20" in compose.status.value
    latest = read_answers(folder / ANSWERS_FILE)
    assert latest.latest("reply-to-worry") == {"option": 2}
    assert latest.latest("compose-reply") == {"text": "Short."}
    reopened = open_assessment(folder)
    assert reopened.show("reply-to-worry").choice.value == 2
    assert reopened.show("compose-reply").text.value == "Short."


def test_forged_value_is_refused_by_the_model(folder: Path) -> None:
    widget = open_assessment(folder).show("cues-breathless")
    assert widget.submit({"lines": [0, 0]}) is False
    assert "Not saved" in widget.status.value
    assert not (folder / ANSWERS_FILE).exists()


def test_under_nbgrader_the_cell_shows_the_saved_answer(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_assessment(folder).answers.save("compose-reply", {"text": "<img src=x onerror=alert(1)>"})
    before = (folder / ANSWERS_FILE).read_bytes()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    shown = open_assessment(folder).show("compose-reply")
    assert not isinstance(shown, w.Widget)
    html = shown.data
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
    summary = open_assessment(folder).saved().data
    assert "No answer saved" in summary  # the items not answered
    assert (folder / ANSWERS_FILE).read_bytes() == before


def test_kernel_import_stays_light() -> None:
    """A hidden test cell imports courseware.grading: no SQLAlchemy, pandas or statistics."""
    code = (
        "import sys, courseware.grading as g; g.grade_item; g.check_saved; g.open_assessment;"
        "print(json.dumps(sorted(m for m in ('sqlalchemy', 'pandas', 'pingouin', 'sklearn', "
        "'nbgrader', 'ipywidgets') if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json;" + code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []


def test_marking_widget_is_blind_and_refuses_incomplete_marks(tmp_path: Path) -> None:
    from courseware.grading import marking_view
    from courseware.grading._marking import MarkingBook
    from courseware.grading._rubric import Standard

    course = tmp_path / "course"
    shutil.copytree(REPO / "assignments" / "rubrics", course / "rubrics")
    (course / "source").mkdir()
    shown_as: dict[str, str] = {}  # script id -> how its text must appear: escaped, never as markup
    with MarkingBook(course / "marking.sqlite") as book:
        for student, text in (("ana.smith", "Essay about <script>x</script>"), ("ben", "Second")):
            folder = course / "autograded" / student / "reflective-essay"
            folder.mkdir(parents=True)
            cell = {
                "cell_type": "markdown",
                "source": text,
                "id": "e",
                "metadata": {"nbgrader": {"grade_id": "essay"}},
            }
            (folder / "reflective-essay.ipynb").write_text(json.dumps({"cells": [cell]}))
            script = book.add_script(
                "reflective-essay", student, "reflective-essay", "essay", "reflect"
            )
            book.allocate(script, "first", "alice")
            shown_as[script] = html.escape(text)
        book.set_standard("reflective-essay", Standard("c", 7, 50.0, "reflection", 20.0))
    view = marking_view("reflective-essay", "alice", course)
    shown = view.heading.value + view.script.value
    assert "ana.smith" not in shown and "ben" not in shown
    assert view.current in shown_as and shown_as[view.current] in view.script.value
    assert "<script>" not in shown
    controls = [*view.choices.values(), *view.judgement.values(), *view.comments.values()]
    assert all(box.description for box in controls)
    assert set(view.judgement) == {"overall", "learning"}
    first = view.current
    view.choices["presence"].value = "critical"
    assert view.save() is False and "choose a level for" in view.status.value
    for box in view.choices.values():
        box.value = "reflection"
    assert view.save() is False and "choose an overall level" in view.status.value
    view.judgement["overall"].value = "critical"  # more than the criteria support
    view.judgement["learning"].value = "transformative"
    assert view.save() is False and "above what the criteria support" in view.status.value
    view.judgement["overall"].value = "reflection"
    view.judgement["learning"].value = None
    view.overall.value = "=1+1 stays text"
    assert view.save() is True
    assert "Saved" in view.status.value and "(Reflection)" in view.status.value
    assert view.current != first and view.judgement["overall"].value is None
    assert view.current in shown_as and shown_as[view.current] in view.script.value
    assert "<script>" not in view.script.value and "ana.smith" not in view.heading.value
    with MarkingBook(course / "marking.sqlite") as book:
        marks = book.marks("reflective-essay")
    mark = marks[first]["first"]
    assert (mark.total, mark.overall, mark.learning) == (10, "reflection", None)
    assert mark.comment == "=1+1 stays text"
    for box in view.choices.values():
        box.value = "habitual"
    view.judgement["overall"].value = "habitual"
    assert view.save() is True and view.current is None and view.save_button.disabled


@pytest.mark.notebook
@pytest.mark.timeout(300)
def test_learner_answers_in_widgets_reach_the_tutor(tmp_path: Path) -> None:
    """A learner runs the released notebook in a real kernel and answers in the widgets; after
    submission, autograde scores the answers and the composed reply shows in the graded notebook."""
    import os

    import nbformat
    from nbclient import NotebookClient

    course = tmp_path / "course"
    shutil.copytree(REPO / "assignments", course)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "communication-skills"],
        cwd=course,
        env=env,
        check=True,
        capture_output=True,
    )
    home = tmp_path / "learner" / "communication-skills"
    shutil.copytree(course / "release" / "communication-skills", home)
    path = home / "communication-skills.ipynb"
    nb = nbformat.read(path, as_version=4)
    actions = {  # what the learner does in each widget, right after it is shown
        'assessment.show("cues-breathless")': "_.boxes[3].value = True\n_.boxes[9].value = True",
        'assessment.show("reply-to-worry")': "_.choice.value = 2",
        'assessment.show("compose-reply")': "_.text.value = 'I am so sorry about your sister. <b>What</b> worries you most about the breathlessness and your heart?'",
    }
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.source in actions:
            cells.append(nbformat.v4.new_code_cell(actions[cell.source]))
    nb.cells = cells
    learner_env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    os.environ.pop("NBGRADER_EXECUTION", None)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(home)}}
    ).execute(env=learner_env)
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors, errors
    submitted = course / "submitted" / "learner1" / "communication-skills"
    shutil.copytree(home, submitted)
    (submitted / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
    done = subprocess.run(
        [sys.executable, "-m", "courseware.cli", "grade", "autograde", "communication-skills"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "learner1: 4/9 + manual marking" in done.stdout, done.stdout  # 2 of 3 cues, best reply
    graded = (
        course / "autograded" / "learner1" / "communication-skills" / "communication-skills.ipynb"
    ).read_text()
    assert "I am so sorry about your sister. &lt;b&gt;What&lt;/b&gt;" in graded
