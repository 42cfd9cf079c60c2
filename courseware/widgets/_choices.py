"""ResponseChoice and ComposeResponse: replying to a patient's words, with technique feedback."""

from __future__ import annotations

import logging
import time
from typing import Any

import ipywidgets as w

from ..content import (
    ComposeAttempt,
    ComposeResponseSpec,
    NotAllowed,
    ResponseChoiceAttempt,
    ResponseChoiceSpec,
    describe_techniques,
    display_order,
    in_order,
)
from ..feedback import UNAVAILABLE_MESSAGE as UNAVAILABLE
from ..feedback import Coding, warm_coder
from ._autosave import Autosave
from ._coding import auto_code, coding_html, unavailable_html
from ._common import (
    Context,
    escape,
    focus_soon,
    markdown,
    quoted,
    status,
    tags,
    typeset,
    writing_box,
)
from ._exercise import ExerciseView, disclosure, quote

log = logging.getLogger(__name__)


def _verdict(best: bool) -> str:
    return "A strong reply." if best else "Not the strongest reply here."


class ResponseChoice(ExerciseView):
    """A patient's statement and candidate replies; one pick (locked), then feedback naming the
    technique, and on request the feedback on every reply."""

    spec: ResponseChoiceSpec
    attempt: ResponseChoiceAttempt

    def __init__(self, spec: ResponseChoiceSpec, context: Context) -> None:
        super().__init__(spec, context, ResponseChoiceAttempt(spec))

    def build(self) -> list[Any]:
        spec = self.spec
        context = markdown(spec.context) if spec.context else ""
        self.statement = w.HTML(context + quote(spec.speaker, spec.statement))
        self.order = display_order(
            len(spec.options),
            self.context.learner,
            self.context.module,
            self.item,
            fixed=spec.order == "fixed",
        )
        """The options' indices in the file, in the order this learner sees them."""
        self.buttons = []
        for index, option in enumerate(spec.options):
            button = w.Button(
                description=typeset(option.text),
                tooltip=typeset(option.text),
                layout=w.Layout(width="auto", height="auto", max_width="100%"),
            )
            button.add_class("cw-choice")
            button.on_click(lambda _b, i=index: self.pick(i))
            self.buttons.append(button)
        self.feedback = w.HTML()
        self.all_feedback = w.HTML()
        self.compare = disclosure(
            "Compare all the replies", "Hide the other replies", self.all_feedback
        )
        self.compare.layout.visibility = "hidden"
        return [
            self.statement,
            w.HTML("<p>Choose the reply you would give:</p>"),
            w.VBox(in_order(self.buttons, self.order)),
            self.feedback,
            self.compare,
            self.all_feedback,
        ]

    def pick(self, index: int) -> bool:
        """Forwarded click: the attempt refuses a second pick or an option not offered."""
        done = self.act(ResponseChoiceAttempt.PICK, {"option": index})
        if done:
            focus_soon(self.compare)
        return done

    def render(self) -> None:
        chosen = self.attempt.picked
        for index, button in enumerate(self.buttons):
            button.disabled = chosen is not None
            mark = "Your choice: " if index == chosen else ""
            button.description = mark + typeset(self.spec.options[index].text)
        option = self.attempt.choice
        if option is None:
            self.feedback.value = status("")
            return
        technique = describe_techniques(option.techniques)
        self.feedback.value = (
            "<div class='cw-feedback' role='status' aria-live='polite'>"
            f"<p><strong>{escape(_verdict(option.best))}</strong>"
            f"{' Technique: ' + escape(technique) + '.' if technique else ''}</p>"
            f"{markdown(option.feedback)}</div>"
        )
        rows = "".join(
            f"<li><p>{'<strong>Your choice.</strong> ' if i == chosen else ''}"
            f"{'<strong>Best reply.</strong> ' if o.best else ''}{quoted(o.text)}"
            f" {tags(o.techniques)}</p>{markdown(o.feedback)}</li>"
            for i, o in ((i, self.spec.options[i]) for i in self.order)
        )
        self.all_feedback.value = f"<ol class='cw-all-feedback'>{rows}</ol>"
        self.compare.layout.visibility = None


