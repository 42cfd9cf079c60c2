"""Without the ``analytics`` extra, the commands that need it say in one sentence what to install.

A tutor or evaluation lead on a machine installed without the extra (as the learners' image is)
must read which extra to add, not a traceback from deep inside ``scipy`` or ``sklearn``. Each test
runs the real CLI in a fresh interpreter in which the extra's package cannot be imported
(``sys.modules[name] = None``, as if it were not installed), and once with it, to show that the
set-up itself works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import run_courseware

from courseware.grading._marking import MarkingBook
from courseware.grading._moderation import record_mark
from courseware.grading._rubric import Standard, load_rubric, pass_mark_for

from conftest import FIXTURES, REPO

INSTALL = "pip install 'courseware[analytics]'"

WITHOUT = r"""
import sys
for name in sys.argv[1].split(",") if sys.argv[1] else []:
    sys.modules[name] = None  # an import of it now fails as if it were not installed
from courseware.cli import main
raise SystemExit(main(sys.argv[2:]))
"""


def courseware(blocked: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``courseware ARGS`` in a fresh interpreter where the packages in ``blocked`` are missing."""
    return run_courseware(
        *args,
        cwd=cwd,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        expect_ok=False,
        via=(sys.executable, "-c", WITHOUT, blocked),
    )


def assert_one_sentence(done: subprocess.CompletedProcess[str], package: str) -> None:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.endswith(INSTALL) and f"{package} is not installed" in line, line


def test_report_without_the_extra_names_it(tmp_path: Path) -> None:
    evaluation = FIXTURES / "evaluation"
    out = tmp_path / "report.html"
    args = [
        "report",
        "--survey",
        evaluation / "qualtrics.csv",
        evaluation / "qualtrics-mapping.yaml",
    ]
    done = courseware("scipy", *args, "-o", out, cwd=tmp_path)
    assert_one_sentence(done, "scipy")
    assert not out.exists()
    debug = courseware("scipy", "--debug", *args, "-o", out, cwd=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr  # --debug still shows where
    with_it = courseware("", *args, "-o", out, cwd=tmp_path)
    assert with_it.returncode == 0 and out.is_file(), with_it.stderr


LEVEL_PAIRS = [  # (first, second) marker's level, one script each
    ("reflection", "reflection"),
    ("thoughtful", "reflection"),
    ("reflection", "thoughtful"),
    ("thoughtful", "thoughtful"),
]


def double_marked_course(root: Path) -> str:
    """A course folder whose essay scripts have both a first and a second mark."""
    (root / "nbgrader_config.py").write_text("")
    shutil.copytree(REPO / "assignments" / "rubrics", root / "rubrics")
    assignment = "reflective-essay"
    rubric = load_rubric(root / "rubrics" / "reflect.yaml")
    standard = Standard("test", 7, pass_mark_for(7), "reflection", 20)
    rubric = rubric.for_standard(standard)
    with MarkingBook(root / "marking.sqlite") as book:
        book.set_standard(assignment, standard)
        for n, (first, second) in enumerate(LEVEL_PAIRS):
            script = book.add_script(assignment, f"s{n}", assignment, "essay", "reflect")
            for role, marker, level in (("first", "alice", first), ("second", "bob", second)):
                book.allocate(script, role, marker)
                levels = {c.id: level for c in rubric.criteria}
                record_mark(book, rubric, script, marker, {**levels, "overall": level})
    return assignment


def test_marking_agreement_without_the_extra_names_it(tmp_path: Path) -> None:
    assignment = double_marked_course(tmp_path)
    args = ["grade", "moderate", assignment, "--course", tmp_path]
    done = courseware("sklearn,pingouin", *args, cwd=tmp_path)
    assert_one_sentence(done, "scikit-learn")
    assert "marker agreement" in done.stderr
    with_it = courseware("", *args, cwd=tmp_path)
    assert with_it.returncode == 0, with_it.stderr
    assert "weighted kappa (quadratic, levels):" in with_it.stdout
    assert "double-marked scripts: 4" in with_it.stdout
