"""The virtual-patient engine: counters, conditions, routes and text variants, and their lint.

:class:`Rules` is the single place that says what a learner may do in a given :class:`State`; the
:class:`~courseware.content.Walk`, the debrief and ``courseware check`` all use it. The lint
explores every state a learner can reach (node, counter values, nodes visited). When counters
without bounds go round a loop the state space is endless: then the lint falls back to interval
reasoning, which can still prove that a condition never holds or an ending is never reached, but
cannot find every trap (give counters ``min``/``max`` to get the full check).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from ._conditions import Condition, all_hold, describe_all
from ._errors import Problem
from ._models import Choice, Node, VignetteSpec
from ._techniques import TECHNIQUES, takes_opportunity

STATE_CAP = 100_000
"""How many distinct states the lint explores before it falls back to interval reasoning."""

MakeProblem = Callable[[list[str | int], str], Problem]


@dataclass(frozen=True)
class State:
    """Where a learner is: the node, each counter's value (in declared order), nodes visited."""

    node: str
    counters: tuple[int, ...] = ()
    visited: frozenset[str] = frozenset()


class Rules:
    """What the vignette allows from a state. ``track`` limits which visits are remembered
    (the lint only needs nodes that conditions mention); ``None`` remembers every node."""

    def __init__(self, spec: VignetteSpec, track: AbstractSet[str] | None = None) -> None:
        self.spec = spec
        self.names = list(spec.counters)
        self.track = track

    def initial(self) -> State:
        counters = tuple(c.clamp(c.start) for c in self.spec.counters.values())
        return State(self.spec.start, counters, self._remember(frozenset(), self.spec.start))

    def _remember(self, visited: frozenset[str], node: str) -> frozenset[str]:
        if self.track is None or node in self.track:
            return visited | {node}
        return visited

    def values(self, state: State) -> dict[str, int]:
        return dict(zip(self.names, state.counters, strict=True))

    def holds(self, conditions: list[Condition], state: State) -> bool:
        return all_hold(conditions, self.values(state), state.visited)

    def node(self, state: State) -> Node:
        return self.spec.nodes[state.node]

    def offered(self, state: State) -> list[tuple[int, Choice]]:
        """Choices open at ``state``, with their index in the file; none at an ending."""
        node = self.node(state)
        if node.end:
            return []
        return [(i, c) for i, c in enumerate(node.choices) if self.holds(c.when, state)]

    def _effects(self, state: State, choice: Choice) -> tuple[int, ...]:
        counters = list(state.counters)
        for name, delta in choice.effects.items():
            i = self.names.index(name)
            counters[i] = self.spec.counters[name].clamp(counters[i] + delta)
        return tuple(counters)

    def after(self, state: State, index: int) -> State:
        """The state after taking choice ``index`` (the caller checks it is offered)."""
        choice = self.node(state).choices[index]
        moved = State(state.node, self._effects(state, choice), state.visited)
        target = choice.to
        for route in choice.routes:
            if self.holds(route.when, moved):
                target = route.to
                break
        return State(target, moved.counters, self._remember(moved.visited, target))

    def text(self, state: State) -> tuple[str | None, str]:
        """The node's title and text, or the first variant whose condition holds."""
        node = self.node(state)
        for variant in node.variants:
            if self.holds(variant.when, state):
                return (variant.title or node.title), variant.text
        return node.title, node.text

    def describe(self, state: State) -> str:
        return ", ".join(f"{n} = {v}" for n, v in self.values(state).items())


def targets(choice: Choice) -> list[str]:
    """Every node a choice can lead to: its ``to`` and each route's."""
    return [choice.to, *(r.to for r in choice.routes)]


def graph_reachable(spec: VignetteSpec, start: str) -> set[str]:
    """Nodes reachable from ``start`` following every choice and route, ignoring conditions."""
    seen = {start}
    queue = deque([start])
    while queue:
        for choice in spec.nodes[queue.popleft()].choices:
            for target in targets(choice):
                if target in spec.nodes and target not in seen:
                    seen.add(target)
                    queue.append(target)
    return seen


def _conditions_of(spec: VignetteSpec) -> Iterable[tuple[list[str | int], list[Condition]]]:
    for node_id, node in spec.nodes.items():
        for vi, variant in enumerate(node.variants):
            yield ["nodes", node_id, "variants", vi, "when"], variant.when
        for ci, choice in enumerate(node.choices):
            yield ["nodes", node_id, "choices", ci, "when"], choice.when
            for ri, route in enumerate(choice.routes):
                yield ["nodes", node_id, "choices", ci, "routes", ri, "when"], route.when


