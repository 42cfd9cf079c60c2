"""The questions a seminar can ask the room, taken from a module's vignettes and self-check.

Each choice point of a vignette gives two (pick an option; "what would you say next?"), each
self-check question one, and there is always an open "what would you say next?". A question's
options are shuffled once per session, the same for everyone in the room.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from ..content import ModuleContent, display_order, in_order

Kind = Literal["choice", "text"]


@dataclass(frozen=True)
class Question:
    """Something the presenter can ask the room."""

    id: str
    kind: Kind
    prompt: str
    source: str
    context: str = ""
    """Markdown: the vignette scene the question is about, if any."""
    options: tuple[str, ...] = ()
    fixed: bool = False
    """The author pinned the options' order (``order: fixed``); otherwise each session shuffles it."""

    def shuffled(self, session: str) -> Question:
        """This question with its options in the session's order (the same for everyone in the
        room, so the presenter's chart and the learners' buttons agree)."""
        order = display_order(len(self.options), session, self.id, fixed=self.fixed)
        return replace(self, options=tuple(in_order(self.options, order)))

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "prompt": self.prompt,
            "source": self.source,
            "options": list(self.options),
        }


def seminar_questions(module: ModuleContent) -> list[Question]:
    """Every question a module offers: each vignette choice point (as a choice, and as "what would
    you say next?"), each self-check question, and an open "what would you say next?"."""
    questions: list[Question] = []
    for vignette in module.vignettes.values():
        for node_id, node in vignette.spec.nodes.items():
            offered = vignette.written_choices(node_id)
            if len(offered) < 2:
                continue
            where = f"{vignette.title}: {vignette.node_title(node_id)}"
            questions.append(
                Question(
                    f"{vignette.id}.{node_id}",
                    "choice",
                    "Which would you choose here?",
                    where,
                    node.text,
                    tuple(choice.label for _, choice in offered),
                    fixed=node.order == "fixed",
                )
            )
            questions.append(
                Question(
                    f"{vignette.id}.{node_id}.say",
                    "text",
                    "What would you say next?",
                    where,
                    node.text,
                )
            )
    for check in module.spec.self_check:
        questions.append(
            Question(
                f"self-check.{check.id}",
                "choice",
                check.question,
                "Check your understanding",
                options=check.texts,
                fixed=check.order == "fixed",
            )
        )
    questions.append(
        Question("say-next", "text", "What would you say next?", "Open question for the room")
    )
    return questions
