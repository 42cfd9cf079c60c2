"""Display titles: learners see a node's title, never its id, wherever a node is named; check
warns at the node's line when a title is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

from courseware.apps._seminar_questions import seminar_questions
from courseware.content import load_module
from courseware.content._authoring_checks import authoring_warnings
from courseware.store import SQLiteStore
from courseware.widgets import open_module

from conftest import FIXTURES

MEDIA = FIXTURES / "modules" / "media"


def test_titles_are_shown_in_the_seminar_the_scene_and_the_debrief(tmp_path: Path) -> None:
    module = load_module(MEDIA)
    (where,) = {q.source for q in seminar_questions(module) if q.id.startswith("phone-call.")}
    assert where == "A call from Mrs Okafor's son: The phone rings"
    with SQLiteStore(tmp_path / "store.db") as store:
        view = open_module(MEDIA, store=store, learner="ana").vignette("phone-call")
        assert "The phone rings</h4>" in view.scene.value
        view.end_pause()
        view.choose(0, at="ring")
        assert "<h4 class='cw-heading'>He goes on</h4>" in view.scene.value
        assert "<strong>He goes on</strong>" in view.debrief.value
        assert "The phone rings" in view.debrief.value and ": ring<" not in view.debrief.value


def test_a_missing_title_is_a_warning_at_the_nodes_line(tmp_path: Path) -> None:
    folder = tmp_path / "media"
    shutil.copytree(MEDIA, folder, ignore=shutil.ignore_patterns("__pycache__"))
    case = folder / "vignettes" / "phone-call.yaml"
    case.write_text(case.read_text().replace('    title: "He goes on"\n', ""))
    (warning,) = authoring_warnings(load_module(folder))
    assert warning.warning and warning.file.endswith("phone-call.yaml")
    lines = case.read_text().splitlines()
    assert warning.line == lines.index("  heard:") + 1 and warning.field == "nodes.heard"
    assert "ending 'heard' has no title" in warning.message and "'Heard'" in warning.message
