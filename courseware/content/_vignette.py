"""Vignette graph rules and walking, with no kernel and no widgets involved.

A :class:`Walk` is the only way to move through a vignette: it refuses any choice that is not on
offer at the current node, so a forged widget message cannot take a learner where the author did
not allow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import Refused
from ._debrief import Debrief, build_debrief
from ._engine import ExpertPath, MakeProblem, Rules, State, expert_path, link_problems
from ._errors import ContentError, Problem
from ._models import Choice, Node, VignetteSpec
from ._schema import load_validated
from ._yaml import YamlDocument


@dataclass(frozen=True)
class WrittenReply:
    """What the learner wrote at a write-first node before choosing, and its coding, if any."""

    node: str
    text: str
    coding: dict[str, Any] | None = None


class ChoiceNotOffered(Refused):
    """A choice was asked for that the current node does not offer."""


@dataclass(frozen=True)
class Step:
    """One move: at node ``node`` the learner took choice number ``choice`` and arrived at ``to``."""

    node: str
    choice: int
    to: str


class Vignette:
    """A validated branching case. Build it with :func:`load_vignette`.

    Building one checks only what a walk needs (every node, counter and target named exists);
    the author's lint (:func:`~courseware.content.lint_vignette`) is ``courseware check``'s job,
    so a learner's kernel never pays for it.
    """

    def __init__(self, spec: VignetteSpec, doc: YamlDocument | None = None) -> None:
        problems = link_problems(spec, problem_at(spec, doc))
        if problems:
            raise ContentError(problems)
        self.spec = spec
        self.source = doc.path if doc is not None else None
        self.rules = Rules(spec)
        self._expert: ExpertPath | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def title(self) -> str:
        return self.spec.title

    def node(self, node_id: str) -> Node:
        return self.spec.nodes[node_id]

    def node_title(self, node_id: str) -> str:
        """What a learner sees as the node's name: its ``title`` (``courseware check`` warns when
        one is missing), else its id in words, never the bare id."""
        from ._debrief import title_of

        return title_of(node_id, self.spec.nodes[node_id].title)

    def written_choices(self, node_id: str) -> list[tuple[int, Choice]]:
        """Every choice written at ``node_id``, with its index in the file (none at an ending).

        Conditions are not applied here (they depend on the walk so far): ask
        :meth:`Walk.offered` for what a learner can pick now.
        """
        node = self.spec.nodes[node_id]
        return [] if node.end else list(enumerate(node.choices))

    def expert_path(self) -> ExpertPath | None:
        """The path through the choices marked ``expert: true``, or ``None`` if none are marked."""
        if not any(c.expert for n in self.spec.nodes.values() for c in n.choices):
            return None
        if self._expert is None:
            self._expert = expert_path(self.rules)
        return self._expert

    def walk(self, steps: Iterable[Step] = ()) -> Walk:
        return Walk(self, steps)


class Walk:
    """A learner's way through a vignette; every move is checked against the vignette's rules.

    It keeps the state after every step (node, counters, nodes visited), so the debrief can show
    how the counters moved, and a walk rebuilt from stored steps ends up exactly where it was.
    """

    def __init__(self, vignette: Vignette, steps: Iterable[Step] = ()) -> None:
        self.vignette = vignette
        self.steps: list[Step] = []
        self.states: list[State] = [vignette.rules.initial()]
        self.written: dict[int, WrittenReply] = {}
        """Replies written at write-first nodes, by position in the path (0 = the start)."""
        self.drafts: dict[int, str] = {}
        self.enforce_writing = False
        """Whether a write-first node's choices wait for a written reply (on for a learner's live
        walk; off when replaying runs stored before the author turned writing on)."""
        for step in steps:
            self.choose(step.choice, at=step.node)

    @property
    def state(self) -> State:
        return self.states[-1]

    @property
    def node_id(self) -> str:
        return self.state.node

    @property
    def node(self) -> Node:
        return self.vignette.node(self.node_id)

    @property
    def counters(self) -> dict[str, int]:
        """Each counter's current value, by name."""
        return self.vignette.rules.values(self.state)

    @property
    def visited(self) -> frozenset[str]:
        return self.state.visited

    @property
    def text(self) -> tuple[str | None, str]:
        """The current node's title and text (a variant's, if its condition holds)."""
        return self.vignette.rules.text(self.state)

    @property
    def finished(self) -> bool:
        return self.node.end

    @property
    def path(self) -> list[str]:
        """Node ids visited, from the start to the current node."""
        return [self.vignette.spec.start, *(s.to for s in self.steps)]

    def offered(self) -> list[tuple[int, Choice]]:
        """Choices the learner can take now (their conditions hold), with indices in the file."""
        return self.vignette.rules.offered(self.state)

    @property
    def awaiting_reply(self) -> bool:
        """At a write-first node with nothing written on this visit: write before choosing."""
        return self.node.compose_first and not self.finished and len(self.steps) not in self.written

    @property
    def reply(self) -> WrittenReply | None:
        """The reply written at the current node on this visit, if any."""
        return self.written.get(len(self.steps))

    def _writing_at(self, at: str) -> int:
        if at != self.node_id:
            raise ChoiceNotOffered(f"the learner is at {self.node_id!r}, not {at!r}")
        if not self.node.compose_first or self.finished:
            raise ChoiceNotOffered(f"{at!r} does not ask the learner to write first")
        return len(self.steps)

    def draft(self, text: str, *, at: str) -> str:
        """Keep an unsubmitted draft of the reply at ``at``; refused once it is submitted."""
        position = self._writing_at(at)
        if position in self.written:
            raise ChoiceNotOffered("the reply here is submitted and locked")
        self.drafts[position] = _reply_text(text)
        return self.drafts[position]

    def write(self, text: str, *, at: str) -> WrittenReply:
        """Submit the reply written at ``at`` (once per visit); the choices are offered after it."""
        position = self._writing_at(at)
        if position in self.written:
            raise ChoiceNotOffered("the reply here is submitted and locked")
        text = _reply_text(text)
        if not text.strip():
            raise ChoiceNotOffered("write what you would say before submitting")
        self.written[position] = WrittenReply(at, text)
        self.drafts.pop(position, None)
        return self.written[position]

    def code_reply(self, coding: Any, *, at: str) -> WrittenReply:
        """Keep the reply coder's result for the reply written at ``at`` (once)."""
        from ._attempts import NotAllowed, coded_value

        position = self._writing_at(at)
        written = self.written.get(position)
        if written is None:
            raise ChoiceNotOffered("only a submitted reply is coded")
        if written.coding is not None:
            raise ChoiceNotOffered("the reply here is already coded")
        try:
            checked = coded_value(coding, written.text)
        except NotAllowed as exc:
            raise ChoiceNotOffered(str(exc)) from None
        self.written[position] = replace(written, coding=checked)
        return self.written[position]

    def choose(self, index: int, *, at: str | None = None) -> Step:
        """Take choice ``index`` at the current node; ``at`` guards against stale or forged clicks."""
        if at is not None and at != self.node_id:
            raise ChoiceNotOffered(f"the learner is at {self.node_id!r}, not {at!r}")
        if not isinstance(index, int) or isinstance(index, bool):
            raise ChoiceNotOffered(f"choice {index!r} is not a choice number")
        if index not in dict(self.offered()):
            raise ChoiceNotOffered(f"choice {index} is not offered at {self.node_id!r}")
        if self.enforce_writing and self.awaiting_reply:
            raise ChoiceNotOffered(f"write what you would say at {self.node_id!r} first")
        after = self.vignette.rules.after(self.state, index)
        step = Step(self.node_id, index, after.node)
        self.steps.append(step)
        self.states.append(after)
        return step

    def restart(self) -> None:
        self.steps.clear()
        del self.states[1:]
        self.written.clear()
        self.drafts.clear()

    def debrief(self) -> Debrief:
        """The end-of-case summary: path against the expert's, opportunities, counters."""
        return build_debrief(self)


