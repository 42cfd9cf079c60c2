"""Item wording from a file the institution supplies (we never ship licensed item text).

Two formats, both UTF-8:

* CSV with a header row ``instrument,item,text`` (one row per item; a file may hold several
  instruments; quote text containing commas, as any spreadsheet does when saving CSV).
* YAML: ``instrument: jse-s`` then ``items:`` mapping each item id to its text, and optionally
  ``anchors:`` mapping response values to labels.

The text is kept exactly as written; widgets escape it when they show it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from ..content import (
    ContentError,
    ItemId,
    Problem,
    Slug,
    Text,
    YamlDocument,
    display_path,
    read_yaml,
    validate,
)
from ..content import Model as _Model
from ._models import Instrument

WORDING_COLUMNS = ("instrument", "item", "text")


class WordingSpec(_Model):
    """The YAML wording format."""

    instrument: Slug
    items: dict[ItemId, Text] = Field(min_length=1)
    anchors: dict[int, Text] = Field(default_factory=dict)


@dataclass(frozen=True)
class Wording:
    """What the respondent reads: one text per item, and labels for some response values."""

    instrument: str
    texts: dict[str, str]
    anchors: dict[int, str] = field(default_factory=dict)


def _check_items(
    instrument: Instrument, given: dict[str, int], name: str, problems: list[Problem]
) -> None:
    """``given`` maps item id to the line it was on; every item must be there, and no other."""
    for item_id, line in given.items():
        if item_id not in instrument.items:
            problems.append(
                Problem(name, line, f"{instrument.id} has no item {item_id!r}", field="item")
            )
    missing = [i for i in instrument.items if i not in given]
    if missing:
        problems.append(
            Problem(name, 1, f"no wording for {instrument.id} items {', '.join(missing)}", "item")
        )


def _load_csv(path: Path, instrument: Instrument) -> Wording:
    name = display_path(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ContentError([Problem(name, 1, f"cannot read file: {exc.strerror}")]) from None
    problems: list[Problem] = []
    texts: dict[str, str] = {}
    lines: dict[str, int] = {}
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames or []
            missing_columns = [c for c in WORDING_COLUMNS if c not in header]
            if missing_columns:
                raise ContentError(
                    [Problem(name, 1, f"missing column(s): {', '.join(missing_columns)}")]
                )
            for row in reader:
                line = reader.line_num
                if (row["instrument"] or "").strip() != instrument.id:
                    continue
                item_id = (row["item"] or "").strip()
                text = (row["text"] or "").strip()
                if item_id in lines:
                    problems.append(
                        Problem(name, line, f"item {item_id!r} given twice", field="item")
                    )
                if not text:
                    problems.append(Problem(name, line, "empty text", field="text"))
                texts[item_id] = text
                lines.setdefault(item_id, line)
        except UnicodeDecodeError as exc:
            raise ContentError([Problem(name, 1, f"not UTF-8 text ({exc.reason})")]) from None
    _check_items(instrument, lines, name, problems)
    if problems:
        raise ContentError(problems)
    return Wording(instrument.id, texts)


def _item_line(doc: YamlDocument, item_id: str) -> int:
    """The line of ``items: {3: ...}`` whether the author wrote the key as ``3`` or ``"3"``."""
    line = doc.line_of(["items", item_id])
    return max(line, doc.line_of(["items", int(item_id)])) if item_id.isdigit() else line


def _load_yaml(path: Path, instrument: Instrument) -> Wording:
    doc = read_yaml(path)
    spec = validate(doc, WordingSpec)
    problems: list[Problem] = []
    if spec.instrument != instrument.id:
        problems.append(
            doc.problem(
                ["instrument"], f"this file is for {spec.instrument!r}, not {instrument.id!r}"
            )
        )
    else:
        lines = {k: _item_line(doc, k) for k in spec.items}
        _check_items(instrument, lines, doc.name, problems)
    for point in spec.anchors:
        if not instrument.response.min <= point <= instrument.response.max:
            problems.append(doc.problem(["anchors", point], "outside the response range"))
    if problems:
        raise ContentError(problems)
    return Wording(instrument.id, dict(spec.items), dict(spec.anchors))


def load_wording(path: str | Path, instrument: Instrument) -> Wording:
    """Read an institution's wording file (``.csv`` or ``.yaml``) for ``instrument`` and check it."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _load_csv(path, instrument)
    return _load_yaml(path, instrument)


def shipped_wording(instrument: Instrument) -> Wording:
    """The wording that ships with an instrument the project wrote; an error for licensed ones."""
    if not instrument.wording_shipped:
        raise LookupError(
            f"{instrument.title}: item wording is not shipped; load the institution's licensed"
            " copy with load_wording(path, instrument)"
        )
    return Wording(
        instrument.id, instrument.shipped_text(), dict(instrument.response.anchors.items())
    )
