"""The debrief at the end of a case: the learner's path beside the expert's, empathic opportunities
taken and missed, how the counters moved, and a prompt to reflect. Pure data, no widgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._techniques import takes_opportunity

if TYPE_CHECKING:
    from ._vignette import Walk

DEFAULT_REFLECT = (
    "Look back at your path. Choose one moment you would play differently: what did the patient "
    "offer you there, what did you say, and what would you say now? What did you notice about "
    "your own reactions?"
)
DEFAULT_REFLECT_PERSPECTIVE = (
    "What was it like to be {character}? Which things the clinicians said or did helped, and "
    "which shut you out? What will you do differently in your own practice?"
)


@dataclass(frozen=True)
class DebriefStep:
    """One choice the learner made, set against the expert's pick at the same node."""

    number: int
    node: str
    node_title: str
    label: str
    techniques: tuple[str, ...]
    feedback: str | None
    comment: str | None
    expert_label: str | None
    matched_expert: bool | None
    opportunity: str | None
    opportunity_taken: bool | None
    written: str | None = None
    """Write first: what the learner wrote at this node before choosing."""
    written_codes: tuple[str, ...] | None = None
    """The reply coder's codes for it (None: not coded, e.g. the coder was unavailable)."""
    expert_comment: str | None = None
    """The expert's comment on their own choice here: shown where the learner chose differently,
    which is where it teaches most."""
    expert_techniques: tuple[str, ...] = ()


@dataclass(frozen=True)
class Debrief:
    """Everything the end-of-case summary shows; built by :meth:`Walk.debrief`."""

    vignette: str
    ending: str
    ending_title: str
    steps: tuple[DebriefStep, ...]
    path: tuple[str, ...]
    expert_path: tuple[str, ...] | None
    expert_labels: tuple[str, ...]
    counter_labels: dict[str, str]
    trajectory: dict[str, tuple[int, ...]]
    experienced: tuple[tuple[str, tuple[str, ...]], ...]
    """(node title, techniques) for each node on the path where the author tagged what the
    story's clinician does."""
    reflect: str

    @property
    def opportunities_taken(self) -> list[DebriefStep]:
        return [s for s in self.steps if s.opportunity_taken is True]

    @property
    def opportunities_missed(self) -> list[DebriefStep]:
        return [s for s in self.steps if s.opportunity_taken is False]

    @property
    def expert_matches(self) -> int:
        return sum(1 for s in self.steps if s.matched_expert)

    @property
    def expert_points(self) -> int:
        """Steps taken at a node where the author marked an expert choice."""
        return sum(1 for s in self.steps if s.matched_expert is not None)

    @property
    def followed_expert(self) -> bool:
        return self.expert_path is not None and self.path == self.expert_path


def title_of(node_id: str, title: str | None) -> str:
    return title or node_id.replace("-", " ").replace("_", " ").capitalize()


def build_debrief(walk: Walk) -> Debrief:
    """The debrief of ``walk`` (finished or not: a half-walked path is summarised as it stands)."""
    vignette = walk.vignette
    spec = vignette.spec
    steps = []
    for number, (step, state) in enumerate(zip(walk.steps, walk.states, strict=False), 1):
        node = spec.nodes[step.node]
        choice = node.choices[step.choice]
        experts = [c for c in node.choices if c.expert]
        taken = takes_opportunity(choice.techniques) if node.opportunity else None
        title, _ = vignette.rules.text(state)
        reply = walk.written.get(number - 1)
        codes = None
        if reply is not None and reply.coding is not None:
            codes = tuple(str(c["code"]) for c in reply.coding.get("codes", []))
        steps.append(
            DebriefStep(
                number=number,
                node=step.node,
                node_title=title_of(step.node, title),
                label=choice.label,
                techniques=tuple(choice.techniques),
                feedback=choice.feedback,
                comment=choice.comment,
                expert_label=experts[0].label if experts else None,
                matched_expert=choice.expert if experts else None,
                opportunity=node.opportunity,
                opportunity_taken=taken,
                written=reply.text if reply is not None else None,
                written_codes=codes,
                expert_comment=experts[0].comment if experts else None,
                expert_techniques=tuple(experts[0].techniques) if experts else (),
            )
        )
    expert = vignette.expert_path()
    expert_path = None
    expert_labels: tuple[str, ...] = ()
    if expert is not None and expert.stuck_at is None:
        rules = vignette.rules
        last = rules.after(expert.moves[-1][0], expert.moves[-1][1]) if expert.moves else None
        nodes = [s.node for s, _ in expert.moves] + ([last.node] if last else [spec.start])
        expert_path = tuple(nodes)
        expert_labels = tuple(spec.nodes[s.node].choices[i].label for s, i in expert.moves)
    values = [vignette.rules.values(s) for s in walk.states]
    trajectory = {name: tuple(v[name] for v in values) for name in spec.counters}
    experienced = tuple(
        (vignette.node_title(node_id), tuple(spec.nodes[node_id].techniques))
        for node_id in walk.path
        if spec.nodes[node_id].techniques
    )
    if spec.reflect:
        reflect = spec.reflect
    elif spec.perspective:
        reflect = DEFAULT_REFLECT_PERSPECTIVE.format(character=spec.perspective.character)
    else:
        reflect = DEFAULT_REFLECT
    ending_title, _ = vignette.rules.text(walk.state)
    return Debrief(
        vignette=spec.id,
        ending=walk.node_id,
        ending_title=title_of(walk.node_id, ending_title),
        steps=tuple(steps),
        path=tuple(walk.path),
        expert_path=expert_path,
        expert_labels=expert_labels,
        counter_labels={name: c.label for name, c in spec.counters.items()},
        trajectory=trajectory,
        experienced=experienced,
        reflect=reflect,
    )
