"""The reflection exercise: a private, autosaved piece of writing against a prompt.

A prompt can be one free box or guided boxes (What? So what? Now what?, or the author's own). The
word count shows progress towards the target (never a block), and text that looks like it could
identify a patient gets a warning (never a block either: the words are saved regardless).

Nothing is shown to anyone by default. The learner may, as an explicit action, share a snapshot
with their tutor (``reflection.shared``, withdrawn by ``reflection.unshared``) or submit one
(``reflection.submitted``: final, after a confirmation). The tutor sees that snapshot, never
drafts or later edits; the courseware service enforces the same rule (``courseware.hub.visible_to_others``).
"""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as w

from ..content import ReflectionPrompt, words
from ..store import Event, SQLiteStore, Store
from ._autosave import Autosave
from ._common import Context, escape, focus_soon, heading, markdown, status
from ._writing import warning_html

SAVED = "reflection.saved"
SHARED = "reflection.shared"
UNSHARED = "reflection.unshared"
SUBMITTED = "reflection.submitted"

TUTOR_SEES = (
    "<p class='cw-meta'>Your reflection is private: your tutor cannot see your drafts. If you "
    "share it, your tutor sees the version you shared (not later edits) until you stop sharing. "
    "If you submit it, your tutor keeps the version you submitted: submitting is final.</p>"
)


def tutor_can_read(store: Store) -> bool:
    """Whether a tutor can read what a learner shares: on a hub (the courseware service) or a
    shared database, not in a learner's own SQLite file (a laptop has no tutor to share with)."""
    return not isinstance(store, SQLiteStore)


def when(seconds: float) -> str:
    """``2 Dec at 14:05`` (local time): when a reflection was shared or submitted."""
    moment = time.localtime(seconds)
    return f"{moment.tm_mday} {time.strftime('%b at %H:%M', moment)}"


word_count = words
"""Words as a learner counts them (content's one word count, under the widgets' public name)."""


def combined(parts: dict[str, str], labels: dict[str, str]) -> str:
    """Guided boxes as one text (for marking and analytics, which read ``text``)."""
    return "\n\n".join(f"{labels[k]}\n\n{t}" for k, t in parts.items() if t.strip())


