"""Readers: the store's questionnaire events, survey-tool CSV exports, a roster, marking levels.

Every reader pseudonymises learner ids on the way in and reports each bad cell as a
:class:`DataProblem`; none raises on bad data (only on a mapping or key file that is itself wrong).

The store event this module reads, and the only place that parses it (``LIKERT_KIND``)::

    Event(kind="likert.answer", learner=<id>, module=<module id>, item=<instrument id>,
          value={"instrument": "jse-s", "wave": "pre", "answers": {"1": 5, "2": null, "3": "na"}})

``answers`` maps item ids to a whole number in the response range, ``null`` (unanswered) or ``"na"``
("does not apply", where the instrument offers it). A learner may submit again: the newest event for
a learner, instrument and wave is the answer that counts (earlier ones stay in the store).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..instruments import Instrument
from ..store import Event, Store
from ._mapping import ColumnMapping
from ._problems import STORE_SOURCE, DataProblem, shown
from ._pseudonym import Pseudonyms
from ._responses import LEVEL_COLUMNS, Responses, clean_values

LIKERT_KIND = "likert.answer"
"""Event kind of a submitted questionnaire (see the module docstring for its value)."""

REFLECT_LEVELS = ("habitual action", "thoughtful action", "reflection", "critical reflection")
"""REFLECT rubric levels (Wald et al. 2012), lowest first."""


def likert_value(
    instrument: str, wave: str, answers: Mapping[str, int | str | None]
) -> dict[str, Any]:
    """The ``value`` of a ``likert.answer`` event, for widgets that write one."""
    return {"instrument": instrument, "wave": wave, "answers": dict(answers)}


def _event_problem(event: Event, column: str, kind: Any, message: str) -> DataProblem:
    return DataProblem(STORE_SOURCE, event.id, column, kind, message, "event skipped")


def read_store(
    store: Store,
    instruments: Mapping[str, Instrument],
    waves: list[str],
    pseudonyms: Pseudonyms,
) -> Responses:
    """Every learner's newest ``likert.answer`` per instrument and wave, checked like an export."""
    problems: list[DataProblem] = []
    latest: dict[tuple[str, str, str], Event] = {}
    superseded = 0
    for event in store.events(kind=LIKERT_KIND):
        value = event.value
        if not (
            isinstance(value, dict)
            and isinstance(value.get("instrument"), str)
            and isinstance(value.get("wave"), str)
            and isinstance(value.get("answers"), dict)
        ):
            problems.append(
                _event_problem(
                    event, "value", "bad-event", "expected {instrument, wave, answers} in the value"
                )
            )
            continue
        if value["instrument"] not in instruments:
            problems.append(
                _event_problem(
                    event,
                    "value.instrument",
                    "unknown-instrument",
                    f"no scoring key for {shown(value['instrument'])}",
                )
            )
            continue
        if value["wave"] not in waves:
            problems.append(
                _event_problem(
                    event,
                    "value.wave",
                    "unknown-wave",
                    f"{shown(value['wave'])} is not a wave (waves: {', '.join(waves)})",
                )
            )
            continue
        key = (event.learner, value["instrument"], value["wave"])
        superseded += key in latest
        latest[key] = event
    result = Responses(problems=problems, learner_columns={STORE_SOURCE: "learner"})
    if superseded:
        result.notes.append(
            f"{superseded} store answer(s) were replaced by a later answer from the same learner to"
            " the same instrument and wave; the newest counts and the earlier ones stay in the store."
        )
    by_instrument: dict[str, list[Event]] = {}
    for (_, instrument_id, _), event in latest.items():
        by_instrument.setdefault(instrument_id, []).append(event)
    for instrument_id, events in by_instrument.items():
        instrument = instruments[instrument_id]
        known = set(instrument.items)
        for event in events:
            for item in event.value["answers"]:
                if item not in known:
                    problems.append(
                        DataProblem(
                            STORE_SOURCE,
                            event.id,
                            f"answers.{item}",
                            "unknown-item",
                            f"{instrument_id} has no item {shown(item)}",
                            "answer ignored",
                        )
                    )
        raw = pd.DataFrame.from_records(
            [{k: v for k, v in e.value["answers"].items() if k in known} for e in events],
            columns=list(instrument.items),
        )
        ids = np.array([e.id for e in events])
        values, found = clean_values(
            raw,
            instrument,
            labels={},
            source=STORE_SOURCE,
            rows=ids,
            column_names={i: f"answers.{i}" for i in instrument.items},
        )
        problems.extend(found)
        head = pd.DataFrame(
            {
                "learner": [pseudonyms(e.learner) for e in events],
                "wave": [e.value["wave"] for e in events],
                "source": STORE_SOURCE,
                "row": ids,
            }
        )
        result.forms[instrument_id] = pd.concat([head, values], axis=1)
    return result


