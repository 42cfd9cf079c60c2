"""The mapping file: which column of a survey export holds which item of which instrument.

REDCap, Qualtrics and Microsoft Forms name their columns differently and schools name their
questions as they like, so an evaluation lead writes one small YAML file per export (format in
docs/evaluation.md). It is validated like content: every problem names file, line and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..content import ContentError, ItemId, Problem, Slug, YamlDocument, read_yaml, validate
from ..content import Model as _Model
from ..instruments import Instrument

NOT_APPLICABLE = "na"
"""Label value meaning "does not apply" (counted as missing, where the instrument allows it)."""

Label = float | Literal["na"]

EXTRA_HEADER_ROWS = {"qualtrics": 2}
"""Rows below the header that are not answers (Qualtrics: question text, then import ids)."""


class WaveSource(_Model):
    """Where a row's wave comes from: a column (with optional value table) or one fixed wave."""

    column: str | None = None
    values: dict[str, Slug] = Field(default_factory=dict)
    fixed: Slug | None = None

    @model_validator(mode="after")
    def _one_way(self) -> WaveSource:
        if (self.column is None) == (self.fixed is None):
            raise ValueError("give either column (with optional values) or fixed")
        return self


class InstrumentColumns(_Model):
    """The columns of one instrument: listed one by one, or by a pattern such as ``jse_{item}``."""

    columns: dict[str, ItemId] = Field(default_factory=dict)
    pattern: str | None = Field(default=None, pattern=r"\{item\}")
    labels: dict[str, Label] = Field(default_factory=dict)


class SurveyMapping(_Model):
    """The authoring format of a mapping file."""

    format: Literal["plain", "redcap", "qualtrics", "microsoft-forms"] = "plain"
    learner: str
    wave: WaveSource
    attributes: dict[Slug, str] = Field(default_factory=dict)
    instruments: dict[Slug, InstrumentColumns] = Field(min_length=1)
    labels: dict[str, Label] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class ColumnMapping:
    """A checked mapping, ready to apply to an export's header."""

    spec: SurveyMapping
    source: str

    @property
    def extra_header_rows(self) -> int:
        return EXTRA_HEADER_ROWS.get(self.spec.format, 0)

    def item_columns(
        self, instrument_id: str, header: list[str], items: tuple[str, ...]
    ) -> dict[str, str]:
        """Item id -> export column for one instrument (pattern columns only if present)."""
        how = self.spec.instruments[instrument_id]
        found = {item: column for column, item in how.columns.items()}
        if how.pattern:
            for item in items:
                column = how.pattern.replace("{item}", item)
                if column in header and item not in found:
                    found[item] = column
        return found

    def labels(self, instrument_id: str) -> dict[str, Label]:
        """Answer text -> value, case-insensitive; the instrument's own table wins."""
        table = {k.strip().casefold(): v for k, v in self.spec.labels.items()}
        table.update(
            {
                k.strip().casefold(): v
                for k, v in self.spec.instruments[instrument_id].labels.items()
            }
        )
        return table

    def ignored(self, column: str) -> bool:
        return any(fnmatchcase(column, pattern) for pattern in self.spec.ignore)


def _mapping_problems(
    spec: SurveyMapping, doc: YamlDocument, instruments: Mapping[str, Instrument], waves: list[str]
) -> list[Problem]:
    problems: list[Problem] = []
    for wave_value, wave in spec.wave.values.items():
        if wave not in waves:
            problems.append(
                doc.problem(
                    ["wave", "values", wave_value],
                    f"unknown wave {wave!r} (waves: {', '.join(waves)})",
                )
            )
    if spec.wave.fixed is not None and spec.wave.fixed not in waves:
        problems.append(doc.problem(["wave", "fixed"], f"unknown wave {spec.wave.fixed!r}"))
    for instrument_id, how in spec.instruments.items():
        instrument = instruments.get(instrument_id)
        if instrument is None:
            known = ", ".join(sorted(instruments))
            problems.append(
                doc.problem(["instruments", instrument_id], f"unknown instrument (known: {known})")
            )
            continue
        seen: dict[str, str] = {}
        for column, item in how.columns.items():
            if item not in instrument.items:
                problems.append(
                    doc.problem(
                        ["instruments", instrument_id, "columns", column],
                        f"{instrument_id} has no item {item!r}",
                    )
                )
            elif item in seen:
                problems.append(
                    doc.problem(
                        ["instruments", instrument_id, "columns", column],
                        f"item {item!r} is already mapped from column {seen[item]!r}",
                    )
                )
            seen[item] = column
        if not how.columns and not how.pattern:
            problems.append(doc.problem(["instruments", instrument_id], "give columns or pattern"))
    return problems


def load_mapping(
    path: str | Path, instruments: Mapping[str, Instrument], waves: list[str]
) -> ColumnMapping:
    """Load a mapping file and check it against the instruments and waves; raise ContentError."""
    doc = read_yaml(Path(path))
    spec = validate(doc, SurveyMapping)
    problems = _mapping_problems(spec, doc, instruments, waves)
    if problems:
        raise ContentError(problems)
    return ColumnMapping(spec, doc.name)
