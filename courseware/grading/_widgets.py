"""Small answering widgets for assessed items: thin views that check with the model, then save.

Every control has a visible label. A widget never decides what is valid: it asks
:func:`check_answer`, and saves through :class:`AssessedAnswers`, so what the tutor grades is exactly
what the rules accepted.
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as w

from ..content import display_order
from ._answers import AssessedAnswers
from ._items import (
    ComposeResponse,
    CueSpotting,
    InvalidAnswer,
    ResponseChoice,
    check_answer,
    compose_problems,
)


class _AssessedView(w.VBox):  # type: ignore[misc]
    def __init__(self, item: Any, answers: AssessedAnswers, controls: list[Any]) -> None:
        self.item = item
        self.answers = answers
        self.status = w.HTML()
        intro = w.HTML(
            f"<h3 class='cw-heading'>{html.escape(item.title)}</h3><p>{html.escape(item.prompt)}</p>"
        )
        super().__init__([intro, *controls, self.status])
        self.add_class("cw-assessed")

    def _status(self, message: str) -> None:
        self.status.value = f"<span role='status' aria-live='polite'>{html.escape(message)}</span>"

    def submit(self, value: Any) -> bool:
        """Save ``value`` if the item's rules accept it; say what is wrong otherwise."""
        try:
            answer = check_answer(self.item, value)
        except InvalidAnswer as exc:
            self._status(f"Not saved: {exc}")
            return False
        self.answers.save(self.item.id, answer)
        self._status(f"Saved at {time.strftime('%H:%M:%S')}")
        return True


class AssessedCueSpotting(_AssessedView):
    """One labelled checkbox per transcript line; ticking a line marks it as a cue."""

    def __init__(self, item: CueSpotting, answers: AssessedAnswers) -> None:
        saved = answers.latest(item.id)
        chosen = set(saved.get("lines", [])) if isinstance(saved, dict) else set()
        self.boxes = [
            w.Checkbox(
                value=i in chosen,
                description=f"{i}. {line.speaker}: {line.text}",
                indent=False,
                layout=w.Layout(width="100%"),
            )
            for i, line in enumerate(item.transcript)
        ]
        for box in self.boxes:
            box.observe(lambda _change: self.submit(self.value), names="value")
        super().__init__(item, answers, self.boxes)

    @property
    def value(self) -> dict[str, Any]:
        return {"lines": [i for i, box in enumerate(self.boxes) if box.value]}


class AssessedChoice(_AssessedView):
    """Radio buttons, one per reply, in an order shuffled for each learner (the same every time
    they open the notebook); the choice saves, as the option's index in ``items.yaml``, as soon
    as it is made, so the key and the grading never depend on the order shown."""

    def __init__(
        self, item: ResponseChoice, answers: AssessedAnswers, *, learner: str | None = None
    ) -> None:
        from ..store import current_learner

        saved = answers.latest(item.id)
        option = saved.get("option") if isinstance(saved, dict) else None
        valid = isinstance(option, int) and 0 <= option < len(item.options)
        self.order = display_order(
            len(item.options),
            learner or current_learner(),
            answers.assignment,
            item.id,
            fixed=item.order == "fixed",
        )
        """The options' indices in ``items.yaml``, in the order this learner sees them."""
        self.choice = w.RadioButtons(
            options=[(item.options[i], i) for i in self.order],
            value=option if valid else None,
            description="Your reply",
            layout=w.Layout(width="100%"),
            style={"description_width": "initial"},
        )
        self.choice.observe(self._changed, names="value")
        quote = w.HTML(f"<blockquote>{html.escape(item.patient_says)}</blockquote>")
        super().__init__(item, answers, [quote, self.choice])

    def _changed(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self.submit({"option": change["new"]})


class AssessedCompose(_AssessedView):
    """A text area saved when focus leaves it or on *Save*; the text is kept whatever its length."""

    def __init__(self, item: ComposeResponse, answers: AssessedAnswers) -> None:
        saved = answers.latest(item.id)
        text = saved.get("text") if isinstance(saved, dict) else None
        self.text = w.Textarea(
            value=text if isinstance(text, str) else "",
            description="Your reply",
            placeholder="Write what you would say.",
            continuous_update=False,
            layout=w.Layout(width="100%", height="10em"),
            style={"description_width": "initial"},
        )
        self.save_button = w.Button(description="Save reply", tooltip="Save your reply now")
        self.save_button.on_click(lambda _: self.submit({"text": self.text.value}))
        self.text.observe(lambda _c: self.submit({"text": self.text.value}), names="value")
        quote = w.HTML(f"<blockquote>{html.escape(item.patient_says)}</blockquote>")
        super().__init__(item, answers, [quote, self.text, self.save_button])

    def submit(self, value: Any) -> bool:
        saved = super().submit(value)
        notes = compose_problems(self.item, str(value.get("text", "")))
        if saved and notes:
            self._status(f"Saved ({'; '.join(notes)})")
        return saved


def widget_for(
    item: CueSpotting | ResponseChoice | ComposeResponse, answers: AssessedAnswers
) -> _AssessedView:
    if isinstance(item, CueSpotting):
        return AssessedCueSpotting(item, answers)
    if isinstance(item, ResponseChoice):
        return AssessedChoice(item, answers)
    return AssessedCompose(item, answers)
