"""Interval reasoning for the lint, when a vignette's state space is too big to list.

Each node gets a box: a range for every counter and the nodes that may or must have been visited
on the way in. It can still prove that a condition never holds or an ending is never reached.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

from ._conditions import Condition, describe_all
from ._engine import Rules, graph_reachable
from ._errors import Problem
from ._models import VignetteSpec

MakeProblem = Callable[[list[str | int], str], Problem]


def _never(conditions: list[Condition], node_id: str, where: str) -> str:
    return (
        f"condition {describe_all(conditions)} can never hold here"
        f" (on reaching {node_id!r}{', ' + where if where else ''})"
    )


_INF = math.inf


@dataclass(frozen=True)
class _Box:
    low: tuple[float, ...]
    high: tuple[float, ...]
    may: frozenset[str]
    must: frozenset[str]


def _possible(cond: Condition, box: _Box, names: list[str]) -> bool:
    if cond.kind == "visited":
        return cond.node in box.may
    if cond.kind == "not-visited":
        return cond.node not in box.must
    i = names.index(cond.counter)
    low, high, v = box.low[i], box.high[i], cond.value
    return {
        ">=": high >= v,
        ">": high > v,
        "<=": low <= v,
        "<": low < v,
        "==": low <= v <= high,
        "!=": not (low == high == v),
    }[cond.op]


def _narrow(conditions: list[Condition], box: _Box, names: list[str]) -> _Box:
    low, high = list(box.low), list(box.high)
    may, must = set(box.may), set(box.must)
    for cond in conditions:
        if cond.kind == "visited":
            must.add(cond.node)
        elif cond.kind == "not-visited":
            may.discard(cond.node)
        else:
            i, v = names.index(cond.counter), cond.value
            if cond.op in (">=", ">"):
                low[i] = max(low[i], v + (cond.op == ">"))
            elif cond.op in ("<=", "<"):
                high[i] = min(high[i], v - (cond.op == "<"))
            elif cond.op == "==":
                low[i], high[i] = max(low[i], v), min(high[i], v)
    return _Box(tuple(low), tuple(high), frozenset(may), frozenset(must))


def _lint_intervals(spec: VignetteSpec, rules: Rules, problem: MakeProblem) -> list[Problem]:
    names = rules.names
    bounds = [
        (c.min if c.min is not None else -_INF, c.max if c.max is not None else _INF)
        for c in spec.counters.values()
    ]
    start = rules.initial()
    seen_start = frozenset({spec.start}) & (rules.track or frozenset())
    boxes: dict[str, _Box] = {
        spec.start: _Box(start.counters, start.counters, seen_start, seen_start)
    }
    changes: dict[str, int] = defaultdict(int)
    queue = deque([spec.start])

    def join(node_id: str, box: _Box) -> None:
        tracked = rules.track or frozenset()
        arrive = frozenset({node_id}) & tracked
        box = _Box(box.low, box.high, box.may | arrive, box.must | arrive)
        old = boxes.get(node_id)
        if old is not None:
            low = tuple(min(a, b) for a, b in zip(old.low, box.low, strict=True))
            high = tuple(max(a, b) for a, b in zip(old.high, box.high, strict=True))
            box = _Box(low, high, old.may | box.may, old.must & box.must)
            if box == old:
                return
            changes[node_id] += 1
            if changes[node_id] > 20:  # widen: a bound still moving goes to its limit
                low = tuple(
                    b[0] if n < o else n for n, o, b in zip(low, old.low, bounds, strict=True)
                )
                high = tuple(
                    b[1] if n > o else n for n, o, b in zip(high, old.high, bounds, strict=True)
                )
                box = _Box(low, high, box.may, box.must)
        boxes[node_id] = box
        queue.append(node_id)

    while queue:
        node_id = queue.popleft()
        node, box = spec.nodes[node_id], boxes[node_id]
        if node.end:
            continue
        for choice in node.choices:
            if not all(_possible(c, box, names) for c in choice.when):
                continue
            moved = _narrow(choice.when, box, names)
            if any(a > b for a, b in zip(moved.low, moved.high, strict=True)):
                continue  # the conditions contradict each other
            low, high = list(moved.low), list(moved.high)
            for name, delta in choice.effects.items():
                i = names.index(name)
                low[i] = max(bounds[i][0], min(bounds[i][1], low[i] + delta))
                high[i] = max(bounds[i][0], min(bounds[i][1], high[i] + delta))
            moved = _Box(tuple(low), tuple(high), moved.may, moved.must)
            for route in choice.routes:
                narrowed = _narrow(route.when, moved, names)
                if all(_possible(c, moved, names) for c in route.when) and all(
                    a <= b for a, b in zip(narrowed.low, narrowed.high, strict=True)
                ):
                    join(route.to, narrowed)
            join(choice.to, moved)

    def where(box: _Box) -> str:
        parts = []
        for i, name in enumerate(names):
            low, high = box.low[i], box.high[i]
            parts.append(
                f"{name} = {low:g}" if low == high else f"{name} between {low:g} and {high:g}"
            )
        return ", ".join(parts)

    problems: list[Problem] = []
    for node_id in sorted(graph_reachable(spec, spec.start) - set(boxes)):
        kind = "ending" if spec.nodes[node_id].end else "node"
        problems.append(
            problem(
                ["nodes", node_id], f"{kind} {node_id!r} cannot be reached under any counter values"
            )
        )
    for node_id, box in boxes.items():
        node = spec.nodes[node_id]
        guards: list[tuple[list[str | int], list[Condition]]] = [
            (["nodes", node_id, "variants", vi, "when"], v.when)
            for vi, v in enumerate(node.variants)
        ]
        if not node.end:
            guards += [
                (["nodes", node_id, "choices", ci, "when"], c.when)
                for ci, c in enumerate(node.choices)
            ]
        for loc, when in guards:
            if not all(_possible(c, box, names) for c in when):
                problems.append(problem(loc, _never(when, node_id, where(box))))
    return problems
