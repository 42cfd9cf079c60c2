"""Autograde workers chosen by class size: ``courseware grade autograde`` without ``--jobs``, against
``--jobs 1`` and plain ``nbgrader autograde``, at 8, 30 and 100 students.

For each class size one course is built from ``assignments/`` (communication-skills, ordinary
submissions as in benchmarks/autograde.py) and copied for every timed command, so each starts from
the same collected submissions. Each run times the three commands in turn (interleaved, so a busy
moment on a shared machine hits all three alike) and checks that the gradebooks agree. Medians over
``--runs``:

* ``autograde_auto_jobs_N``: the workers chosen for N students (``choose_jobs``).
* ``autograde_auto_vs_jobs1_N``: time without ``--jobs`` over time with ``--jobs 1``. Goal: at most
  1.05 (never slower than one worker, give or take timing noise).
* ``autograde_auto_vs_plain_N``: time without ``--jobs`` over plain ``nbgrader autograde``. Goal:
  below 1.

    .venv/bin/python benchmarks/autograde_jobs.py [--sizes 8,30,100] [--runs 3]

Not run by the test suite (about 15 minutes on the project's 2-core machine).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograde import BIN, prepare, run, scores

from courseware.grading._autograde import choose_jobs

COMM = "communication-skills"


def ours(jobs: int | None) -> list[str]:
    args = [sys.executable, "-m", "courseware.cli", "grade", "autograde", COMM, "--quiet"]
    return args + (["--jobs", str(jobs)] if jobs else [])


def measure(base: Path, students: int, runs: int) -> dict[str, float]:
    template = prepare(base, students)
    times: dict[str, list[float]] = {"auto": [], "jobs1": [], "plain": []}
    commands = {
        "auto": ours(None),
        "jobs1": ours(1),
        "plain": [str(BIN / "nbgrader"), "autograde", COMM],
    }
    for index in range(runs):
        graded = {}
        for name, command in commands.items():
            course = base / f"{name}{index}"
            shutil.copytree(template, course)
            times[name].append(run(command, course))
            graded[name] = scores(course)
        if not (len(graded["plain"]) == students and graded["auto"] == graded["jobs1"]):
            raise SystemExit(f"{students} students: the gradebooks differ")
        if graded["auto"] != graded["plain"]:
            raise SystemExit(f"{students} students: scores differ from plain nbgrader")
        for name in commands:
            shutil.rmtree(base / f"{name}{index}")
    shutil.rmtree(template)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="8,30,100", help="class sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (medians reported)")
    args = parser.parse_args()
    for students in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="cw-bench-jobs-") as tmp:
            median = measure(Path(tmp), students, args.runs)
        n = students
        print(f"autograde_auto_jobs_{n}: {choose_jobs(n)} jobs (1 below 12 students)")
        for name in ("auto", "jobs1", "plain"):
            print(f"autograde_{name}_{n}: {median[name]:.1f} s (median of {args.runs})")
        print(
            f"autograde_auto_vs_jobs1_{n}: {median['auto'] / median['jobs1']:.2f} x "
            "(goal <= 1.05: never slower than --jobs 1)"
        )
        print(f"autograde_auto_vs_plain_{n}: {median['auto'] / median['plain']:.2f} x (goal < 1)")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