def lint_names(spec: VignetteSpec, problem: MakeProblem) -> list[Problem]:
    """Undeclared counters, unknown nodes in conditions and routes, contradictory tags, experts."""
    problems: list[Problem] = []
    for loc, conditions in _conditions_of(spec):
        for i, cond in enumerate(conditions):
            if cond.kind == "counter" and cond.counter not in spec.counters:
                problems.append(
                    problem([*loc, i], f"counter {cond.counter!r} is not declared under 'counters'")
                )
            if cond.kind != "counter" and cond.node not in spec.nodes:
                problems.append(problem([*loc, i], f"unknown node {cond.node!r}"))
    for node_id, node in spec.nodes.items():
        where: list[str | int] = ["nodes", node_id]
        experts = [i for i, c in enumerate(node.choices) if c.expert]
        for extra in experts[1:]:
            problems.append(
                problem(
                    [*where, "choices", extra, "expert"],
                    f"node {node_id!r} already has an expert choice (choice {experts[0] + 1})",
                )
            )
        if (
            node.opportunity
            and node.choices
            and not any(takes_opportunity(c.techniques) for c in node.choices)
        ):
            problems.append(
                problem(
                    [*where, "opportunity"],
                    "this node offers an empathic opportunity but no choice takes it up "
                    "(tag one with an empathic technique such as 'naming' or 'exploring')",
                )
            )
        for ci, choice in enumerate(node.choices):
            here: list[str | int] = [*where, "choices", ci]
            for name in choice.effects:
                if name not in spec.counters:
                    problems.append(
                        problem(
                            [*here, "effects", name],
                            f"counter {name!r} is not declared under 'counters'",
                        )
                    )
            for ri, route in enumerate(choice.routes):
                if route.to not in spec.nodes:
                    problems.append(
                        problem([*here, "routes", ri, "to"], f"unknown node {route.to!r}")
                    )
            tags = [TECHNIQUES[t] for t in choice.techniques]
            if any(t.empathic for t in tags) and any(t.blocking for t in tags):
                problems.append(
                    problem(
                        [*here, "techniques"],
                        "a reply cannot both take up a cue and shut it down "
                        f"({', '.join(t.tag for t in tags if t.empathic or t.blocking)})",
                    )
                )
    return problems


def explore(rules: Rules, cap: int = STATE_CAP) -> dict[State, list[tuple[int, State]]] | None:
    """Every reachable state and its moves, or ``None`` if there are more than ``cap``."""
    start = rules.initial()
    edges: dict[State, list[tuple[int, State]]] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        state = queue.popleft()
        moves = [(i, rules.after(state, i)) for i, _ in rules.offered(state)]
        edges[state] = moves
        for _, nxt in moves:
            if nxt not in seen:
                if len(seen) >= cap:
                    return None
                seen.add(nxt)
                queue.append(nxt)
    return edges


def _ranges(rules: Rules, states: Sequence[State]) -> str:
    parts = []
    for i, name in enumerate(rules.names):
        values = [s.counters[i] for s in states]
        low, high = min(values), max(values)
        parts.append(f"{name} = {low}" if low == high else f"{name} between {low} and {high}")
    return ", ".join(parts)


def _never(conditions: list[Condition], node_id: str, where: str) -> str:
    return (
        f"condition {describe_all(conditions)} can never hold here"
        f" (on reaching {node_id!r}{', ' + where if where else ''})"
    )


