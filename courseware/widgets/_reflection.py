"""The reflection exercise: a private, autosaved piece of writing against a prompt.

A prompt can be one free box or guided boxes (What? So what? Now what?, or the author's own). The
word count shows progress towards the target (never a block), and text that looks like it could
identify a patient gets a warning (never a block either: the words are saved regardless).
"""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as w

from ..content import ReflectionPrompt
from ..content._attempts import words
from ._autosave import Autosave
from ._common import Context, escape, heading, markdown
from ._writing import warning_html

SAVED = "reflection.saved"


def word_count(text: str) -> int:
    return words(text)


def combined(parts: dict[str, str], labels: dict[str, str]) -> str:
    """Guided boxes as one text (for marking and analytics, which read ``text``)."""
    return "\n\n".join(f"{labels[k]}\n\n{t}" for k, t in parts.items() if t.strip())


class Reflection(w.VBox):  # type: ignore[misc]
    """A prompt, text boxes and a word count; the text is saved to the store as the learner types.

    Each save appends an event, so earlier drafts are never overwritten. Saving waits until typing
    has paused for ``autosave_delay`` seconds; pending text is also flushed when the kernel exits.
    """

    def __init__(self, prompt: ReflectionPrompt, context: Context, *, autosave_delay: float = 0.8):
        self.prompt = prompt
        self.context = context
        self.autosave_delay = autosave_delay
        self.autosave = Autosave(self.save, lambda: self.autosave_delay)
        self.labels = {p.id: p.title for p in prompt.sections}
        latest = self.context.history(prompt.id, SAVED)
        value = latest[-1].value if latest else {}
        self._saved_text = str(value.get("text", ""))
        saved_parts = value.get("parts") if isinstance(value.get("parts"), dict) else None
        self.boxes: dict[str, w.Textarea] = {}
        blocks: list[Any] = []
        if not prompt.sections:
            self.boxes[""] = self._box(f"Your reflection: {prompt.title}", self._saved_text)
            blocks.append(self.boxes[""])
        for number, part in enumerate(prompt.sections):
            if saved_parts is not None:
                start = str(saved_parts.get(part.id, ""))
            else:  # saved before the prompt had parts: keep the text in the first box
                start = self._saved_text if number == 0 else ""
            self.boxes[part.id] = self._box(f"Your reflection: {part.title}", start)
            blocks += [w.HTML(heading(part.title, 4) + markdown(part.prompt)), self.boxes[part.id]]
        self.text = next(iter(self.boxes.values()))
        self.words = w.HTML()
        self.status = w.HTML()
        self.warning = w.HTML()
        self.save_button = w.Button(description="Save now", tooltip="Save your reflection now")
        self.save_button.on_click(lambda _: self.save())
        parts: list[Any] = [w.HTML(heading(prompt.title) + markdown(prompt.prompt))]
        if prompt.guidance:
            parts.append(w.HTML(f"<div class='cw-guidance'>{markdown(prompt.guidance)}</div>"))
        parts += [*blocks, self.warning, w.HBox([self.save_button, self.words, self.status])]
        super().__init__(parts)
        self.add_class("cw-reflection")
        self._update_words()
        self._set_status("Saved" if latest else "Not saved yet")
        self.warning.value = warning_html(self.current_text())

    def _box(self, label: str, value: str) -> w.Textarea:
        box = w.Textarea(
            value=value,
            placeholder="Write here. Your reflection is private and saves as you type.",
            description=label,
            layout=w.Layout(width="100%", height="14em" if not self.labels else "8em"),
            style={"description_width": "initial"},
            continuous_update=True,
        )
        box.add_class("cw-reflection-text")
        box.observe(self._on_change, names="value")
        return box

    @property
    def saved_text(self) -> str:
        return self._saved_text

    @property
    def parts(self) -> dict[str, str]:
        """Each guided box's text (empty for a free reflection)."""
        return {k: b.value for k, b in self.boxes.items() if k}

    def current_text(self) -> str:
        if not self.labels:
            return str(self.text.value)
        return combined(self.parts, self.labels)

    def word_total(self) -> int:
        """The learner's own words (guided boxes' headings do not count)."""
        if not self.labels:
            return word_count(self.text.value)
        return sum(word_count(t) for t in self.parts.values())

    def _set_status(self, message: str) -> None:
        self.status.value = f"<span role='status' aria-live='polite'>{escape(message)}</span>"

    def _update_words(self) -> None:
        count = self.word_total()
        target = self.prompt.min_words
        if target and count >= target:
            note = f" (target of {target} reached)"
        elif target:
            note = f" (aim for at least {target})"
        else:
            note = ""
        self.words.value = f"<span class='cw-words'>{count} words{escape(note)}</span>"

    def _on_change(self, _change: dict[str, Any]) -> None:
        self._update_words()
        self._set_status("Saving…")
        self.autosave.touch()

    def save(self) -> bool:
        """Append the current text if it changed since the last save; return whether it saved."""
        self.autosave.cancel()
        text = self.current_text()
        if text == self._saved_text:
            self._set_status("Saved")
            return False
        value: dict[str, Any] = {
            "text": text,
            "words": self.word_total(),
            "title": self.prompt.title,
        }
        if self.labels:
            value["parts"] = self.parts
            value["labels"] = self.labels
        try:
            self.context.record(self.prompt.id, SAVED, value)
        except ValueError as refused:  # e.g. too long to store: the text stays in the box
            self._set_status(
                f"Not saved: {refused}. Your text is still here; shorten it or copy it somewhere safe."
            )
            return False
        self._saved_text = text
        note = self.context.store.delivery_note()
        self._set_status(f"Saved at {time.strftime('%H:%M:%S')}" + (f". {note}" if note else ""))
        self.warning.value = warning_html(text)
        return True
