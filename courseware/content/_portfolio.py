"""A learner's own reflective writing as one Markdown or HTML file for their e-portfolio.

Built from the newest saved version of each piece. Learner text is escaped in both formats, so
whatever they typed (HTML, script, formulas) shows as text wherever the file is opened. The export
carries no learner id: it is the learner's own copy.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ._attempts import Recorded

Format = Literal["markdown", "html"]


@dataclass(frozen=True)
class PortfolioEntry:
    """One piece of writing: where it came from, its title, its text (and its parts, if any)."""

    module: str
    item: str
    title: str
    text: str
    saved: float
    kind: str = "reflection"
    parts: tuple[tuple[str, str], ...] = field(default_factory=tuple)


class Saved(Recorded, Protocol):
    """A stored event as the export reads it (a store ``Event``)."""

    @property
    def module(self) -> str: ...

    @property
    def item(self) -> str: ...


WRITING_KINDS = {
    "reflection.saved": "reflection",
    "timed.draft": "timed writing",
    "timed.submit": "timed writing",
    "parallel_chart.saved": "parallel chart",
    "close_reading.saved": "close reading",
}
"""Event kinds that hold a learner's own reflective writing, and what to call each."""


def portfolio_entries(events: Iterable[Saved]) -> list[PortfolioEntry]:
    """The newest version of each piece of writing among ``events`` (one learner's, oldest first)."""
    latest: dict[tuple[str, str, str], Saved] = {}
    for event in events:
        family = WRITING_KINDS.get(event.kind)
        if family is not None and isinstance(event.value, Mapping):
            latest[(event.module, event.item, family)] = event
    entries = []
    for (module, item, family), event in latest.items():
        value = event.value
        boxes = value.get("parts") or value.get("notes") or {}
        labels = value.get("labels") or {}
        parts = tuple(
            (str(labels.get(k, k)), str(t))
            for k, t in boxes.items()
            if isinstance(t, str) and t.strip()
        )
        text = value.get("text") if isinstance(value.get("text"), str) else ""
        if not (text.strip() or parts):
            continue
        title = value.get("title") if isinstance(value.get("title"), str) else item
        entries.append(PortfolioEntry(module, item, str(title), text, event.time, family, parts))
    return sorted(entries, key=lambda e: e.saved)


def _md_escape(text: str) -> str:
    """Escape what a Markdown renderer would turn into HTML or a link; keep the words as typed."""
    return html.escape(text, quote=False).replace("[", "\\[").replace("]", "\\]")


def _stamp(when: float) -> str:
    return time.strftime("%d %B %Y, %H:%M", time.localtime(when))


def render_portfolio(entries: Iterable[PortfolioEntry], fmt: Format = "markdown") -> str:
    """The entries, oldest first, as one document in ``fmt``."""
    ordered = sorted(entries, key=lambda e: e.saved)
    title = "My reflective writing"
    if fmt == "markdown":
        lines = [f"# {title}", ""]
        if not ordered:
            lines.append("Nothing saved yet.")
        for entry in ordered:
            lines += [
                f"## {_md_escape(entry.title)}",
                "",
                f"*Module: {_md_escape(entry.module)} · saved {_stamp(entry.saved)}*",
                "",
            ]
            sections = entry.parts or (("", entry.text),)
            for heading, text in sections:
                if heading:
                    lines += [f"### {_md_escape(heading)}", ""]
                lines += [_md_escape(text), ""]
        return "\n".join(lines).rstrip() + "\n"
    body = []
    for entry in ordered:
        sections = entry.parts or (("", entry.text),)
        inner = "".join(
            (f"<h3>{html.escape(h)}</h3>" if h else "")
            + f"<div class='text'>{html.escape(t)}</div>"
            for h, t in sections
        )
        body.append(
            f"<article><h2>{html.escape(entry.title)}</h2>"
            f"<p class='meta'>Module: {html.escape(entry.module)} · saved "
            f"{html.escape(_stamp(entry.saved))}</p>{inner}</article>"
        )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;"
        "line-height:1.5}} .text{{white-space:pre-wrap}} .meta{{color:#444}}</style></head>"
        f"<body><h1>{title}</h1>{''.join(body) or '<p>Nothing saved yet.</p>'}</body></html>\n"
    )
