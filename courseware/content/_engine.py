"""The virtual-patient engine: counters, conditions, routes and text variants.

:class:`Rules` is the single place that says what a learner may do in a given :class:`State`; the
:class:`~courseware.content.Walk`, the debrief and ``courseware check`` all use it. The author's
lint over every reachable state lives in :mod:`._lint` (a learner's kernel never loads it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TypeVar

from ._conditions import Condition, all_hold
from ._errors import Problem
from ._models import Choice, Node, VignetteSpec

T = TypeVar("T")
MakeProblem = Callable[[list[str | int], str], Problem]
"""Builds a problem at a field's path (with its line when the YAML is at hand)."""


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


def reachable(starts: Iterable[T], neighbours: Callable[[T], Iterable[T]]) -> set[T]:
    """Everything reachable from ``starts`` (themselves included) by following ``neighbours``:
    the one graph search behind the lint's reachability, trap and loop checks."""
    seen = set(starts)
    queue = deque(seen)
    while queue:
        for nxt in neighbours(queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def graph_reachable(spec: VignetteSpec, start: str) -> set[str]:
    """Nodes reachable from ``start`` following every choice and route, ignoring conditions."""

    def leads_to(node_id: str) -> Iterable[str]:
        for choice in spec.nodes[node_id].choices:
            yield from (t for t in targets(choice) if t in spec.nodes)

    return reachable([start], leads_to)


def link_problems(spec: VignetteSpec, problem: MakeProblem) -> list[Problem]:
    """What would break a walk: a start, choice or route target that is no node, a counter or node
    named in an effect or condition that does not exist.

    One pass over the file, so every load runs it, even from the compiled cache; the author's
    lint (:func:`~courseware.content.lint_vignette`, run by ``courseware check``) does the rest.
    """
    problems: list[Problem] = []
    for loc, conditions in conditions_of(spec):
        for i, cond in enumerate(conditions):
            if cond.kind == "counter" and cond.counter not in spec.counters:
                problems.append(
                    problem([*loc, i], f"counter {cond.counter!r} is not declared under 'counters'")
                )
            if cond.kind != "counter" and cond.node not in spec.nodes:
                problems.append(problem([*loc, i], f"unknown node {cond.node!r}"))
    for node_id, node in spec.nodes.items():
        for ci, choice in enumerate(node.choices):
            here: list[str | int] = ["nodes", node_id, "choices", ci]
            if choice.to not in spec.nodes:
                problems.append(problem([*here, "to"], f"unknown node {choice.to!r}"))
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
    if spec.start not in spec.nodes:
        problems.append(problem(["start"], f"start node {spec.start!r} does not exist"))
    return problems


def conditions_of(spec: VignetteSpec) -> Iterable[tuple[list[str | int], list[Condition]]]:
    """Every condition list in the file, with where it is written."""
    for node_id, node in spec.nodes.items():
        for vi, variant in enumerate(node.variants):
            yield ["nodes", node_id, "variants", vi, "when"], variant.when
        for ci, choice in enumerate(node.choices):
            yield ["nodes", node_id, "choices", ci, "when"], choice.when
            for ri, route in enumerate(choice.routes):
                yield ["nodes", node_id, "choices", ci, "routes", ri, "when"], route.when


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
