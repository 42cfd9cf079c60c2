"""Reading a CSV file someone exported or typed: encoding, separator, decimal commas, learner ids.

Shared by the survey, roster and levels readers; each bad cell becomes a :class:`DataProblem`.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._problems import DataProblem, ProblemKind, row_problems
from ._pseudonym import Pseudonyms


def source_name(path: Path) -> str:
    """How a file is named in messages and the report: its name only, never a local folder."""
    return path.name


DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")


def _separator(first_line: str) -> str:
    """The export's field separator: a comma, or the ``;`` (or tab) of a European-locale Excel."""
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def read_csv_file(
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


def header_problem(
    name: str, column: str, kind: ProblemKind, message: str, action: str
) -> DataProblem:
    """A problem with the header row (row 1): a column missing, unknown or given twice."""
    return DataProblem(name, 1, column, kind, message, action)


def learner_ids(
    frame: pd.DataFrame, column: str, name: str, rows: np.ndarray, pseudonyms: Pseudonyms
) -> tuple[pd.Series, np.ndarray, list[DataProblem]]:
    """Each row's pseudonym, which rows have a learner id, and a problem per row without one."""
    text = frame[column].str.strip()
    keep = text.ne("").to_numpy().copy()
    problems = row_problems(name, rows, ~keep, column, "missing-learner", "no learner id")
    return text.map(pseudonyms), keep, problems


def attribute_rows(
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
