"""``courseware xapi export``: a store's events as xAPI statements in a JSON file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..store import open_store
from ._settings import XAPISettings
from ._statements import Mapper


def export_statements(
    out: str | Path,
    *,
    settings: XAPISettings,
    store: str | None = None,
    since: float | None = None,
) -> int:
    """Write every event of ``store`` (default: the usual store) from ``since`` (seconds since
    1970) on as a JSON list of statements, oldest first; return how many."""
    mapper = Mapper(settings)
    statements: list[dict[str, Any]] = []
    with open_store(store) as opened:
        events = opened.events()
        starts: dict[tuple[str, str, str], float] = {}
        for event in events:
            key = (event.learner, event.module, event.item)
            if event.kind == "timed.start":
                starts.setdefault(key, event.time)
            if since is not None and event.time < since:
                continue
            statements.append(mapper.statement(event, started=starts.get(key)))
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(statements, handle, ensure_ascii=False, indent=1)
    os.replace(tmp, path)
    return len(statements)
