"""200 learners save through the courseware service while one hostile learner attacks it.

The real service on a real JupyterHub (configurable-http-proxy) and real PostgreSQL. Each
learner has its own hub token and autosaves once a second for 10 s; meanwhile ``hal`` sends
everything issue 16 lists, as fast as four connections allow (tests/fixtures/hub/load.py).
benchmarks/hub_load.py repeats the same run and prints its figures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fixtures.hub import load
from fixtures.hub.hubtest import Hub

from courseware.hub import FairShare

from conftest import FIGURES, run_coroutine

pytestmark = [pytest.mark.hub, pytest.mark.serial]

LEARNERS = [f"learner{n:03d}" for n in range(200)]
HOSTILE = "hal"
P95_GOAL_MS = 50.0
RSS_GROWTH_BOUND = 64 * 2**20
"""The service's memory may grow this much in the run (it parses 2 MB values and 4 MB bodies)."""


@pytest.fixture(scope="module")
def hub(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    running = Hub(
        tmp_path_factory.mktemp("hub"),
        database_url=postgres.create_database("hub_load"),
        groups={"nbgrader-loadcourse": [*LEARNERS, HOSTILE]},
        courses=["loadcourse"],
    ).start()
    try:
        yield running
    finally:
        running.stop()


def tokens(hub: Hub, names: list[str]) -> dict[str, str]:
    """A token for each (the users exist: the hub made them when it loaded the course group)."""
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(names, pool.map(hub.token, names), strict=True))


def test_200_learners_save_unharmed_while_one_attacks(hub: Hub) -> None:
    honest = tokens(hub, LEARNERS)
    hostile = tokens(hub, [HOSTILE])[HOSTILE]
    service = hub.service_process()
    figures = run_coroutine(
        load.run(
            hub.service,
            honest,
            (HOSTILE, hostile),
            interval=1.0,
            duration=10.0,
            rss=lambda: service.memory_info().rss,
        )
    )
    p95, p50 = figures.percentile(95), figures.percentile(50)
    FIGURES["hub load: honest p95 (200 learners, 1 attacker)"] = f"{p95:.1f} ms"
    FIGURES["hub load: honest p50"] = f"{p50:.1f} ms"
    FIGURES["hub load: hostile requests refused"] = str(figures.refused)
    assert figures.failures == [], figures.failures[:5]
    assert len(figures.latencies) >= 200 * 9  # every learner saved about once a second
    assert sum(len(saved) for saved in figures.saved.values()) == len(figures.latencies)
    assert figures.unexplained == [], figures.unexplained[:5]
    assert figures.refused >= 50, figures.hostile  # the attack reached the service (held back)
    # Refused for what it sent (400, 403, 404, 409, 413), or for sending too much (429).
    assert {400, 413, 429} <= set(figures.hostile) <= {200, 400, 403, 404, 409, 413, 429}
    grown = figures.rss_after - figures.rss_before
    assert grown < RSS_GROWTH_BOUND, f"the service grew by {grown / 2**20:.0f} MiB"
    assert hub.service_healthy()
    assert p95 <= P95_GOAL_MS, (
        f"honest p95 {p95:.1f} ms (p50 {p50:.1f} ms) over {len(figures.latencies)} saves"
    )


def test_a_users_share_refills_and_refusals_cost_more() -> None:
    """The share itself: the burst, then the rate; a refusal spends 5 more; users apart."""
    share = FairShare(rate=10.0, burst=120.0)
    assert all(share.take("hal", 1.0) == 0 for _ in range(120))
    assert share.take("hal", 5.0) > 0  # the burst is spent: 429, nothing taken
    assert share.take("ben", share.cost(4 * 2**20)) == 0  # another user: a full share
    assert share.cost(4 * 2**20) == 17  # a 4 MiB body: 1 + 16
    time.sleep(0.3)  # 3 tokens back at 10 a second
    assert share.take("hal", 2.0) == 0
    share.charge("hal", 100.0)  # refusals may take it below zero: a wait of its own
    assert share.take("hal", 1.0) > 5
    assert FairShare.parse("off") is None and FairShare.parse("20/120") is not None
    with pytest.raises(ValueError, match="the burst at least 17"):
        FairShare.parse("20/10")
    with pytest.raises(ValueError, match="RATE/BURST"):
        FairShare.parse("fast")
    small = FairShare(max_users=3)
    for name in "abcd":
        small.take(name, 1.0)
    assert len(small) == 3  # the least recently used forgotten (it refills anyway)
