"""Time the evaluation report for 10,000 learners x 3 waves x 2 instruments.

Writes made-up data (a REDCap-style export with JSE-S and the confidence scale, a roster and
REFLECT marks) to a temporary folder, then times reading, scoring, analysing and writing the HTML
report, end to end, as ``courseware report`` does it. Prints the median of several runs; the first
run (imports, font cache) is reported separately and not counted.

    .venv/bin/python benchmarks/report.py [--learners N] [--runs K]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from courseware.analytics import write_demo, write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = write_demo(Path(folder), args.learners, seed=0)
        out = Path(folder) / "report.html"
        started = time.perf_counter()
        evaluation = write_report(out, config)
        first = time.perf_counter() - started
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            write_report(out, config)
            times.append(time.perf_counter() - started)
        forms = int(evaluation.completion["forms"].fillna(0).sum())
        print(f"forms_read: {forms} forms ({args.learners} learners, 3 waves, 2 instruments)")
        print(f"report_first_run: {first:.2f} s (imports and caches included)")
        name = (
            "report_10k_learners" if args.learners == 10_000 else f"report_{args.learners}_learners"
        )
        print(f"{name}: {statistics.median(times):.2f} s (goal < 3 s)")


if __name__ == "__main__":
    main()
