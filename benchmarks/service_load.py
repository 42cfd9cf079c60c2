"""Load the courseware service with simulated learners, on loopback, with PostgreSQL.

Starts a private PostgreSQL (fsync on), a real JupyterHub with the courseware service (the test
harness in tests/fixtures/hub), creates N hub users with their own tokens, then drives the service
directly, as learners' kernels do, one autosave per request (``POST /api/events`` with one event,
a ~600-character reflection and an idempotency key), over kept-alive connections:

1. paced: N learners each autosave every INTERVAL seconds (random phase) for DURATION seconds;
   latency p50/p95 of every save;
2. saturated: the same N learners save back-to-back for DURATION/2 seconds; the sustained rate
   is the service's capacity (the paced load is N / INTERVAL writes/s).

The two alternate for ROUNDS rounds and the medians are printed (the machine is shared, so one
round can catch someone else's burst of work). Bounded: N ≤ 2000 learners, each round ≤ 60 s,
at most 5 rounds. Only 127.0.0.1 is contacted.

    .venv/bin/python benchmarks/service_load.py [--learners 500] [--interval 5] [--duration 15] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from fixtures.hub.hubtest import Hub  # noqa: E402

from courseware.hub._pgtemp import TemporaryPostgres  # noqa: E402

TEXT = (
    "I noticed the patient looked at the door twice when I mentioned the scan, and I moved on "
    "too quickly. Next time I want to name what I saw and ask what worries her most. "
) * 4


class Learner:
    """One learner's kept-alive connection to the service."""

    def __init__(self, name: str, token: str, url: str) -> None:
        self.name = name
        self.token = token
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = parts.path.rstrip("/") + "/api/events"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def save(self, n: int) -> float:
        """One autosave; return its latency in seconds (raises on anything but 200)."""
        body = json.dumps(
            {
                "events": [
                    {
                        "learner": self.name,
                        "module": "what-is-clinical-empathy",
                        "item": "what-empathy-means",
                        "kind": "reflection.saved",
                        "value": {"text": f"{TEXT} ({n})", "words": 80},
                        "time": time.time(),
                        "key": uuid.uuid4().hex,
                    }
                ]
            }
        ).encode()
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: token {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        started = time.perf_counter()
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        answer = await self.reader.readexactly(length)
        elapsed = time.perf_counter() - started
        if b" 200 " not in status_line:
            raise RuntimeError(f"{self.name}: {status_line!r} {answer[:200]!r}")
        return elapsed

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def paced(learners: list[Learner], interval: float, duration: float) -> list[float]:
    latencies: list[float] = []
    end = time.perf_counter() + duration

    async def run(learner: Learner) -> None:
        await asyncio.sleep(random.uniform(0, interval))
        n = 0
        while (now := time.perf_counter()) < end:
            latencies.append(await learner.save(n))
            n += 1
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - now)))

    await asyncio.gather(*(run(learner) for learner in learners))
    return latencies


async def saturated(learners: list[Learner], duration: float) -> tuple[list[float], float]:
    latencies: list[float] = []
    started = time.perf_counter()
    end = started + duration

    async def run(learner: Learner) -> None:
        n = 0
        while time.perf_counter() < end:
            latencies.append(await learner.save(n))
            n += 1

    await asyncio.gather(*(run(learner) for learner in learners))
    return latencies, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


async def drive(
    learners: list[Learner], interval: float, duration: float, rounds: int
) -> dict[str, list[float]]:
    """Warm up (each token's first check with the hub), then alternate paced and saturated rounds."""
    await asyncio.gather(*(learner.save(-1) for learner in learners))
    figures: dict[str, list[float]] = {
        k: [] for k in ("paced_rate", "p50", "p95", "rate", "sat_p95")
    }
    for _ in range(rounds):
        slow = await paced(learners, interval, duration)
        figures["paced_rate"].append(len(slow) / duration)
        figures["p50"].append(percentile(slow, 50) * 1000)
        figures["p95"].append(percentile(slow, 95) * 1000)
        fast, elapsed = await saturated(learners, duration / 2)
        figures["rate"].append(len(fast) / elapsed)
        figures["sat_p95"].append(percentile(fast, 95) * 1000)
    for learner in learners:
        await learner.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=500)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between autosaves")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per paced round")
    parser.add_argument("--rounds", type=int, default=3, help="paced + saturated rounds (medians)")
    args = parser.parse_args()
    learners_n = max(1, min(args.learners, 2000))
    duration = max(2.0, min(args.duration, 60.0))
    rounds = max(1, min(args.rounds, 5))
    names = [f"learner{i:04d}" for i in range(learners_n)]
    load_before = os.getloadavg()[0]
    with TemporaryPostgres(durable=True) as pg, tempfile.TemporaryDirectory() as folder:
        hub = Hub(Path(folder), database_url=pg.url, groups={}, courses=["bench"])
        hub.start()
        try:
            status, answer = hub.hub("POST", "/users", {"usernames": names})
            assert status == 201, (status, answer)
            with ThreadPoolExecutor(8) as pool:
                tokens = list(pool.map(hub.token, names))
            learners = [Learner(n, t, hub.service) for n, t in zip(names, tokens, strict=True)]
            figures = asyncio.run(drive(learners, args.interval, duration, rounds))
        finally:
            hub.stop()
    med = {name: statistics.median(values) for name, values in figures.items()}
    cores = os.cpu_count() or 1
    print(
        f"machine_load: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
        f" (1-minute load average on {cores} cores; others' work skews the latencies)"
    )
    every = f"{learners_n} learners autosaving every {args.interval:g} s"
    print(f"service_learners: {every} (PostgreSQL, fsync on; medians of {rounds} rounds)")
    print(f"service_paced_writes_per_s: {med['paced_rate']:.0f} writes/s (offered load)")
    print(f"service_p50_ms: {med['p50']:.1f} ms (at {every})")
    rounds_p95 = ", ".join(f"{v:.0f}" for v in figures["p95"])
    print(f"service_p95_ms: {med['p95']:.1f} ms (goal < 50; rounds: {rounds_p95} ms)")
    print(f"service_writes_per_s: {med['rate']:.0f} writes/s (goal >= 1000; sustained, saturated)")
    print(f"service_saturated_p95_ms: {med['sat_p95']:.1f} ms (latency while saturated)")


if __name__ == "__main__":
    main()
