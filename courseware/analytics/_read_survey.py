"""Survey-tool CSV exports (one row per learner and wave) and the roster of learners' attributes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..instruments import Instrument
from ._mapping import ColumnMapping
from ._problems import DataProblem, row_problems, shown
from ._pseudonym import Pseudonyms
from ._read_csv import attribute_rows, header_problem, learner_ids, read_csv_file, source_name
from ._responses import Responses, clean_values


def _not_in_export(name: str, column: str, what: str, action: str) -> DataProblem:
    """A column the mapping names that the export's header does not have."""
    return header_problem(name, column, "missing-column", f"{what} not in the export", action)


def read_survey_export(
    path: str | Path,
    mapping: ColumnMapping,
    instruments: Mapping[str, Instrument],
    waves: list[str],
    pseudonyms: Pseudonyms,
) -> Responses:
    """Read a REDCap, Qualtrics, Microsoft Forms (or any) CSV export through its mapping."""
    path = Path(path)
    name = source_name(path)
    spec = mapping.spec
    notes: list[str] = []
    frame, problems = read_csv_file(path, mapping.extra_header_rows, notes=notes)
    result = Responses(problems=problems, learner_columns={name: spec.learner}, notes=notes)
    if frame is None:
        return result
    header = [str(c) for c in frame.columns]
    rows = np.arange(len(frame)) + 2 + mapping.extra_header_rows
    if frame.empty:
        problems.append(
            DataProblem(
                name,
                None,
                "",
                "empty",
                "the export has a header row but no answers",
                "file skipped",
            )
        )
        return result
    if spec.learner not in header:
        problems.append(_not_in_export(name, spec.learner, "learner column", "file skipped"))
        return result
    pseudonym, keep, found = learner_ids(frame, spec.learner, name, rows, pseudonyms)
    problems += found
    used = {spec.learner}
    if spec.wave.fixed is not None:
        wave = pd.Series(spec.wave.fixed, index=frame.index)
    elif spec.wave.column not in header:
        problems.append(_not_in_export(name, str(spec.wave.column), "wave column", "file skipped"))
        return result
    else:
        used.add(spec.wave.column)
        raw_wave = frame[spec.wave.column].str.strip()
        table = spec.wave.values or {w: w for w in waves}
        folded = {k.casefold(): v for k, v in table.items()}
        wave = raw_wave.str.casefold().map(folded)
        unknown = wave.isna().to_numpy() & keep
        problems += row_problems(
            name,
            rows,
            unknown,
            spec.wave.column,
            "unknown-wave",
            lambda i: (
                f"{shown(raw_wave.iat[i])} is not a wave (expected one of: {', '.join(table)})"
            ),
        )
        keep &= ~unknown
    attribute_parts = []
    for attribute, column in spec.attributes.items():
        if column not in header:
            problems.append(
                _not_in_export(name, column, f"{attribute} column", "attribute not read")
            )
            continue
        used.add(column)
        attribute_parts.append(
            attribute_rows(pseudonym, frame[column], keep, attribute, name, rows, 1)
        )
    if attribute_parts:
        result.attributes = pd.concat(attribute_parts, ignore_index=True)
    for instrument_id in spec.instruments:
        instrument = instruments[instrument_id]
        columns = mapping.item_columns(instrument_id, header, instrument.items)
        for item, column in columns.items():
            if column not in header:
                problems.append(
                    _not_in_export(
                        name,
                        column,
                        f"mapped to {instrument_id} item {item} but",
                        "item missing on every form",
                    )
                )
        present = {item: column for item, column in columns.items() if column in header}
        used.update(present.values())
        unmapped = [item for item in instrument.items if item not in present]
        if unmapped and present:
            problems.append(
                header_problem(
                    name,
                    "",
                    "missing-column",
                    f"no column for {instrument_id} items {', '.join(unmapped)}",
                    "items missing on every form",
                )
            )
        if not present:
            problems.append(
                header_problem(
                    name,
                    "",
                    "missing-column",
                    f"no columns found for {instrument_id}",
                    "instrument not read",
                )
            )
            continue
        raw = frame[list(present.values())].set_axis(list(present), axis=1)
        answered = raw.apply(lambda col: col.str.strip().ne("")).any(axis=1).to_numpy()
        take = keep & answered
        values, found = clean_values(
            raw.loc[take],
            instrument,
            labels=mapping.labels(instrument_id),
            source=name,
            rows=rows[take],
            column_names=present,
        )
        problems.extend(found)
        head = pd.DataFrame(
            {
                "learner": pseudonym[take].to_numpy(),
                "wave": wave[take].to_numpy(),
                "source": name,
                "row": rows[take],
            },
            index=values.index,
        )
        result.forms[instrument_id] = pd.concat([head, values], axis=1).reset_index(drop=True)
        skipped = int((keep & ~answered).sum())
        if skipped:
            result.notes.append(f"{name}: {skipped} row(s) have no {instrument_id} answers at all.")
    for column in header:
        if column not in used and not mapping.ignored(column):
            problems.append(
                header_problem(
                    name,
                    column,
                    "unknown-column",
                    "not mapped to an item, the learner, the wave or an attribute"
                    " (map it, or list it under ignore)",
                    "column ignored",
                )
            )
    return result


def read_roster(path: str | Path, attributes: Iterable[str], pseudonyms: Pseudonyms) -> Responses:
    """A CSV with a ``learner`` column and any of the cohort attributes (stream, stage, year)."""
    path = Path(path)
    name = source_name(path)
    frame, problems = read_csv_file(path, 0)
    result = Responses(problems=problems, learner_columns={name: "learner"})
    if frame is None:
        return result
    if "learner" not in frame.columns:
        problems.append(
            header_problem(name, "learner", "missing-column", "no learner column", "file skipped")
        )
        return result
    rows = np.arange(len(frame)) + 2
    pseudonym, keep, found = learner_ids(frame, "learner", name, rows, pseudonyms)
    problems += found
    twice = np.zeros(len(frame), dtype=bool)
    twice[keep] = pseudonym[keep].duplicated(keep="first").to_numpy()
    problems += row_problems(
        name,
        rows,
        twice,
        "learner",
        "duplicate",
        "learner listed again",
        "row excluded (the first counts)",
    )
    keep &= ~twice
    wanted = list(attributes)
    for column in frame.columns:
        if column != "learner" and column not in wanted:
            problems.append(
                header_problem(
                    name,
                    str(column),
                    "unknown-column",
                    f"not a cohort attribute ({', '.join(wanted)})",
                    "column ignored",
                )
            )
    parts = [
        attribute_rows(pseudonym, frame[attribute], keep, attribute, name, rows, 0)
        for attribute in wanted
        if attribute in frame.columns
    ]
    if parts:
        result.attributes = pd.concat(parts, ignore_index=True)
    result.invited = frozenset(pseudonym[keep])
    return result
