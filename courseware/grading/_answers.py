"""The sidecar answers file: widget answers that survive nbgrader's fresh-kernel autograde.

nbgrader clears outputs and re-runs each notebook in a new kernel, so widget state is lost. An assessed
widget therefore appends each answer to ``assessed-answers.json`` in the assignment folder; nbgrader
collects that file with the submission, and hidden test cells read it back.

The file is append-only (every save adds an entry; the newest entry for an item is its answer), is
written atomically, and is read defensively: a learner can edit it, so reading never raises and every
oddity becomes a *problem* a tutor can see, never a crash and never extra marks.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ANSWERS_FILE = "assessed-answers.json"
ANSWERS_SCHEMA = 1
MAX_FILE_BYTES = 20 * 1024 * 1024
"""Larger files are not parsed (a 1 MB paste is fine; a forged 1 GB file is not read)."""


@dataclass
class AnswersFile:
    """What was read from an answers file: entries in the order saved, and anything odd about it."""

    path: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def latest(self, item: str) -> Any:
        """The newest saved value for ``item`` (``None`` if none)."""
        for entry in reversed(self.entries):
            if entry["item"] == item:
                return entry["value"]
        return None

    def history(self, item: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["item"] == item]


def read_answers(path: str | Path) -> AnswersFile:
    """Read an answers file without ever raising; malformed parts are skipped and reported."""
    path = Path(path)
    found = AnswersFile(path)
    if not path.exists():
        found.problems.append("no answers file was submitted")
        return found
    try:
        size = path.stat().st_size
        if not path.is_file():
            found.problems.append("the answers file is not a regular file")
            return found
        if size > MAX_FILE_BYTES:
            found.problems.append(f"the answers file is {size} bytes; it was not read")
            return found
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        found.problems.append(f"the answers file cannot be read ({type(exc).__name__}: {exc})")
        return found
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        found.problems.append("the answers file has no list of entries")
        return found
    if data.get("schema") != ANSWERS_SCHEMA:
        found.problems.append(f"unknown answers file schema {data.get('schema')!r}")
    for index, entry in enumerate(data["entries"]):
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("item"), str)
            and "value" in entry
            and isinstance(entry.get("time"), int | float)
            and not isinstance(entry.get("time"), bool)
        ):
            found.entries.append(
                {"item": entry["item"], "value": entry["value"], "time": float(entry["time"])}
            )
        else:
            found.problems.append(f"entry {index} is malformed and was ignored")
    return found


class AssessedAnswers:
    """Append answers to the sidecar file in ``folder`` (the notebook's folder by default)."""

    def __init__(self, folder: str | Path | None = None, *, assignment: str = "") -> None:
        self.folder = Path(folder) if folder is not None else Path.cwd()
        self.path = self.folder / ANSWERS_FILE
        self.assignment = assignment

    def read(self) -> AnswersFile:
        return read_answers(self.path)

    def latest(self, item: str) -> Any:
        return self.read().latest(item)

    def save(self, item: str, value: Any) -> None:
        """Append ``value`` for ``item`` and replace the file atomically (a crash never half-writes)."""
        current = self.read()
        if current.exists and current.problems:  # keep whatever was there before rewriting it
            backup = self.path.with_name(f"{ANSWERS_FILE}.{int(time.time() * 1000)}.bak")
            backup.write_bytes(self.path.read_bytes())
        entries = [*current.entries, {"item": item, "value": value, "time": time.time()}]
        payload = {"schema": ANSWERS_SCHEMA, "assignment": self.assignment, "entries": entries}
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=self.folder, prefix=".answers-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(payload, out, ensure_ascii=False, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
