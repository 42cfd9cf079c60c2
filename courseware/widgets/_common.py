"""What every exercise widget shares: where it saves, for whom, and safe Markdown rendering."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..store import Event, Store, current_learner, open_store


@dataclass
class Context:
    """The store, learner and module an exercise belongs to."""

    store: Store
    learner: str
    module: str

    @classmethod
    def create(cls, module: str, store: Store | None = None, learner: str | None = None) -> Context:
        return cls(store or open_store(), learner or current_learner(), module)

    def record(self, item: str, kind: str, value: Any) -> Event:
        event = Event(self.learner, self.module, item, kind, value)
        self.store.append(event)
        return event

    def history(self, item: str, kind_prefix: str) -> list[Event]:
        return self.store.events(
            learner=self.learner, module=self.module, item=item, kind_prefix=kind_prefix
        )


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # "html": False escapes any raw HTML an author (or learner) writes; unsafe links are refused.
    return MarkdownIt("commonmark", {"html": False, "typographer": True}).enable(
        ["replacements", "smartquotes", "table"]
    )


def markdown(text: str) -> str:
    """Render Markdown to HTML with raw HTML escaped."""
    return str(_markdown().render(text))


def escape(text: str) -> str:
    return html.escape(text, quote=True)


_OPENS = r"(^|[\s(\[{\u2014\u2013/-])"


def typeset(text: str) -> str:
    """Plain text (a button label) with the curly quotes and apostrophes that Markdown gives the
    scene around it, so a reply reads the same in the story, on its button and in the debrief."""
    text = re.sub(_OPENS + '"', "\\1\u201c", text).replace('"', "\u201d")
    return re.sub(_OPENS + "'", "\\1\u2018", text).replace("'", "\u2019")


def sentence(text: str) -> str:
    """``text`` ending in one full stop (or its own ``?``/``!``), never two."""
    text = text.rstrip()
    bare = text.rstrip("\u201d\u2019\"')")
    return text if bare.endswith((".", "?", "!", "\u2026", ":")) else text + "."


def quoted(text: str) -> str:
    """Someone's words in curly quotes, escaped for HTML."""
    return f"\u201c{escape(typeset(text))}\u201d"


def heading(text: str, level: int = 3) -> str:
    return f"<h{level} class='cw-heading'>{escape(text)}</h{level}>"


STYLE = """<style>
.cw-choice.jupyter-button { white-space: normal; text-align: left; line-height: 1.4;
  padding: 0.4em 0.8em; margin: 0.25em 0; }
.cw-choice.jupyter-button, .cw-reflection .jupyter-button, .cw-exercise .jupyter-button,
.cw-vignette .jupyter-button { border: 2px solid #1d4f91; height: auto; min-height: 2.2em; }
button.jupyter-widgets.jupyter-button { width: auto; max-width: 100%; height: auto;
  min-height: 2.2em; white-space: normal; overflow: visible; text-overflow: clip;
  overflow-wrap: break-word; text-align: left; line-height: 1.4; padding: 0.3em 0.8em; }
.cw-debrief th, .cw-debrief td { overflow-wrap: normal; word-break: normal; hyphens: manual; }
.cw-path { padding-left: 1.5em; }
.cw-step { margin-bottom: 0.8em; }
.cw-comment { border-left: 3px solid #555; padding: 0 0.8em; color: #111; }
.cw-feedback { border-left: 4px solid #1d4f91; padding: 0.2em 0.8em; background: #eef3fa;
  color: #111; }
.cw-feedback::before { content: ""; }
.cw-ending { border-top: 1px solid #555; padding-top: 0.5em; }
.cw-words, .cw-progress, .cw-meta { color: #333; }
.cw-warning { border-left: 4px solid #8a4b00; background: #fff4e0; color: #111;
  padding: 0.2em 0.8em; }
.cw-perspective { border: 2px dashed #1d4f91; padding: 0.3em 0.8em; color: #111; }
.cw-counters { display: flex; flex-wrap: wrap; gap: 1.5em; color: #111; }
.cw-tag { display: inline-block; border: 1px solid #555; border-radius: 3px;
  padding: 0 0.3em; margin: 0 0.2em; color: #111; background: #fff; }
.cw-debrief table, .cw-exercise table, .cw-after-body table { border-collapse: collapse; margin: 0.5em 0; }
.cw-debrief th, .cw-debrief td, .cw-exercise th, .cw-exercise td, .cw-after-body th,
.cw-after-body td { border: 1px solid #777;
  padding: 0.2em 0.5em; text-align: left; vertical-align: top; color: #111; }
.cw-passage { border-left: 3px solid #555; padding: 0 1em; max-width: 40em; }
.cw-clock { font-size: 1.4em; font-variant-numeric: tabular-nums; color: #111; }
.cw-exercise .widget-label, .cw-reflection .widget-label { white-space: normal;
  overflow: visible; text-overflow: clip; min-width: 8em; color: #111; }
.cw-exercise .widget-checkbox { width: 100%; height: auto; }
.cw-exercise .widget-checkbox span { white-space: normal; }
.cw-stack.widget-textarea, .cw-stack.widget-dropdown { flex-direction: column;
  align-items: stretch; height: auto; width: 100%; max-width: 46em; }
.cw-stack.widget-textarea .widget-label, .cw-stack.widget-dropdown .widget-label {
  width: auto !important; max-width: 46em; line-height: 1.4; margin-bottom: 0.3em;
  text-align: left; }
.cw-stack.widget-dropdown select { flex: 0 0 auto; height: 2.2em; max-width: 24em; }
.cw-stack.widget-dropdown { margin-bottom: 0.8em; }
.jupyter-widgets button:focus-visible, .jupyter-widgets textarea:focus-visible,
.jupyter-widgets select:focus-visible, .jupyter-widgets input:focus-visible {
  outline: 3px solid #ffbf47; outline-offset: 2px; }
</style>"""
"""Shared styles: labels and choices wrap instead of being cut off; focus is always visible;
marks and warnings carry words and a border, never colour alone."""


def focus_soon(widget: Any, delay: float = 0.3) -> None:
    """Move keyboard focus to ``widget`` once the browser has drawn it.

    A widget's view exists only after the browser has rendered the new children, and a focus
    message sent earlier would be lost, so the message waits ``delay`` seconds on the kernel's
    event loop (there is nothing to focus without one).
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.call_later(delay, widget.focus)


def writing_box(
    label: str,
    on_typed: Callable[[], object],
    *,
    value: str = "",
    height: str = "6em",
    placeholder: str = "",
) -> Any:
    """A box for the learner's own words: labelled above the text (``cw-stack``, so the label is
    never cut off on a phone), full width, and synced on every keystroke so ``on_typed`` (the
    widget's autosave) sees each change."""
    import ipywidgets as w

    box = w.Textarea(
        value=value,
        description=label,
        placeholder=placeholder,
        layout=w.Layout(width="100%", height=height),
        continuous_update=True,
    )
    box.add_class("cw-stack")
    box.observe(lambda _change: on_typed(), names="value")
    return box


def status(message: str) -> str:
    """A polite live region: screen readers announce the message without moving focus."""
    return f"<div class='cw-status' role='status' aria-live='polite'>{escape(message)}</div>"


def tags(techniques: Iterable[str]) -> str:
    """Technique tags as words in boxes (``Naming (NURSE)``), never by colour alone."""
    from ..content import TECHNIQUES

    return "".join(
        f"<span class='cw-tag'>{escape(TECHNIQUES[t].label)}</span>"
        for t in techniques
        if t in TECHNIQUES
    )
