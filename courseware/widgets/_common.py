"""What every exercise widget shares: where it saves, for whom, and safe Markdown rendering."""

from __future__ import annotations

import html
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
        ["replacements", "smartquotes"]
    )


def markdown(text: str) -> str:
    """Render Markdown to HTML with raw HTML escaped."""
    return str(_markdown().render(text))


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def heading(text: str, level: int = 3) -> str:
    return f"<h{level} class='cw-heading'>{escape(text)}</h{level}>"


STYLE = """<style>
.cw-choice.jupyter-button { white-space: normal; text-align: left; line-height: 1.4;
  padding: 0.4em 0.8em; margin: 0.25em 0; }
.cw-choice.jupyter-button, .cw-reflection .jupyter-button { border: 2px solid #1d4f91; }
.cw-feedback { border-left: 4px solid #1d4f91; padding: 0.2em 0.8em; background: #eef3fa;
  color: #111; }
.cw-feedback::before { content: ""; }
.cw-ending { border-top: 1px solid #555; padding-top: 0.5em; }
.cw-words, .cw-progress { color: #333; }
.jupyter-widgets button:focus-visible, .jupyter-widgets textarea:focus-visible {
  outline: 3px solid #ffbf47; outline-offset: 2px; }
</style>"""
"""Shared styles: choice labels wrap instead of being cut off; focus is always visible."""