def _reply_text(text: Any) -> str:
    from ._attempts import MAX_TEXT

    if not isinstance(text, str):
        raise ChoiceNotOffered("a reply is text")
    if len(text) > MAX_TEXT:
        raise ChoiceNotOffered(f"text longer than {MAX_TEXT} characters")
    return text


def module_folder(vignette_path: Path) -> Path:
    """The module folder a vignette belongs to (media paths are relative to it)."""
    folder = vignette_path.parent
    return folder.parent if folder.name == "vignettes" else folder


def media_path(vignette_path: Path, relative: str) -> Path | None:
    """A media file's path, or ``None`` if it would lie outside the module folder."""
    root = module_folder(vignette_path).resolve()
    path = (root / relative).resolve()
    return path if root in path.parents else None


def problem_at(spec: VignetteSpec, doc: YamlDocument | None) -> MakeProblem:
    """Problems at a field of this vignette: at its line when the file is known."""

    def problem(loc: list[str | int], message: str) -> Problem:
        if doc is not None:
            return doc.problem(loc, message)
        return Problem(spec.id, 0, message, field=".".join(map(str, loc)))

    return problem


def load_vignette(path: str | Path) -> Vignette:
    """Read and validate a vignette file for a learner (from its compiled form when current);
    raise :class:`ContentError` listing every problem that would break a walk.

    The author's lint is not run: ``courseware check`` runs it (see :func:`check_vignette`).
    """
    doc, spec = load_validated(Path(path), VignetteSpec)
    return Vignette(spec, doc)
