"""The tutor's HTML page of the reflections a group's learners shared or submitted (all escaped)."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Sequence
from typing import Any

from ._db import EventRow
from ._handlers import APIHandler
from ._visibility import SHARED_KINDS, shared_reflections


def _when(seconds: float) -> str:
    moment = time.localtime(seconds)
    return f"{moment.tm_mday} {time.strftime('%b %Y at %H:%M', moment)}"


PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #111; background: #fff;
  line-height: 1.5; }
main { max-width: 50em; margin: 0 auto; padding: 1em; }
.skip { position: absolute; left: -999em; }
.skip:focus { left: 1em; top: 1em; background: #fff; padding: 0.3em; }
a:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
article { border-left: 4px solid #1d4f91; padding: 0 1em; margin: 1em 0; }
.meta { color: #333; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head><body>"
        "<a class='skip' href='#main'>Skip to the reflections</a>"
        f"<main id='main'>{body}</main></body></html>"
    )


def cohort_page(group: str, members: Sequence[str], rows: Sequence[EventRow]) -> str:
    """The tutor's page of reflections ``group``'s learners shared or submitted (all escaped)."""
    esc = html.escape
    by_learner: dict[str, list[EventRow]] = {}
    for row in shared_reflections(rows):
        by_learner.setdefault(row.learner, []).append(row)
    parts = [
        f"<h1>Reflections shared by {esc(group)}</h1>",
        "<p>You see only what a learner chose to share with you or submitted, as it was at "
        "that moment. Drafts, later edits and reflections a learner stopped sharing are never "
        f"shown. {len(by_learner)} of {len(members)} learners have shared or submitted a "
        "reflection.</p>",
    ]
    if not by_learner:
        parts.append("<p>No learner in this group has shared a reflection yet.</p>")
    for learner, found in by_learner.items():
        articles = []
        for row in found:
            try:
                value = json.loads(row.value)
            except ValueError:
                value = {}
            value = value if isinstance(value, dict) else {}
            title = str(value.get("title") or row.item)
            text = value.get("text")
            text = text if isinstance(text, str) else ""
            state = "Submitted" if row.kind == "reflection.submitted" else "Shared"
            articles.append(
                f"<li><article><h3>{esc(title)}</h3><p class='meta'>Module "
                f"{esc(row.module)} · {state} on {esc(_when(row.time))}</p>"
                f"<div class='text'>{esc(text)}</div></article></li>"
            )
        parts.append(
            f"<section><h2>{esc(learner)}</h2>"
            f"<ul class='reflections' role='list'>{''.join(articles)}</ul></section>"
        )
    return _page(f"Reflections shared by {group}", "".join(parts))


class CohortPageHandler(APIHandler):
    """``GET /cohort/<group>``: a tutor's HTML page of the group's shared and submitted
    reflections (the ``cohort:read`` scope for the group; the same visibility rule as the API)."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.set_header("X-Content-Type-Options", "nosniff")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if "text/html" not in self.request.headers.get("Accept", ""):
            self.set_header("Content-Type", "application/json; charset=utf-8")
            super().write_error(status_code, **kwargs)
            return
        message = html.escape(self.error_message(**kwargs))
        self.finish(
            _page(
                f"{status_code}: not available",
                f"<h1>Not available ({status_code})</h1><p>{message}</p>",
            )
        )

    async def get(self, group: str) -> None:
        if not self.perms.cohort_read.covers_group(group):
            raise self.refuse("you may not read the reflections of group %r", group)
        members = sorted(await self.members(group))
        rows = []
        for kind in SHARED_KINDS:
            rows += await self.state.db.select_events(learners=members, kind=kind)
        scope = None if self.perms.cohort_read.everywhere else self.course_modules(group)
        if scope is not None:  # the course's own modules only (a learner may be in two courses)
            rows = [r for r in rows if r.module in scope]
        rows.sort(key=lambda r: r.id)
        visible = await self.tutor_view(rows, members)
        self.finish(cohort_page(group, members, visible))