class ComposeResponse(ExerciseView):
    """Write your own reply; submit it; code it against NURSE (self-assessment); then see what the
    reply coder found, beside your own coding, and the model replies. Each stage is locked once
    saved. The coder runs in the server, never in this kernel; if it cannot be reached the
    learner is told so and carries on."""

    spec: ComposeResponseSpec
    attempt: ComposeAttempt

    def __init__(
        self, spec: ComposeResponseSpec, context: Context, *, autosave_delay: float = 0.8
    ) -> None:
        self.autosave_delay = autosave_delay
        self.autosave = Autosave(self._save_draft, lambda: self.autosave_delay)
        super().__init__(spec, context, ComposeAttempt(spec))
        if self.attempt.coding is None:
            warm_coder()  # the server loads its model while the learner writes

    def build(self) -> list[Any]:
        from ..content import TECHNIQUES

        spec = self.spec
        context = markdown(spec.context) if spec.context else ""
        self.statement = w.HTML(context + quote(spec.speaker, spec.statement))
        self.text = writing_box(
            spec.prompt,
            self._typed,
            value=self.attempt.text,
            height="7em",
            placeholder="Write the words you would say.",
        )
        self.submit_button = w.Button(
            description="Submit my reply", tooltip="Submit my reply (it is then locked)"
        )
        self.submit_button.on_click(lambda _: self.submit())
        self.code_intro = w.HTML(
            "<p><strong>Now code your own reply.</strong> Tick each technique you think it "
            "uses (tick none if it uses none).</p>"
        )
        self.code_boxes = {
            tag: w.Checkbox(
                description=f"{TECHNIQUES[tag].title}: {TECHNIQUES[tag].meaning}",
                indent=False,
                layout=w.Layout(width="auto"),
            )
            for tag in spec.codes
        }
        self.code_button = w.Button(
            description="Save my coding", tooltip="Save my coding (it is then locked)"
        )
        self.code_button.on_click(lambda _: self.code())
        self.coding = w.VBox([self.code_intro, *self.code_boxes.values(), self.code_button])
        self.auto = w.HTML()
        self.unavailable: str | None = None
        self.replies = w.HTML()
        self.reveal = disclosure("Show the model replies", "Hide the model replies", self.replies)
        self.reveal.layout.visibility = "hidden"
        self.status = w.HTML()
        return [
            self.statement,
            self.text,
            self.submit_button,
            self.status,
            self.coding,
            self.auto,
            self.reveal,
            self.replies,
        ]

    def redraw(self) -> None:
        # a reply coded before the page was closed shows again; one never coded is coded now
        if self.attempt.stage == "review" and self.attempt.coding is None and not self.unavailable:
            self.request_coding()
        super().redraw()

    def request_coding(self) -> None:
        """Code the submitted reply on the server and keep the result (``compose.coded``)."""
        coding, self.unavailable = auto_code(self.spec.statement, self.attempt.text)
        if coding is not None:
            try:
                stored = self.attempt.apply(ComposeAttempt.CODED, coding, time.time())
            except NotAllowed as exc:
                log.warning("the coder's answer was refused: %s", exc)
                self.unavailable = UNAVAILABLE
                return
            self.context.record(self.item, ComposeAttempt.CODED, stored)

    def _typed(self) -> None:
        if self.attempt.stage == "write":
            self.autosave.touch()

    def _save_draft(self) -> None:
        if self.attempt.stage == "write" and self.text.value != self.attempt.text:
            self.act(ComposeAttempt.DRAFT, {"text": self.text.value})

    def submit(self) -> bool:
        self.autosave.flush()  # the draft is kept even if the submission is refused
        done = self.act(ComposeAttempt.SUBMIT, {"text": self.text.value})
        if done:
            focus_soon(next(iter(self.code_boxes.values())))
        return done

    def code(self) -> bool:
        chosen = [tag for tag, box in self.code_boxes.items() if box.value]
        done = self.act(ComposeAttempt.CODE, {"codes": chosen})
        if done:
            focus_soon(self.reveal)
        return done

    def render(self) -> None:
        stage = self.attempt.stage
        if self.text.value != self.attempt.text and stage != "write":
            self.text.value = self.attempt.text
        self.text.disabled = stage != "write"
        self.submit_button.disabled = stage != "write"
        self.submit_button.layout.display = None if stage == "write" else "none"
        self.coding.layout.display = "none" if stage == "write" else None
        for tag, box in self.code_boxes.items():
            box.disabled = stage != "code"
            if self.attempt.codes is not None:
                box.value = tag in self.attempt.codes
        self.code_button.layout.display = None if stage == "code" else "none"
        messages = {
            "write": "Your draft saves as you type. Submit when it says what you would say.",
            "code": "Your reply is submitted. Now code it.",
            "review": "Your reply and your coding are saved.",
        }
        self.status.value = status(messages[stage])
        if stage != "review":
            self.auto.value = ""
            return
        if self.attempt.coding is not None:
            self.auto.value = coding_html(
                self.attempt.text,
                Coding.from_dict(self.attempt.coding),
                self_codes=self.attempt.codes or [],
                offered=self.spec.codes,
            )
        else:
            self.auto.value = unavailable_html(self.unavailable or UNAVAILABLE)
        mine = describe_techniques(self.attempt.codes or []) or "none of the listed techniques"
        replies = "".join(
            f"<li><p>{quoted(r.text)} {tags(r.techniques)}</p>"
            f"{markdown(r.comment) if r.comment else ''}</li>"
            for r in self.spec.model_replies
        )
        self.replies.value = (
            f"<p>You coded your reply as: <strong>{escape(mine)}</strong>.</p>"
            f"<p>Model replies, with the techniques each uses:</p><ol>{replies}</ol>"
        )
        self.reveal.layout.visibility = None
