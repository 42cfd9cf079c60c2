"""Vignette graph rules and walking, with no kernel and no widgets involved.

A :class:`Walk` is the only way to move through a vignette: it refuses any choice that is not on
offer at the current node, so a forged widget message cannot take a learner where the author did
not allow.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ._errors import ContentError, Problem
from ._models import Choice, Node, VignetteSpec, validate
from ._yaml import YamlDocument, read_yaml


class ChoiceNotOffered(ValueError):
    """A choice was asked for that the current node does not offer."""


@dataclass(frozen=True)
class Step:
    """One move: at node ``node`` the learner took choice number ``choice`` and arrived at ``to``."""

    node: str
    choice: int
    to: str


class Vignette:
    """A validated branching case. Build it with :func:`load_vignette`."""

    def __init__(self, spec: VignetteSpec, doc: YamlDocument | None = None) -> None:
        problems = lint_vignette(spec, doc)
        if problems:
            raise ContentError(problems)
        self.spec = spec
        self.source = doc.path if doc is not None else None

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def title(self) -> str:
        return self.spec.title

    def node(self, node_id: str) -> Node:
        return self.spec.nodes[node_id]

    def offered(self, node_id: str) -> list[tuple[int, Choice]]:
        """The choices open to the learner at ``node_id``, with their indices in the file."""
        node = self.spec.nodes[node_id]
        return [] if node.end else list(enumerate(node.choices))

    def walk(self, steps: Iterable[Step] = ()) -> Walk:
        return Walk(self, steps)


class Walk:
    """A learner's way through a vignette; every move is checked against the vignette's rules."""

    def __init__(self, vignette: Vignette, steps: Iterable[Step] = ()) -> None:
        self.vignette = vignette
        self.steps: list[Step] = []
        for step in steps:
            self.choose(step.choice, at=step.node)

    @property
    def node_id(self) -> str:
        return self.steps[-1].to if self.steps else self.vignette.spec.start

    @property
    def node(self) -> Node:
        return self.vignette.node(self.node_id)

    @property
    def finished(self) -> bool:
        return self.node.end

    @property
    def path(self) -> list[str]:
        """Node ids visited, from the start to the current node."""
        return [self.vignette.spec.start, *(s.to for s in self.steps)]

    def offered(self) -> list[tuple[int, Choice]]:
        return self.vignette.offered(self.node_id)

    def choose(self, index: int, *, at: str | None = None) -> Step:
        """Take choice ``index`` at the current node; ``at`` guards against stale or forged clicks."""
        if at is not None and at != self.node_id:
            raise ChoiceNotOffered(f"the learner is at {self.node_id!r}, not {at!r}")
        offered = dict(self.offered())
        if index not in offered:
            raise ChoiceNotOffered(f"choice {index} is not offered at {self.node_id!r}")
        step = Step(self.node_id, index, offered[index].to)
        self.steps.append(step)
        return step

    def restart(self) -> None:
        self.steps.clear()


def _reachable(spec: VignetteSpec, start: str) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for choice in spec.nodes[queue.popleft()].choices:
            if choice.to in spec.nodes and choice.to not in seen:
                seen.add(choice.to)
                queue.append(choice.to)
    return seen


def lint_vignette(spec: VignetteSpec, doc: YamlDocument | None = None) -> list[Problem]:
    """Graph problems: bad start, unknown targets, dead ends, orphans, nodes with no way to an end."""

    def problem(loc: list[str | int], message: str) -> Problem:
        if doc is not None:
            return doc.problem(loc, message)
        return Problem(spec.id, 0, message, field=".".join(map(str, loc)))

    problems: list[Problem] = []
    if doc is not None and doc.path.stem != spec.id:
        problems.append(
            problem(["id"], f"id {spec.id!r} differs from the file name {doc.path.stem!r}")
        )
    for node_id, node in spec.nodes.items():
        if node.end and node.choices:
            problems.append(
                problem(["nodes", node_id, "end"], "an ending cannot also have choices")
            )
        if not node.end and not node.choices:
            problems.append(
                problem(["nodes", node_id], f"node {node_id!r} has no choices and is not an ending")
            )
        for i, choice in enumerate(node.choices):
            if choice.to not in spec.nodes:
                problems.append(
                    problem(["nodes", node_id, "choices", i, "to"], f"unknown node {choice.to!r}")
                )
    if spec.start not in spec.nodes:
        problems.append(problem(["start"], f"start node {spec.start!r} does not exist"))
        return problems
    reachable = _reachable(spec, spec.start)
    for node_id in spec.nodes:
        if node_id not in reachable:
            problems.append(
                problem(["nodes", node_id], f"node {node_id!r} cannot be reached from the start")
            )
    endings = {n for n, node in spec.nodes.items() if node.end}
    for node_id in sorted(reachable - endings):
        if not _reachable(spec, node_id) & endings and spec.nodes[node_id].choices:
            problems.append(
                problem(["nodes", node_id], f"no ending can be reached from node {node_id!r}")
            )
    return problems


def load_vignette(path: str | Path) -> Vignette:
    """Read, validate and lint a vignette file; raise :class:`ContentError` listing every problem."""
    doc = read_yaml(Path(path))
    return Vignette(validate(doc, VignetteSpec), doc)
