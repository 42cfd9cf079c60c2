"""200 learners save through the courseware service while one hostile learner attacks it.

The run tests/test_hub_load.py makes (tests/fixtures/hub/load.py), repeated: a private
PostgreSQL (fsync on), a real JupyterHub with the courseware service, 200 learners with their
own hub tokens autosaving once a second over kept-alive connections, and one hostile learner
sending everything issue 16 lists from four connections (a schema of 2**31, lone surrogates,
NaN and Infinity, 990-deep nesting, oversize values and bodies, reused idempotency keys,
30 KB group names, made-up groups and poll ids, a flood of its own saves). Each learner then
reads back what it saved. Before each repeat the same learners save without the attacker, as a
baseline for the machine's own state. Prints medians over the repeats as
``name: value unit (goal …)``.
Only 127.0.0.1 is contacted.

    .venv/bin/python benchmarks/hub_load.py [--learners 200] [--duration 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from fixtures.hub import load  # noqa: E402
from fixtures.hub.hubtest import Hub  # noqa: E402

from courseware.hub._pgtemp import TemporaryPostgres  # noqa: E402


def run_queue_seconds(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds waiting for one) of ``pid`` so far (/proc/PID/schedstat)."""
    on_cpu, waiting, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    learners = [f"learner{n:03d}" for n in range(max(1, min(args.learners, 1000)))]
    duration = max(2.0, min(args.duration, 60.0))
    repeats = max(1, min(args.repeats, 5))
    load_before = os.getloadavg()[0]
    runs: list[load.Figures] = []
    alone: list[load.Figures] = []
    waits: list[float] = []
    with TemporaryPostgres(durable=True) as pg, tempfile.TemporaryDirectory() as folder:
        hub = Hub(
            Path(folder),
            database_url=pg.url,
            groups={"nbgrader-bench": [*learners, "hal"]},
            courses=["bench"],
        ).start()
        try:
            with ThreadPoolExecutor(4) as pool:
                tokens = dict(zip(learners, pool.map(hub.token, learners), strict=True))
            hostile = ("hal", hub.token("hal"))
            service = hub.service_process()
            for _ in range(repeats):
                alone.append(  # the same learners without the attacker, just before: a baseline
                    asyncio.run(
                        load.run(
                            hub.service, tokens, hostile, duration=duration, hostile_connections=0
                        )
                    )
                )
                cpu_before, wait_before = run_queue_seconds(service.pid)
                runs.append(
                    asyncio.run(
                        load.run(
                            hub.service,
                            tokens,
                            hostile,
                            duration=duration,
                            rss=lambda: service.memory_info().rss,
                        )
                    )
                )
                cpu_after, wait_after = run_queue_seconds(service.pid)
                waits.append((wait_after - wait_before) / max(1e-9, cpu_after - cpu_before))
        finally:
            hub.stop()

    def median(values: list[float]) -> float:
        return statistics.median(values)

    p95 = [r.percentile(95) for r in runs]
    mib = 2**20
    print(
        f"machine_load: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
        f" (1-minute load average on {os.cpu_count()} cores; others' work skews latencies)"
    )
    print(
        f"hub_load_learners: {len(learners)} learners autosaving every 1 s for {duration:g} s"
        f" beside 1 attacker on 4 connections (PostgreSQL, fsync on; medians of {repeats})"
    )
    print(
        f"hub_load_honest_p95_ms: {median(p95):.1f} ms (goal ≤ 50;"
        f" repeats: {', '.join(f'{v:.0f}' for v in p95)} ms)"
    )
    print(f"hub_load_honest_p50_ms: {median([r.percentile(50) for r in runs]):.1f} ms")
    baseline = [r.percentile(95) for r in alone]
    print(
        f"hub_load_alone_p95_ms: {median(baseline):.1f} ms (the same learners without the"
        f" attacker, just before each repeat: {', '.join(f'{v:.0f}' for v in baseline)} ms)"
    )
    print(
        f"hub_load_honest_writes: {median([len(r.latencies) for r in runs]):.0f} writes per repeat"
    )
    print(
        f"hub_load_failed_writes: {median([len(r.failures) for r in runs]):.0f} writes"
        " (goal 0: every save answered 200 and read back intact)"
    )
    print(
        f"hub_load_hostile_refused: {median([r.refused for r in runs]):.0f} requests per repeat"
        f" (4xx with a reason; of them 429, over the attacker's share:"
        f" {median([r.hostile.get(429, 0) for r in runs]):.0f})"
    )
    print(
        f"hub_load_unexplained: {median([len(r.unexplained) for r in runs]):.0f} answers"
        " (goal 0: a 5xx, a 4xx without a reason, or a dropped connection)"
    )
    print(f"hub_load_service_rss_before: {median([r.rss_before / mib for r in runs]):.0f} MiB")
    print(
        f"hub_load_service_rss_after: {median([r.rss_after / mib for r in runs]):.0f} MiB"
        " (goal: within 64 MiB of before)"
    )
    print(
        f"hub_load_service_cpu_wait: {median(waits):.2f} s waiting for a CPU per s on one"
        " (above ~0.5 the machine, not the service, sets the latency)"
    )


if __name__ == "__main__":
    main()
