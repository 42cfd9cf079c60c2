"""CueSpotting: mark the lines of a consultation where the patient offers an empathic opportunity."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..content import CueAttempt, CueSpottingSpec
from ._common import Context, escape, focus_soon, markdown, status
from ._exercise import ExerciseView, disclosure

VERDICTS = {
    "hit": "✓ Cue found",
    "miss": "✗ Cue missed",
    "false-alarm": "✗ Not a cue in the key",
    "pass": "Not a cue, correctly left",
}


class CueSpotting(ExerciseView):
    """A transcript with a tick box per line (saved as you go); submitting locks the marks and
    compares them with the author's key: hits, misses and false alarms, each explained."""

    spec: CueSpottingSpec
    attempt: CueAttempt

    def __init__(self, spec: CueSpottingSpec, context: Context) -> None:
        super().__init__(spec, context, CueAttempt(spec))

    def build(self) -> list[Any]:
        self.boxes = []
        for number, line in enumerate(self.spec.transcript, 1):
            box = w.Checkbox(
                description=f"Line {number}. {line.speaker}: {line.text}",
                indent=False,
                layout=w.Layout(width="auto", max_width="46em"),
            )
            box.add_class("cw-line")
            box.observe(lambda _c: self._marked(), names="value")
            self.boxes.append(box)
        self.submit_button = w.Button(
            description="Check my marks", tooltip="Check my marks against the key (then locked)"
        )
        self.submit_button.on_click(lambda _: self.submit())
        self.result = w.HTML()
        self.explanations = w.HTML()
        self.explain = disclosure("Explain every line", "Hide the explanations", self.explanations)
        self.explain.layout.visibility = "hidden"
        return [
            w.HTML(
                "<p>Tick each line where the patient offers an <strong>empathic opportunity</strong>"
                ": a hint at a feeling or worry you could invite them to say more about.</p>"
            ),
            w.VBox(self.boxes),
            self.submit_button,
            self.result,
            self.explain,
            self.explanations,
        ]

    def marked(self) -> list[int]:
        return [n for n, box in enumerate(self.boxes, 1) if box.value]

    def _marked(self) -> None:
        if (
            not self.rendering
            and not self.attempt.locked
            and frozenset(self.marked()) != self.attempt.marked
        ):
            self.act(CueAttempt.MARKS, {"lines": self.marked()})

    def submit(self) -> bool:
        done = self.act(CueAttempt.SUBMIT, {"lines": self.marked()})
        if done:
            focus_soon(self.explain)
        return done

    def verdict(self, number: int) -> str:
        key, marked = self.spec.key, self.attempt.marked
        if number in key:
            return "hit" if number in marked else "miss"
        return "false-alarm" if number in marked else "pass"

    def render(self) -> None:
        locked = self.attempt.locked
        for number, box in enumerate(self.boxes, 1):
            if box.value != (number in self.attempt.marked):
                box.value = number in self.attempt.marked
            box.disabled = locked
            if locked:
                line = self.spec.transcript[number - 1]
                box.description = (
                    f"Line {number}. {line.speaker}: {line.text} — {VERDICTS[self.verdict(number)]}"
                )
        self.submit_button.layout.display = "none" if locked else None
        if not locked:
            self.result.value = status(f"{len(self.attempt.marked)} lines marked; saved as you go.")
            return
        hits, misses = self.attempt.hits, self.attempt.misses
        false_alarms = self.attempt.false_alarms
        self.result.value = (
            "<div class='cw-feedback' role='status' aria-live='polite'><p>"
            f"<strong>You found {len(hits)} of {len(self.spec.key)} cues.</strong> "
            f"Missed: {len(misses)}. Marked but not in the key: {len(false_alarms)}.</p></div>"
        )
        rows = []
        for number, line in enumerate(self.spec.transcript, 1):
            why = line.cue or line.note or ""
            rows.append(
                f"<tr><th scope='row'>{number}</th><td>{escape(line.speaker)}</td>"
                f"<td>{escape(VERDICTS[self.verdict(number)])}</td>"
                f"<td>{markdown(why) if why else ''}</td></tr>"
            )
        self.explanations.value = (
            "<table><caption>Each line against the key</caption><thead><tr><th scope='col'>Line"
            "</th><th scope='col'>Speaker</th><th scope='col'>Result</th>"
            f"<th scope='col'>Why</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
        self.explain.layout.visibility = None