def lint_states(spec: VignetteSpec, problem: MakeProblem, *, cap: int = STATE_CAP) -> list[Problem]:
    """Conditions that never hold, nodes and endings unreachable under any counter values,
    states where nothing is offered, cycles with no way out, and a broken expert path."""
    tracked = {c.node for _, conds in _conditions_of(spec) for c in conds if c.kind != "counter"}
    rules = Rules(spec, track=tracked)
    edges = explore(rules, cap)
    if edges is None:
        return _lint_intervals(spec, rules, problem)
    problems: list[Problem] = []
    at_node: dict[str, list[State]] = defaultdict(list)
    for state in edges:
        at_node[state.node].append(state)
    for node_id in sorted(graph_reachable(spec, spec.start) - set(at_node)):
        node = spec.nodes[node_id]
        message = (
            f"ending {node_id!r} cannot be reached under any counter values"
            if node.end
            else f"node {node_id!r} cannot be reached: the conditions on every way in never hold"
        )
        problems.append(problem(["nodes", node_id], message))
    for node_id, states in at_node.items():
        node = spec.nodes[node_id]
        where = _ranges(rules, states)
        base: list[str | int] = ["nodes", node_id]
        for vi, variant in enumerate(node.variants):
            if not any(rules.holds(variant.when, s) for s in states):
                problems.append(
                    problem([*base, "variants", vi, "when"], _never(variant.when, node_id, where))
                )
        if node.end:
            continue
        for ci, choice in enumerate(node.choices):
            here: list[str | int] = [*base, "choices", ci]
            offered = [s for s in states if rules.holds(choice.when, s)]
            if not offered:
                problems.append(problem([*here, "when"], _never(choice.when, node_id, where)))
                continue
            moved = [State(s.node, rules._effects(s, choice), s.visited) for s in offered]
            for ri, route in enumerate(choice.routes):
                if not any(rules.holds(route.when, m) for m in moved):
                    after = _ranges(rules, moved)
                    problems.append(
                        problem(
                            [*here, "routes", ri, "when"],
                            f"condition {describe_all(route.when)} can never hold here"
                            f" (after this choice{', ' + after if after else ''})",
                        )
                    )
        stuck = [s for s in states if not edges[s]]
        if stuck:
            values = rules.describe(stuck[0])
            problems.append(
                problem(
                    base,
                    f"the learner can get stuck at node {node_id!r}"
                    f"{' with ' + values if values else ''}: every choice's condition fails",
                )
            )
    problems.extend(_traps(spec, rules, edges, problem))
    problems.extend(_expert_path(spec, Rules(spec), problem))
    return problems


def _traps(
    spec: VignetteSpec,
    rules: Rules,
    edges: dict[State, list[tuple[int, State]]],
    problem: MakeProblem,
) -> list[Problem]:
    """States that can still move but never reach an ending: a cycle with no way out."""
    back: dict[State, list[State]] = defaultdict(list)
    for state, moves in edges.items():
        for _, nxt in moves:
            back[nxt].append(state)
    can_end = {s for s in edges if spec.nodes[s.node].end}
    queue = deque(can_end)
    while queue:
        for prev in back[queue.popleft()]:
            if prev not in can_end:
                can_end.add(prev)
                queue.append(prev)
    trapped = {s for s in edges if s not in can_end and edges[s]}
    entries: dict[str, State] = {}
    for state in sorted(trapped, key=lambda s: (s.node, s.counters)):
        entered = state == rules.initial() or any(p not in trapped for p in back[state])
        if entered and state.node not in entries:
            entries[state.node] = state
    problems = []
    for node_id, state in entries.items():
        loop = sorted({s.node for s in _closure(edges, state)})
        values = rules.describe(state)
        problems.append(
            problem(
                ["nodes", node_id],
                f"cycle with no way out: from node {node_id!r}"
                f"{' with ' + values if values else ''} the learner can only go round "
                f"{', '.join(repr(n) for n in loop)} and never reach an ending",
            )
        )
    return problems


def _closure(edges: dict[State, list[tuple[int, State]]], start: State) -> set[State]:
    seen = {start}
    queue = deque([start])
    while queue:
        for _, nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


@dataclass(frozen=True)
class ExpertPath:
    """The expert's way through: each (state, choice) taken, and where and why it stopped short."""

    moves: tuple[tuple[State, int], ...]
    stuck_at: str | None = None
    reason: str = ""


def expert_path(rules: Rules) -> ExpertPath:
    """Follow the choices marked ``expert: true`` from the start until an ending."""
    state = rules.initial()
    moves: list[tuple[State, int]] = []
    seen: set[State] = set()
    while not rules.node(state).end:
        node = rules.node(state)
        picks = [i for i, c in enumerate(node.choices) if c.expert]
        if state in seen:
            reason = "goes round a loop"
        elif not picks:
            reason = "reaches a node with no expert choice"
        elif picks[0] not in dict(rules.offered(state)):
            reason = "reaches a node whose expert choice is not offered there"
        else:
            seen.add(state)
            moves.append((state, picks[0]))
            state = rules.after(state, picks[0])
            continue
        return ExpertPath(tuple(moves), state.node, reason)
    return ExpertPath(tuple(moves))


def _expert_path(spec: VignetteSpec, rules: Rules, problem: MakeProblem) -> list[Problem]:
    if not any(c.expert for n in spec.nodes.values() for c in n.choices):
        return []
    path = expert_path(rules)
    if path.stuck_at is None:
        return []
    return [
        problem(
            ["nodes", path.stuck_at],
            f"the expert path {path.reason} at node {path.stuck_at!r} "
            "(mark one offered choice per node on the way 'expert: true')",
        )
    ]


# --- interval reasoning, for state spaces too big to list -------------------------------------

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