def source_name(path: Path) -> str:
    """How a file is named in messages and the report: its name only, never a local folder."""
    return path.name


DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")


def _separator(first_line: str) -> str:
    """The export's field separator: a comma, or the ``;`` (or tab) of a European-locale Excel."""
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def _read_csv(
    path: Path, skip: int, *, notes: list[str] | None = None
) -> tuple[pd.DataFrame | None, list[DataProblem]]:
    """All cells as text (nothing converted, nothing treated as missing but blank cells).

    The separator is detected from the header (``,``, or ``;``/tab as Excel writes in locales with
    a decimal comma); with ``;`` or tab, numbers written with a decimal comma (``4,5``) are read as
    ``4.5`` and a note says so. ``skip`` rows under the header are checked to be Qualtrics' two
    extra header rows (question text, then import ids) and refused if they are not.
    """
    name = source_name(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
        sep = _separator(first)
        header = next(csv.reader([first], delimiter=sep), [])
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=sep)
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text ({exc.reason}); save the export as 'CSV UTF-8'"
        return None, [DataProblem(name, None, "", "unreadable", reason, "file skipped")]
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return None, [DataProblem(name, None, "", "unreadable", message, "file skipped")]
    if skip:
        import_ids = frame.iloc[skip - 1] if len(frame) >= skip else pd.Series(dtype=str)
        if not import_ids.str.contains("ImportId", regex=False).any():
            message = (
                f"the {skip} Qualtrics header rows (question text, then import ids) are not under"
                " the header; export from Qualtrics again, or set format: plain in the mapping"
            )
            return None, [
                DataProblem(name, 1 + skip, "", "missing-header-rows", message, "file skipped")
            ]
        frame = frame.iloc[skip:].reset_index(drop=True)
    if sep != ",":
        commas = frame.apply(lambda col: col.str.match(DECIMAL_COMMA))
        if commas.to_numpy().any():
            frame = frame.mask(commas, frame.apply(lambda col: col.str.replace(",", ".")))
            if notes is not None:
                notes.append(
                    f"{name}: separated by {sep!r}; {int(commas.to_numpy().sum())} number(s)"
                    " written with a decimal comma were read with a decimal point."
                )
        elif notes is not None:
            notes.append(f"{name}: separated by {sep!r} (as Excel writes in some locales).")
    problems = [
        DataProblem(
            name, 1, column, "unknown-column", "column name used twice", "later copy ignored"
        )
        for i, column in enumerate(header)
        if column in header[:i]
    ]
    return frame, problems


def _header(name: str, column: str, kind: Any, message: str, action: str) -> DataProblem:
    """A problem with the header row (row 1): a column missing, unknown or given twice."""
    return DataProblem(name, 1, column, kind, message, action)


def _row_problems(
    name: str,
    rows: np.ndarray,
    mask: np.ndarray,
    column: str,
    kind: Any,
    message: str,
    action: str = "row excluded",
) -> list[DataProblem]:
    return [
        DataProblem(name, int(rows[i]), column, kind, message, action) for i in np.flatnonzero(mask)
    ]


def _learners(
    frame: pd.DataFrame, column: str, name: str, rows: np.ndarray, pseudonyms: Pseudonyms
) -> tuple[pd.Series, np.ndarray, list[DataProblem]]:
    """Each row's pseudonym, which rows have a learner id, and a problem per row without one."""
    text = frame[column].str.strip()
    keep = text.ne("").to_numpy().copy()
    problems = _row_problems(name, rows, ~keep, column, "missing-learner", "no learner id")
    return text.map(pseudonyms), keep, problems


