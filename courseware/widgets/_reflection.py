"""The reflection exercise: a private, autosaved piece of writing against a prompt."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import time
import weakref
from typing import Any

import ipywidgets as w

from ..content import ReflectionPrompt
from ._common import Context, escape, heading, markdown

SAVED = "reflection.saved"


def word_count(text: str) -> int:
    return len(text.split())


class Reflection(w.VBox):  # type: ignore[misc]
    """A prompt, a text area and a word count; the text is saved to the store as the learner types.

    Each save appends an event, so earlier drafts are never overwritten. Saving waits until typing
    has paused for ``autosave_delay`` seconds; pending text is also flushed when the kernel exits.
    """

    def __init__(self, prompt: ReflectionPrompt, context: Context, *, autosave_delay: float = 0.8):
        self.prompt = prompt
        self.context = context
        self.autosave_delay = autosave_delay
        self._pending: asyncio.TimerHandle | None = None
        self._saved_text = ""
        latest = self.context.history(prompt.id, SAVED)
        if latest:
            self._saved_text = str(latest[-1].value.get("text", ""))
        self.text = w.Textarea(
            value=self._saved_text,
            placeholder="Write here. Your reflection is private and saves as you type.",
            description=f"Your reflection: {prompt.title}",
            layout=w.Layout(width="100%", height="14em"),
            style={"description_width": "initial"},
            continuous_update=True,
        )
        self.text.add_class("cw-reflection-text")
        self.words = w.HTML()
        self.status = w.HTML()
        self.save_button = w.Button(description="Save now", tooltip="Save your reflection now")
        self.save_button.on_click(lambda _: self.save())
        self.text.observe(self._on_change, names="value")
        parts: list[Any] = [w.HTML(heading(prompt.title) + markdown(prompt.prompt))]
        if prompt.guidance:
            parts.append(w.HTML(f"<div class='cw-guidance'>{markdown(prompt.guidance)}</div>"))
        parts += [self.text, w.HBox([self.save_button, self.words, self.status])]
        super().__init__(parts)
        self.add_class("cw-reflection")
        self._update_words()
        self._set_status("Saved" if latest else "Not saved yet")
        _unsaved.add(self)

    @property
    def saved_text(self) -> str:
        return self._saved_text

    def _set_status(self, message: str) -> None:
        self.status.value = f"<span role='status' aria-live='polite'>{escape(message)}</span>"

    def _update_words(self) -> None:
        count = word_count(self.text.value)
        target = f" (aim for at least {self.prompt.min_words})" if self.prompt.min_words else ""
        self.words.value = f"<span class='cw-words'>{count} words{escape(target)}</span>"

    def _on_change(self, _change: dict[str, Any]) -> None:
        self._update_words()
        self._set_status("Saving…")
        if self._pending is not None:
            self._pending.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (plain Python): save straight away
            loop = None
        if loop is None or self.autosave_delay <= 0:
            self.save()
            return
        self._pending = loop.call_later(self.autosave_delay, self.save)

    def save(self) -> bool:
        """Append the current text if it changed since the last save; return whether it saved."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        text = self.text.value
        if text == self._saved_text:
            self._set_status("Saved")
            return False
        self.context.record(self.prompt.id, SAVED, {"text": text, "words": word_count(text)})
        self._saved_text = text
        self._set_status(f"Saved at {time.strftime('%H:%M:%S')}")
        return True


_unsaved: weakref.WeakSet[Reflection] = weakref.WeakSet()


@atexit.register
def _flush_on_exit() -> None:
    """A kernel shut down mid-pause still keeps the last words typed."""
    for reflection in list(_unsaved):
        with contextlib.suppress(Exception):
            reflection.save()
