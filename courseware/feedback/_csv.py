"""Code a spreadsheet of replies: ``courseware feedback code IN.csv -o OUT.csv``.

IN has ``statement`` and ``reply`` columns (others are kept, in order). OUT adds ``codes``
(semicolon-separated, in the scheme's order), ``provides_space`` (yes / no / unsure) and
``confidence`` (the lowest confidence among the coder's decisions for that row). A bad row (empty
reply, over 50,000 characters, bytes that are not UTF-8, missing cells) is named on stderr, gets
empty results in OUT, and the run goes on. Cells a spreadsheet would run as a formula get a leading
apostrophe; nothing else in the learner's text changes.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = ["ADDED", "CsvResult", "code_csv"]

ADDED = ("codes", "provides_space", "confidence")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # as grading._exports: spreadsheets run these
BATCH = 16


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_START) else cell


@dataclass
class CsvResult:
    """What a run did: rows coded, and one message per bad row (``FILE:LINE: row N: reason``)."""

    coded: int = 0
    problems: list[str] = field(default_factory=list)


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def code_csv(source: Path, out: Path, coder: Any = None, stderr: TextIO | None = None) -> CsvResult:
    """Code every row of ``source`` into ``out``; raises ValueError when the file as a whole is
    unusable (no header, no statement or reply column)."""
    from ._coder import MAX_CHARS, shared_coder

    err = stderr or sys.stderr
    text = source.read_bytes().decode("utf-8-sig", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{source}: empty file (expected a header with statement,reply)") from None
    except csv.Error as exc:
        raise ValueError(f"{source}:1: not a CSV header: {exc}") from None
    missing = [c for c in ("statement", "reply") if c not in header]
    if missing:
        raise ValueError(
            f"{source}:1: no {' or '.join(missing)} column in the header {header!r:.200}"
        )
    s_col, r_col = header.index("statement"), header.index("reply")
    columns = header + [c for c in ADDED if c not in header]
    result = CsvResult()
    rows: list[list[str]] = []
    todo: list[tuple[int, str, str]] = []  # (output row, statement, reply)

    def bad(line: int, number: int, reason: str) -> None:
        message = f"{source}:{line}: row {number}: {reason}"
        result.problems.append(message)
        print(message, file=err)

    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number += 1
            bad(reader.line_num, number, f"not readable as CSV ({exc}); left out")
            continue
        number += 1
        line = reader.line_num
        cells = [c.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for c in row]
        cells += [""] * (len(columns) - len(cells))
        for name in ADDED:
            cells[columns.index(name)] = ""
        rows.append(cells)
        if any(_has_surrogates(c) for c in row):
            bad(line, number, "not UTF-8 text (the bytes are shown as \ufffd in the output)")
        elif len(row) <= max(s_col, r_col):
            bad(line, number, f"has {len(row)} cells; the statement or reply cell is missing")
        elif not row[r_col].strip() or not any(ch.isalnum() for ch in row[r_col]):
            bad(line, number, "the reply is empty")
        elif len(row[r_col]) > MAX_CHARS or len(row[s_col]) > MAX_CHARS:
            bad(line, number, f"the statement or reply is longer than {MAX_CHARS:,} characters")
        else:
            todo.append((len(rows) - 1, row[s_col], row[r_col]))
    coder = coder or shared_coder()
    for first in range(0, len(todo), BATCH):
        chunk = todo[first : first + BATCH]
        decided = coder.code_many_with_confidence([(s, r) for _, s, r in chunk])
        for (index, _, _), (coding, confidence) in zip(chunk, decided, strict=True):
            space = coding.provides_space
            values = {
                "codes": ";".join(coding.names()),
                "provides_space": "unsure" if space is None else ("yes" if space else "no"),
                "confidence": f"{confidence:.2f}",
            }
            for name, value in values.items():
                rows[index][columns.index(name)] = value
            result.coded += 1
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralise(c) for c in columns])
    for cells in rows:
        writer.writerow([neutralise(c) for c in cells])
    out.write_text(buffer.getvalue(), encoding="utf-8")
    return result
