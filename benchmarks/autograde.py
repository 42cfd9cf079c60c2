"""Autograde throughput: plain ``nbgrader autograde`` against ``courseware grade autograde --jobs N``.

One run builds a course from ``assignments/`` (``nbgrader generate_assignment communication-skills``),
places N ordinary submissions (widget answers in the sidecar file; answers vary by student), copies
the course twice and grades one copy with each command, timing each whole command. It then checks
that both gradebooks hold the same score for every cell of every student, and that no submission
failed.

* ``autograde_plain_N``: wall time of ``nbgrader autograde`` (median over ``--runs``).
* ``autograde_jobsJ_N``: wall time of ``courseware grade autograde --jobs J`` (median).
* ``autograde_speedup``: the ratio of the two medians. Goal: at least 2 with ``--jobs 2`` on the
  project's 2-core machine.

    .venv/bin/python benchmarks/autograde.py [--students 100] [--jobs 2] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "grading"))
from cohort import COMM, build_comm_cohort  # noqa: E402

from courseware.grading._course import CourseFolder  # noqa: E402

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def run(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{args[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return took


def scores(course: Path) -> dict[str, dict[str, float | None]]:
    with CourseFolder.open(course).gradebook() as gb:
        return {
            s.student.id: {g.name: g.auto_score for nb in s.notebooks for g in nb.grades}
            for s in gb.assignment_submissions(COMM)
        }


def prepare(base: Path, students: int) -> Path:
    course = base / "template"
    shutil.copytree(REPO / "assignments", course)
    run([str(BIN / "nbgrader"), "generate_assignment", COMM], course)
    build_comm_cohort(course, students, bad=False)
    return course


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1, help="repeat and report medians")
    args = parser.parse_args()
    plain_times: list[float] = []
    ours_times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp:
        template = prepare(Path(tmp), args.students)
        for index in range(args.runs):
            plain, ours = Path(tmp) / f"plain{index}", Path(tmp) / f"ours{index}"
            shutil.copytree(template, plain)
            shutil.copytree(template, ours)
            plain_times.append(run([str(BIN / "nbgrader"), "autograde", COMM], plain))
            ours_times.append(
                run(
                    [
                        sys.executable,
                        "-m",
                        "courseware.cli",
                        "grade",
                        "autograde",
                        COMM,
                        "--jobs",
                        str(args.jobs),
                    ],
                    ours,
                )
            )
            expected, got = scores(plain), scores(ours)
            if len(expected) != args.students or expected != got:
                differ = sorted(
                    s for s in expected.keys() | got.keys() if expected.get(s) != got.get(s)
                )
                raise SystemExit(f"scores differ for {len(differ)} students: {differ[:5]}")
            failed = [
                s
                for s, cells in got.items()
                if any(v is None for k, v in cells.items() if k.startswith("test-"))
            ]
            if failed:
                raise SystemExit(f"submissions not autograded: {failed[:5]}")
            shutil.rmtree(plain)
            shutil.rmtree(ours)
    plain_s, ours_s = statistics.median(plain_times), statistics.median(ours_times)
    n, j = args.students, args.jobs
    print(f"autograde_plain_{n}: {plain_s:.1f} s ({plain_s / n:.2f} s per submission)")
    print(f"autograde_jobs{j}_{n}: {ours_s:.1f} s ({ours_s / n:.2f} s per submission)")
    print(f"autograde_speedup: {plain_s / ours_s:.2f} x (goal >= 2)")
    print(f"autograde_scores_identical: yes ({n} students x {args.runs} runs)")


if __name__ == "__main__":
    main()
