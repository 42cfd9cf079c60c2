"""The reply coder's result on a page: the learner's words with the evidence marked, what each code
does in plain words, beside their own coding. Formative only: no score, no tick or cross.

Everything the learner wrote is escaped; a mark is ``<mark>`` plus the code's name in words (never
colour alone).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

from ..feedback import CODE_TITLES, CodeResult, Coding, agreement, code_feedback, space_sentence
from ._common import escape

log = logging.getLogger(__name__)

CODING_STYLE = """<style>
.cw-coded-reply { white-space: pre-wrap; border-left: 3px solid #555; padding: 0.2em 0.8em;
  max-width: 46em; color: #111; }
.cw-coded-reply mark { background: #fff0a8; color: #111; border-bottom: 2px solid #111; }
.cw-evidence-code { font-size: 0.85em; color: #111; font-style: italic; }
</style>"""


def _valid(reply: str, result: CodeResult) -> list[tuple[int, int]]:
    return [
        (e.start, e.end)
        for e in result.evidence
        if 0 <= e.start < e.end <= len(reply) and reply[e.start : e.end] == e.text
    ]


def marked_reply(reply: str, coding: Coding) -> str:
    """The reply, escaped, with each code's evidence in ``<mark>`` followed by the code's name."""
    spans: list[tuple[int, int, str]] = []
    for result in coding.codes:
        spans += [(s, e, CODE_TITLES[result.code]) for s, e in _valid(reply, result)]
    for result in coding.unsure:
        spans += [(s, e, f"perhaps {CODE_TITLES[result.code]}") for s, e in _valid(reply, result)]
    cuts = sorted({0, len(reply), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    parts = []
    for start, end in itertools.pairwise(cuts):
        piece = escape(reply[start:end])
        names = [n for s, e, n in spans if s <= start and end <= e]
        if not names:
            parts.append(piece)
            continue
        # the code's name goes after the last piece of its evidence only
        ending = [n for s, e, n in spans if s <= start and end <= e and e == end]
        label = (
            f"<span class='cw-evidence-code'> [{escape(', '.join(dict.fromkeys(ending)))}]</span>"
            if ending
            else ""
        )
        parts.append(f"<mark>{piece}</mark>{label}")
    return f"<p class='cw-coded-reply'>{''.join(parts)}</p>"


def coding_html(
    reply: str,
    coding: Coding,
    *,
    self_codes: Sequence[str] | None = None,
    offered: Sequence[str] = (),
) -> str:
    """The whole feedback panel for a coded reply (HTML, everything escaped)."""
    found = "".join(
        f"<li><strong>{escape(CODE_TITLES[r.code])}.</strong> {escape(code_feedback(r))}</li>"
        for r in coding.codes
    )
    perhaps = "".join(
        f"<li><strong>Perhaps {escape(CODE_TITLES[r.code].lower())}.</strong> "
        f"{escape(code_feedback(r, unsure=True))}</li>"
        for r in coding.unsure
    )
    parts = [
        CODING_STYLE,
        "<div class='cw-coding' role='region' aria-label='Automatic feedback on your reply'>",
        "<p><strong>Automatic feedback on your reply</strong> (formative: not a mark; the coder "
        "can be wrong).</p>",
        marked_reply(reply, coding),
        f"<p>What the coder found:</p><ul>{found}</ul>"
        if found
        else "<p>The coder found none of the ten codes in your reply.</p>",
    ]
    if perhaps:
        parts.append(f"<p>What the coder is unsure about:</p><ul>{perhaps}</ul>")
    parts.append(f"<p>{escape(space_sentence(coding))}</p>")
    if self_codes is not None:
        lines = agreement(coding, self_codes, offered)
        if lines:
            items = "".join(f"<li>{escape(line)}</li>" for line in lines)
            parts.append(f"<p>Your coding beside the coder's:</p><ul>{items}</ul>")
    parts.append("</div>")
    return "".join(parts)


def auto_code(statement: str, reply: str) -> tuple[dict[str, Any] | None, str | None]:
    """Ask the server's reply coder: ``(coding wire dict, None)``, or ``(None, why not)`` in plain
    words. Never raises: feedback is a bonus, the exercise goes on without it."""
    from ..feedback import UNAVAILABLE_MESSAGE, FeedbackUnavailable, request_coding

    try:
        return request_coding(statement, reply).to_dict(), None
    except FeedbackUnavailable as exc:
        log.info("automatic feedback unavailable: %s", exc)
        return None, UNAVAILABLE_MESSAGE


def unavailable_html(message: str) -> str:
    """Plain words when the coder cannot be reached: the exercise goes on without it."""
    return f"<div class='cw-warning' role='status'><p>{escape(message)}</p></div>"
