"""Writing exercises: TimedWrite (a free-write against a visible clock), CloseReading (a passage with
guided questions and notes beside it) and ParallelChart (the narrative-medicine parallel chart).

Text autosaves once typing pauses and is never destroyed: each save is a new event. Writing that
may name a patient gets a warning (never a block).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import ipywidgets as w

from ..content import (
    CloseReadingSpec,
    NotesAttempt,
    ParallelChartSpec,
    TimedAttempt,
    TimedWriteSpec,
    format_clock,
    privacy_warning,
    words,
)
from ._autosave import Autosave
from ._common import Context, escape, focus_soon, markdown, status, writing_box
from ._exercise import ExerciseView, disclosure

READ_BACK = """\
- Read what you wrote aloud, or slowly to yourself. What surprises you?
- Which sentence has the most energy? Which did you nearly not write?
- Whose voice is in it besides yours?
"""


def warning_html(text: str) -> str:
    """The patient-identifiable-information warning for ``text``, or nothing."""
    found = privacy_warning(text)
    if not found:
        return ""
    return f"<div class='cw-warning' role='status'><p><strong>Check:</strong> {escape(found)}</p></div>"


class TimedWrite(ExerciseView):
    """Narrative medicine's timed writing: a prompt, a countdown that starts when the learner is
    ready (and carries on across a reload), a word count, and prompts for reading it back."""

    spec: TimedWriteSpec
    attempt: TimedAttempt

    def __init__(
        self, spec: TimedWriteSpec, context: Context, *, autosave_delay: float = 0.8
    ) -> None:
        self.autosave_delay = autosave_delay
        self.autosave = Autosave(self._save_draft, lambda: self.autosave_delay)
        self._ticking: asyncio.TimerHandle | None = None
        self._announced_minute = False
        super().__init__(spec, context, TimedAttempt(spec))
        self._tick()

    def build(self) -> list[Any]:
        self.prompt = w.HTML(f"<div class='cw-prompt'>{markdown(self.spec.prompt)}</div>")
        self.clock = w.HTML()
        self.start_button = w.Button(
            description=f"Start the {format_clock(self.spec.minutes * 60)} timer",
            tooltip="Start the timer and begin writing",
        )
        self.start_button.on_click(lambda _: self.start())
        self.text = writing_box(
            "Your writing",
            self._typed,
            value=self.attempt.text,
            height="14em",
            placeholder="Press Start, then keep your pen moving: do not stop to correct.",
        )
        self.words = w.HTML()
        self.warning = w.HTML()
        self.status = w.HTML()
        self.submit_button = w.Button(
            description="I have finished", tooltip="Submit your writing (it is then locked)"
        )
        self.submit_button.on_click(lambda _: self.submit())
        self.read_back = w.HTML(markdown(READ_BACK))
        self.read_back_button = disclosure(
            "How to read it back", "Hide the reading-back prompts", self.read_back
        )
        self.read_back_button.layout.visibility = "hidden"
        return [
            self.prompt,
            self.clock,
            self.start_button,
            self.text,
            w.HBox([self.words]),
            self.warning,
            self.status,
            self.submit_button,
            self.read_back_button,
            self.read_back,
        ]

    def start(self) -> bool:
        done = self.act(TimedAttempt.START, {})
        if done:
            self._tick()
            focus_soon(self.text)
        return done

    def _typed(self) -> None:
        self.words.value = f"<span class='cw-words'>{words(self.text.value)} words</span>"
        if not self.rendering and not self.attempt.locked:
            self.autosave.touch()

    def _save_draft(self) -> None:
        if not self.attempt.locked and self.text.value != self.attempt.text:
            self.act(TimedAttempt.DRAFT, {"text": self.text.value})

    def submit(self) -> bool:
        self.autosave.flush()
        done = self.act(TimedAttempt.SUBMIT, {"text": self.text.value})
        if done:
            focus_soon(self.read_back_button)
        return done

    def _tick(self) -> None:
        """Redraw the clock; while it runs, again in a second (on the kernel's event loop)."""
        now = time.time()
        self._draw_clock(now)
        running = self.attempt.started_at is not None and not self.attempt.locked
        if not running or self.attempt.time_up(now):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._ticking is not None:
            self._ticking.cancel()
        self._ticking = loop.call_later(1.0, self._tick)

    def _draw_clock(self, now: float) -> None:
        left = self.attempt.remaining(now)
        if self.attempt.started_at is None:
            words_left = f"{format_clock(left)} (the clock starts when you press Start)"
        elif left <= 0:
            words_left = "0:00, time is up"
        else:
            words_left = f"{format_clock(left)} left"
        self.clock.value = (
            f"<div class='cw-clock' role='timer' aria-label='Time left'>{escape(words_left)}</div>"
        )
        if self.attempt.locked:
            message = "Your writing is submitted and saved."
        elif self.attempt.started_at is None:
            message = "Read the prompt, then start the timer when you are ready."
        elif left <= 0:
            message = "Time is up. Finish your sentence, then press “I have finished”."
        elif left <= 60 and not self._announced_minute:
            self._announced_minute = True
            message = "One minute left."
        else:
            return
        self.status.value = status(message)

    def render(self) -> None:
        started = self.attempt.started_at is not None
        locked = self.attempt.locked
        self.start_button.layout.display = "none" if started else None
        self.text.disabled = not started or locked
        if locked and self.text.value != self.attempt.text:
            self.text.value = self.attempt.text
        self.submit_button.layout.display = None if started and not locked else "none"
        self.read_back_button.layout.visibility = None if locked else "hidden"
        self.words.value = f"<span class='cw-words'>{words(self.text.value)} words</span>"
        self.warning.value = warning_html(self.attempt.text)
        self._draw_clock(time.time())


class NotesView(ExerciseView):
    """Named boxes of notes that autosave together; shared by CloseReading and ParallelChart."""

    attempt: NotesAttempt
    boxes: dict[str, w.Textarea]

    def __init__(
        self,
        spec: Any,
        context: Context,
        boxes: Sequence[tuple[str, str]],
        *,
        autosave_delay: float = 0.8,
    ) -> None:
        self.autosave_delay = autosave_delay
        self.autosave = Autosave(self.save, lambda: self.autosave_delay)
        self.box_labels = dict(boxes)
        prefix = spec.kind.replace("-", "_") + "."
        super().__init__(spec, context, NotesAttempt(prefix, self.box_labels, spec.title))

    def notes_area(self) -> w.VBox:
        self.boxes = {}
        for box_id, label in self.box_labels.items():
            self.boxes[box_id] = writing_box(
                label, self._typed, value=self.attempt.notes.get(box_id, "")
            )
        self.status = w.HTML()
        self.warning = w.HTML()
        return w.VBox([*self.boxes.values(), self.warning, self.status])

    def notes(self) -> dict[str, str]:
        return {k: box.value for k, box in self.boxes.items() if box.value}

    def _typed(self) -> None:
        if not self.rendering:
            self.status.value = status("Saving…")
            self.autosave.touch()

    def save(self) -> bool:
        """Store the notes if they changed since the last save; return whether it stored."""
        self.autosave.cancel()
        if self.notes() == self.attempt.notes:
            return False
        return self.act(self.attempt.kind, {"notes": self.notes()})

    def render(self) -> None:
        for box_id, box in self.boxes.items():
            saved = self.attempt.notes.get(box_id, "")
            if box.value != saved and not self.autosave.pending:
                box.value = saved
        saved_any = bool(self.attempt.notes)
        self.status.value = status(
            f"Saved at {time.strftime('%H:%M:%S')}" if saved_any else "Notes save as you type."
        )
        self.warning.value = warning_html("\n".join(self.attempt.notes.values()))


class CloseReading(NotesView):
    """A passage beside guided questions (frame, form, time, plot, desire) with the learner's notes."""

    spec: CloseReadingSpec

    def __init__(self, spec: CloseReadingSpec, context: Context, **options: Any) -> None:
        boxes = [(q.aspect, q.question) for q in spec.questions]
        super().__init__(spec, context, boxes, **options)

    def build(self) -> list[Any]:
        source = f"<p class='cw-meta'>{escape(self.spec.source)}</p>" if self.spec.source else ""
        passage = w.HTML(
            # named after its exercise: a module may have several passages, each its own landmark
            f"<section class='cw-passage' aria-label='{escape(f'The passage: {self.spec.title}')}'>"
            f"{markdown(self.spec.passage)}{source}</section>"
        )
        passage.layout = w.Layout(flex="1 1 22em", min_width="16em")
        notes = self.notes_area()
        notes.layout = w.Layout(flex="1 1 22em", min_width="16em")
        return [w.HBox([passage, notes], layout=w.Layout(flex_flow="row wrap", grid_gap="1.5em"))]


class ParallelChart(NotesView):
    """The parallel chart: the learner's own story of caring for a patient, in ordinary words."""

    spec: ParallelChartSpec

    def __init__(self, spec: ParallelChartSpec, context: Context, **options: Any) -> None:
        boxes = [(s.id, f"{s.title}: {s.prompt}") for s in spec.sections]
        super().__init__(spec, context, boxes, **options)

    def build(self) -> list[Any]:
        privacy = (
            "<p class='cw-meta'>This chart is private to you. Change names, dates and places so "
            "that nobody could recognise the patient.</p>"
        )
        return [w.HTML(privacy), self.notes_area()]
