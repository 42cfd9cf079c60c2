"""A module's short self-check: multiple-choice questions with an explanation after each answer."""

from __future__ import annotations

import logging
from typing import Any

import ipywidgets as w

from ..content import SelfCheckQuestion, display_order
from ._common import Context, escape, heading, markdown, sentence, typeset

ANSWER = "selfcheck.answer"
log = logging.getLogger(__name__)


class SelfCheck(w.VBox):  # type: ignore[misc]
    """One block per question: options as buttons (shuffled for each learner, the same on every
    reload), then right/wrong in words and the explanation.

    Every attempt is stored; the latest is shown again when the module is reopened.
    """

    def __init__(self, questions: list[SelfCheckQuestion], context: Context) -> None:
        self.questions = {q.id: q for q in questions}
        self.context = context
        self.feedback: dict[str, w.HTML] = {}
        self.orders: dict[str, list[int]] = {}
        """Each question's options, as indices in the file, in the order this learner sees them."""
        blocks: list[Any] = [w.HTML(heading("Check your understanding"))]
        for number, question in enumerate(questions, 1):
            self.feedback[question.id] = w.HTML()
            buttons = []
            order = display_order(
                len(question.options),
                context.learner,
                context.module,
                self.item(question.id),
                fixed=question.order == "fixed",
            )
            self.orders[question.id] = order
            for index in order:
                option = typeset(question.texts[index])
                button = w.Button(
                    description=option,
                    tooltip=option,
                    layout=w.Layout(width="auto", height="auto", max_width="100%"),
                )
                button.add_class("cw-choice")
                button.on_click(lambda _b, q=question.id, i=index: self.answer(q, i))
                buttons.append(button)
            text = f"<p class='cw-question'><strong>Question {number}.</strong></p>"
            blocks.append(w.HTML(text + markdown(question.question)))
            blocks += [w.VBox(buttons), self.feedback[question.id]]
            history = context.history(self.item(question.id), ANSWER)
            if history:
                self._show(question, int(history[-1].value["choice"]))
        super().__init__(blocks)
        self.add_class("cw-self-check")

    @staticmethod
    def item(question_id: str) -> str:
        return f"self-check/{question_id}"

    def answer(self, question_id: str, choice: int) -> bool | None:
        """Record and mark an answer; a question or option that does not exist is refused."""
        question = self.questions.get(question_id)
        if question is None:
            log.warning("refused an answer to unknown question %r", question_id)
            return None
        try:
            correct = question.is_correct(choice)
        except ValueError as exc:
            log.warning("refused an answer: %s", exc)
            return None
        self.context.record(self.item(question_id), ANSWER, {"choice": choice, "correct": correct})
        self._show(question, choice)
        return correct

    def _show(self, question: SelfCheckQuestion, choice: int) -> None:
        """Right or wrong in words, then why: the chosen option's explanation, the question's."""
        best = question.correct_option
        correct = choice == best
        verdict = "Correct." if correct else "Not quite."
        chosen = escape(sentence(typeset(question.texts[choice])))
        right = (
            ""
            if correct
            else f" The best answer is: {escape(sentence(typeset(question.texts[best])))}"
        )
        explanations = [question.options[choice].explanation, question.explanation]
        self.feedback[question.id].value = (
            "<div class='cw-feedback' role='status' aria-live='polite'>"
            f"<p><strong>{verdict}</strong> You chose: {chosen}{right}</p>"
            + "".join(markdown(text) for text in explanations if text)
            + "</div>"
        )
