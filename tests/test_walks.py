"""Random walks (hypothesis) through every vignette in the repository never reach an invalid state.

Every step checks: the node exists, counters are declared and within bounds, something is offered
unless the walk has ended, a forged choice is refused without changing anything, an ending can
still be reached, and replaying the stored steps lands in exactly the same state.
"""

from __future__ import annotations

from collections import deque
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from courseware.content import ChoiceNotOffered, Vignette, Walk, check_vignette

from conftest import FIXTURES, MODULES, REPO

VIGNETTES = sorted(
    {
        *MODULES.glob("**/vignettes/*.yaml"),
        *FIXTURES.glob("**/vignettes/*.yaml"),
        *(REPO / "docs").glob("**/vignettes/*.yaml"),
    }
)


@cache
def loaded(path: Path) -> Vignette:
    """Each file is loaded and linted (as `courseware check` does) once; the walks share it, as a
    kernel's widgets do."""
    return check_vignette(path)


def an_ending_is_reachable(vignette: Vignette, walk: Walk, limit: int = 50_000) -> bool:
    rules = vignette.rules
    queue = deque([walk.state])
    seen = {walk.state}
    while queue and len(seen) < limit:
        state = queue.popleft()
        if rules.node(state).end:
            return True
        for index, _ in rules.offered(state):
            nxt = rules.after(state, index)
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return False


def check_state(vignette: Vignette, walk: Walk) -> None:
    spec = vignette.spec
    assert walk.node_id in spec.nodes
    assert set(walk.counters) == set(spec.counters)
    for name, value in walk.counters.items():
        counter = spec.counters[name]
        assert counter.min is None or value >= counter.min
        assert counter.max is None or value <= counter.max
    assert walk.node_id in walk.visited and spec.start in walk.visited
    _title, text = walk.text
    assert text.strip()
    offered = walk.offered()
    if walk.finished:
        assert offered == []
    else:
        assert offered, f"stuck at {walk.node_id!r} with {walk.counters}"
        for _, choice in offered:
            assert vignette.rules.holds(choice.when, walk.state)


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: str(p.relative_to(REPO)))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_walk_never_reaches_an_invalid_state(path: Path, data: st.DataObject) -> None:
    vignette = loaded(path)
    walk = vignette.walk()
    check_state(vignette, walk)
    for _ in range(data.draw(st.integers(1, 40), label="steps")):
        if walk.finished:
            break
        before = (walk.state, len(walk.steps))
        offered = [i for i, _ in walk.offered()]
        node = vignette.node(walk.node_id)
        forged = data.draw(
            st.integers(-2, len(node.choices) + 2).filter(lambda i, taken=offered: i not in taken),
            label="forged",
        )
        with pytest.raises(ChoiceNotOffered):
            walk.choose(forged, at=walk.node_id)
        assert (walk.state, len(walk.steps)) == before
        index = data.draw(st.sampled_from(offered), label="choice")
        step = walk.choose(index, at=walk.node_id)
        assert step.to == walk.node_id and walk.path[-1] == walk.node_id
        check_state(vignette, walk)
    assert an_ending_is_reachable(vignette, walk)
    again = vignette.walk(walk.steps)
    assert again.states == walk.states
    debrief = walk.debrief()
    assert len(debrief.steps) == len(walk.steps)
    assert all(len(values) == len(walk.steps) + 1 for values in debrief.trajectory.values())
    if data.draw(st.booleans(), label="restart"):
        walk.restart()
        assert walk.path == [vignette.spec.start] and walk.state == vignette.rules.initial()


def test_every_vignette_is_covered() -> None:
    names = {p.name for p in VIGNETTES}
    assert {"chest-pain-anxiety.yaml", "waiting-room.yaml", "results-day.yaml"} <= names