def _attribute_rows(
    pseudonym: pd.Series,
    values: pd.Series,
    keep: np.ndarray,
    attribute: str,
    name: str,
    rows: np.ndarray,
    priority: int,
) -> pd.DataFrame:
    """Long-format attribute values (blank cells skipped); the roster has priority 0."""
    values = values.str.strip()
    has = values.ne("").to_numpy() & keep
    return pd.DataFrame(
        {
            "learner": pseudonym[has].to_numpy(),
            "attribute": attribute,
            "value": values[has].to_numpy(),
            "source": name,
            "row": rows[has],
            "priority": priority,
        }
    )


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
    frame, problems = _read_csv(path, mapping.extra_header_rows, notes=notes)
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
        problems.append(
            _header(
                name,
                spec.learner,
                "missing-column",
                "learner column not in the export",
                "file skipped",
            )
        )
        return result
    pseudonym, keep, found = _learners(frame, spec.learner, name, rows, pseudonyms)
    problems += found
    used = {spec.learner}
    if spec.wave.fixed is not None:
        wave = pd.Series(spec.wave.fixed, index=frame.index)
    elif spec.wave.column not in header:
        problems.append(
            _header(
                name,
                str(spec.wave.column),
                "missing-column",
                "wave column not in the export",
                "file skipped",
            )
        )
        return result
    else:
        used.add(spec.wave.column)
        raw_wave = frame[spec.wave.column].str.strip()
        table = spec.wave.values or {w: w for w in waves}
        folded = {k.casefold(): v for k, v in table.items()}
        wave = raw_wave.str.casefold().map(folded)
        unknown = wave.isna().to_numpy() & keep
        for i in np.flatnonzero(unknown):
            problems.append(
                DataProblem(
                    name,
                    int(rows[i]),
                    spec.wave.column,
                    "unknown-wave",
                    f"{shown(raw_wave.iat[i])} is not a wave (expected one of: {', '.join(table)})",
                    "row excluded",
                )
            )
        keep &= ~unknown
    attribute_parts = []
    for attribute, column in spec.attributes.items():
        if column not in header:
            problems.append(
                _header(
                    name,
                    column,
                    "missing-column",
                    f"{attribute} column not in the export",
                    "attribute not read",
                )
            )
            continue
        used.add(column)
        attribute_parts.append(
            _attribute_rows(pseudonym, frame[column], keep, attribute, name, rows, 1)
        )
    if attribute_parts:
        result.attributes = pd.concat(attribute_parts, ignore_index=True)
    for instrument_id in spec.instruments:
        instrument = instruments[instrument_id]
        columns = mapping.item_columns(instrument_id, header, instrument.items)
        for item, column in columns.items():
            if column not in header:
                problems.append(
                    _header(
                        name,
                        column,
                        "missing-column",
                        f"mapped to {instrument_id} item {item} but not in the export",
                        "item missing on every form",
                    )
                )
        present = {item: column for item, column in columns.items() if column in header}
        used.update(present.values())
        unmapped = [item for item in instrument.items if item not in present]
        if unmapped and present:
            problems.append(
                _header(
                    name,
                    "",
                    "missing-column",
                    f"no column for {instrument_id} items {', '.join(unmapped)}",
                    "items missing on every form",
                )
            )
        if not present:
            problems.append(
                _header(
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
                _header(
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
    frame, problems = _read_csv(path, 0)
    result = Responses(problems=problems, learner_columns={name: "learner"})
    if frame is None:
        return result
    if "learner" not in frame.columns:
        problems.append(
            _header(name, "learner", "missing-column", "no learner column", "file skipped")
        )
        return result
    rows = np.arange(len(frame)) + 2
    pseudonym, keep, found = _learners(frame, "learner", name, rows, pseudonyms)
    problems += found
    twice = np.zeros(len(frame), dtype=bool)
    twice[keep] = pseudonym[keep].duplicated(keep="first").to_numpy()
    problems += _row_problems(
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
                _header(
                    name,
                    str(column),
                    "unknown-column",
                    f"not a cohort attribute ({', '.join(wanted)})",
                    "column ignored",
                )
            )
    parts = [
        _attribute_rows(pseudonym, frame[attribute], keep, attribute, name, rows, 0)
        for attribute in wanted
        if attribute in frame.columns
    ]
    if parts:
        result.attributes = pd.concat(parts, ignore_index=True)
    result.invited = frozenset(pseudonym[keep])
    return result


def _level_of(text: str) -> str | None:
    folded = " ".join(text.replace("-", " ").replace("_", " ").casefold().split())
    if folded in REFLECT_LEVELS:
        return folded
    if folded.isdigit() and 1 <= int(folded) <= len(REFLECT_LEVELS):
        return REFLECT_LEVELS[int(folded) - 1]
    return None


def read_levels(path: str | Path, pseudonyms: Pseudonyms) -> Responses:
    """REFLECT levels from marking: CSV with ``learner``, ``level`` and optionally ``assignment``.

    A level is a name (``critical reflection``) or its number, 1 (habitual action) to 4.
    """
    path = Path(path)
    name = source_name(path)
    frame, problems = _read_csv(path, 0)
    result = Responses(problems=problems, learner_columns={name: "learner"})
    if frame is None:
        return result
    for column in ("learner", "level"):
        if column not in frame.columns:
            problems.append(
                DataProblem(
                    name, 1, column, "missing-column", f"no {column} column", "file skipped"
                )
            )
    if problems and any(p.action == "file skipped" for p in problems):
        return result
    for column in frame.columns:
        if column not in ("learner", "level", "assignment"):
            problems.append(
                _header(
                    name,
                    str(column),
                    "unknown-column",
                    "not learner, level or assignment",
                    "column ignored",
                )
            )
    rows = np.arange(len(frame)) + 2
    pseudonym, keep, found = _learners(frame, "learner", name, rows, pseudonyms)
    problems += found
    level = frame["level"].map(_level_of)
    bad = level.isna().to_numpy() & keep
    for i in np.flatnonzero(bad):
        problems.append(
            DataProblem(
                name,
                int(rows[i]),
                "level",
                "bad-level",
                f"{shown(frame['level'].iat[i])} is not a REFLECT level ({', '.join(REFLECT_LEVELS)}, or 1-4)",
                "row excluded",
            )
        )
    keep &= ~bad
    assignment = (
        frame["assignment"].str.strip()
        if "assignment" in frame.columns
        else pd.Series("", index=frame.index)
    )
    twice = np.zeros(len(frame), dtype=bool)
    twice[keep] = pd.DataFrame({"l": pseudonym, "a": assignment})[keep].duplicated(keep=False)
    problems += _row_problems(
        name,
        rows,
        twice,
        "learner",
        "duplicate",
        "the same learner has another level for this assignment",
        "row excluded, as are the learner's other rows for it",
    )
    keep &= ~twice
    result.levels = pd.DataFrame(
        {
            "learner": pseudonym[keep].to_numpy(),
            "level": level[keep].to_numpy(),
            "source": name,
            "row": rows[keep],
        },
        columns=LEVEL_COLUMNS,
    )
    return result


CODED_KINDS = ("compose.coded", "vignette.coded")
"""Store events holding a coded written reply: ``value`` is ``Coding.to_dict()`` (the coder's wire
format in ``courseware.feedback._types``); ``item`` is the exercise (or case node), ``module`` the
module. This reader is the only place in analytics that parses them."""

CODED_COLUMNS = [
    "learner",
    "phase",
    "kind",
    "module",
    "item",
    "provides_space",
    "nurse",
    "model_version",
    "row",
]


def read_coded_replies(
    store: Store,
    before: Mapping[str, Iterable[str]],
    after: Mapping[str, Iterable[str]],
    pseudonyms: Pseudonyms,
) -> tuple[pd.DataFrame, list[DataProblem]]:
    """Each learner's newest coding of each reply the evaluation counts as ``before`` or ``after``.

    ``before`` and ``after`` each map ``"modules"`` and ``"items"`` to the module ids and exercise
    ids whose replies count in that phase (a reply matching both is reported and left out).
    ``provides_space`` stays None where the coder was unsure; ``nurse`` counts the confident NURSE
    codes only (unsure codes never count).
    """
    from ..feedback._types import CODES, NURSE_CODES, SCHEMA

    before_modules, before_items = (
        frozenset(before.get("modules", ())),
        frozenset(before.get("items", ())),
    )
    after_modules, after_items = (
        frozenset(after.get("modules", ())),
        frozenset(after.get("items", ())),
    )
    problems: list[DataProblem] = []
    known, nurse_codes = frozenset(CODES), frozenset(NURSE_CODES)
    latest: dict[tuple[str, str, str, str], tuple[int | None, str, bool | None, int, str]] = {}
    for kind in CODED_KINDS:
        for event in store.events(kind=kind):
            is_before = event.module in before_modules or event.item in before_items
            is_after = event.module in after_modules or event.item in after_items
            if not (is_before or is_after):
                continue
            if is_before and is_after:
                problems.append(
                    _event_problem(event, "item", "bad-event", "counted as both before and after")
                )
                continue
            value = event.value
            if not isinstance(value, dict) or value.get("schema") != SCHEMA:
                problems.append(
                    _event_problem(
                        event, "value.schema", "bad-event", f"not a coding (schema {SCHEMA})"
                    )
                )
                continue
            codes, space = value.get("codes"), value.get("provides_space")
            if not isinstance(codes, list) or not all(
                isinstance(c, dict) and c.get("code") in known for c in codes
            ):
                problems.append(
                    _event_problem(event, "value.codes", "bad-event", "codes must be known codes")
                )
                continue
            if space is not None and not isinstance(space, bool):
                problems.append(
                    _event_problem(
                        event,
                        "value.provides_space",
                        "bad-event",
                        "provides_space must be true, false or null",
                    )
                )
                continue
            # Only confident codes count (``unsure`` is never read); a code counts once per reply.
            nurse = len({c["code"] for c in codes} & nurse_codes)
            version = str(value.get("model_version", ""))
            phase = "before" if is_before else "after"
            key = (event.learner, kind, event.module, event.item)
            latest[key] = (event.id, phase, space, nurse, version)
    seen: dict[str, str] = {}
    records = [
        (
            seen[learner] if learner in seen else seen.setdefault(learner, pseudonyms(learner)),
            phase,
            kind,
            module,
            item,
            space,
            nurse,
            version,
            row,
        )
        for (learner, kind, module, item), (row, phase, space, nurse, version) in latest.items()
    ]
    return pd.DataFrame.from_records(records, columns=CODED_COLUMNS), problems
