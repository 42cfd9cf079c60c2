"""How many autograde workers a class gets when ``--jobs`` is not given (benchmarks/autograde_jobs.py
measures the rule against ``--jobs 1`` and plain nbgrader)."""

from __future__ import annotations

import io

from courseware.grading._autograde import STUDENTS_PER_JOB, choose_jobs
from courseware.grading._cli import Progress


def test_a_small_class_gets_one_worker() -> None:
    for students in (0, 1, 8, STUDENTS_PER_JOB - 1):
        assert choose_jobs(students, cpus=8) == 1


def test_a_larger_class_gets_more_workers_up_to_the_cores() -> None:
    assert choose_jobs(30, cpus=2) == 2
    assert choose_jobs(100, cpus=2) == 2
    assert choose_jobs(100, cpus=1) == 1
    assert choose_jobs(100, cpus=16) == 100 // STUDENTS_PER_JOB


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_redraws_one_line() -> None:
    out = Terminal()
    progress = Progress("registry", out=out)
    for done in range(1, 5):
        progress.update(done, 4, f"row {done}")
    text = out.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and text.count("\n") == 1
    assert "registry [" + "#" * 30 + "] 4/4 row 4" in text
    quiet = Terminal()
    Progress("registry", quiet=True, out=quiet).update(1, 1)
    plain = io.StringIO()
    Progress("registry", out=plain).update(1, 1)
    assert quiet.getvalue() == plain.getvalue() == ""