class Reflection(w.VBox):  # type: ignore[misc]
    """A prompt, text boxes and a word count; the text is saved to the store as the learner types.

    Each save appends an event, so earlier drafts are never overwritten. Saving waits until typing
    has paused for ``autosave_delay`` seconds; pending text is also flushed when the kernel exits.
    ``sharing`` offers the share and submit buttons (default: where a tutor can read them).
    """

    def __init__(
        self,
        prompt: ReflectionPrompt,
        context: Context,
        *,
        autosave_delay: float = 0.8,
        sharing: bool | None = None,
    ):
        self.prompt = prompt
        self.sharing = tutor_can_read(context.store) if sharing is None else sharing
        self.context = context
        self.autosave_delay = autosave_delay
        self.autosave = Autosave(self.save, lambda: self.autosave_delay)
        self.labels = {p.id: p.title for p in prompt.sections}
        history = self.context.history(prompt.id, "reflection.")
        latest = [e for e in history if e.kind == SAVED]
        self.shared: Event | None = None  # the snapshot the tutor sees now, if any
        self.unshared_at: float | None = None
        self.submitted: Event | None = None
        for event in history:
            self._note_sharing(event)
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
        self.sharing_box = self._sharing_controls()
        if self.sharing:
            parts.append(self.sharing_box)
        super().__init__(parts)
        self.add_class("cw-reflection")
        self._update_words()
        self._set_status("Saved" if latest else "Not saved yet")
        self.warning.value = warning_html(self.current_text())
        self._show_sharing()

    # -- sharing with the tutor ------------------------------------------------------------------
    def _sharing_controls(self) -> w.VBox:
        self.share_button = w.Button(
            description="Share with my tutor",
            tooltip="Let your tutor read this version of your reflection",
        )
        self.share_button.on_click(lambda _: self.share())
        self.unshare_button = w.Button(
            description="Stop sharing", tooltip="Your tutor will no longer see this reflection"
        )
        self.unshare_button.on_click(lambda _: self.unshare())
        self.submit_button = w.Button(
            description="Submit to my tutor…",
            tooltip="Hand this version in to your tutor (you will be asked to confirm)",
        )
        self.submit_button.on_click(lambda _: self.ask_to_submit())
        self.confirm_button = w.Button(
            description="Yes, submit this version",
            tooltip="Submit now: this is final and cannot be withdrawn",
        )
        self.confirm_button.on_click(lambda _: self.submit(confirmed=True))
        self.cancel_button = w.Button(description="Cancel", tooltip="Do not submit")
        self.cancel_button.on_click(lambda _: self.cancel_submit())
        self.confirm_text = w.HTML(
            "<p><strong>Submitting is final.</strong> Your tutor will see the reflection as it "
            "is now. You cannot withdraw it or submit it again; later edits stay private.</p>"
        )
        self.confirm_box = w.VBox(
            [self.confirm_text, w.HBox([self.confirm_button, self.cancel_button])]
        )
        self.confirm_box.add_class("cw-confirm")
        self.confirm_box.layout.display = "none"
        self.sharing_status = w.HTML()
        box = w.VBox(
            [
                w.HTML(heading("Your tutor", 4) + TUTOR_SEES),
                self.sharing_status,
                w.HBox([self.share_button, self.unshare_button, self.submit_button]),
                self.confirm_box,
            ]
        )
        box.add_class("cw-sharing")
        return box

    def _note_sharing(self, event: Event) -> None:
        if event.kind == SUBMITTED and self.submitted is None:
            self.submitted = event
        elif event.kind == SHARED:
            self.shared = event
        elif event.kind == UNSHARED:
            self.shared, self.unshared_at = None, event.time

    def sharing_state(self) -> str:
        """What the tutor can see now, in the learner's words."""
        if self.submitted is not None:
            return (
                f"Submitted to your tutor on {when(self.submitted.time)}. This is final: your "
                "tutor has the version you submitted. Later edits stay private."
            )
        if self.shared is not None:
            message = (
                f"Shared with your tutor on {when(self.shared.time)} — the version you shared, "
                "not later edits."
            )
            if self.shared.value.get("text") != self.current_text():
                message += " You have changed it since: share again to show the new version."
            return message
        if self.unshared_at is not None:
            return f"Private: you stopped sharing on {when(self.unshared_at)}. Only you can see it."
        return "Private: only you can see this reflection."

    def _show_sharing(self, message: str | None = None) -> None:
        final = self.submitted is not None
        self.share_button.description = (
            "Share this version with my tutor" if self.shared else "Share with my tutor"
        )
        self.share_button.layout.display = "none" if final else None
        self.unshare_button.layout.display = None if self.shared and not final else "none"
        self.submit_button.layout.display = "none" if final else None
        if final:
            self.confirm_box.layout.display = "none"
        self.sharing_status.value = status(message or self.sharing_state())

    def _snapshot(self) -> dict[str, Any] | None:
        """The text as it is now (saved first), or None if there is nothing to show."""
        self.save()
        value = self.stored_value()
        return value if value["text"].strip() else None

    def share(self) -> bool:
        """Show the current version to the tutor (replacing any earlier shared version)."""
        if self.submitted is not None or not self.sharing:
            self._show_sharing()
            return False
        value = self._snapshot()
        if value is None:
            self._show_sharing("There is nothing to share yet: write something first.")
            return False
        self._note_sharing(self.context.record(self.prompt.id, SHARED, value))
        self._show_sharing()
        return True

    def unshare(self) -> bool:
        """Withdraw the shared version: the tutor no longer sees it."""
        if self.shared is None or self.submitted is not None or not self.sharing:
            self._show_sharing()
            return False
        self._note_sharing(self.context.record(self.prompt.id, UNSHARED, {}))
        self._show_sharing()
        focus_soon(self.share_button)
        return True

    def ask_to_submit(self) -> None:
        """Show the confirmation (submitting is final); nothing is sent yet."""
        if self.submitted is not None:
            return
        self.confirm_box.layout.display = None
        focus_soon(self.confirm_button)

    def cancel_submit(self) -> None:
        self.confirm_box.layout.display = "none"
        self._show_sharing("Not submitted. Your reflection is as it was.")
        focus_soon(self.submit_button)

    def submit(self, *, confirmed: bool = False) -> bool:
        """Hand the current version in to the tutor, once and for good (needs ``confirmed``)."""
        if self.submitted is not None or not confirmed or not self.sharing:
            self._show_sharing()
            return False
        value = self._snapshot()
        if value is None:
            self.confirm_box.layout.display = "none"
            self._show_sharing("There is nothing to submit yet: write something first.")
            return False
        self._note_sharing(self.context.record(self.prompt.id, SUBMITTED, value))
        self._show_sharing()
        return True

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

    def stored_value(self) -> dict[str, Any]:
        """The text as stored: ``text``, ``words``, ``title`` (+ ``parts``/``labels`` if guided)."""
        value: dict[str, Any] = {
            "text": self.current_text(),
            "words": self.word_total(),
            "title": self.prompt.title,
        }
        if self.labels:
            value["parts"] = self.parts
            value["labels"] = self.labels
        return value

    def save(self) -> bool:
        """Append the current text if it changed since the last save; return whether it saved."""
        self.autosave.cancel()
        text = self.current_text()
        if text == self._saved_text:
            self._set_status("Saved")
            return False
        try:
            self.context.record(self.prompt.id, SAVED, self.stored_value())
        except ValueError as refused:  # e.g. too long to store: the text stays in the box
            self._set_status(
                f"Not saved: {refused}. Your text is still here; shorten it or copy it somewhere safe."
            )
            return False
        self._saved_text = text
        note = self.context.store.delivery_note()
        self._set_status(f"Saved at {time.strftime('%H:%M:%S')}" + (f". {note}" if note else ""))
        self.warning.value = warning_html(text)
        if self.shared is not None or self.submitted is not None:
            self.sharing_status.value = status(self.sharing_state())
        return True
