"""Responses from every source in one shape, and the checks every source shares.

Each reader (store, survey export, roster, marking data) returns a partial :class:`Responses`;
:func:`combine` joins them and resolves what only shows across sources: the same learner answering
an instrument twice in one wave, and attributes (stream, stage, year) that disagree.

One form per row: ``learner`` (a pseudonym), ``wave``, ``source``, ``row`` (where it came from),
then one float column per item (``NaN`` when missing or "does not apply").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..instruments import Instrument
from ._mapping import NOT_APPLICABLE, Label
from ._problems import DataProblem, row_problems, shown

ATTRIBUTE_COLUMNS = ["learner", "attribute", "value", "source", "row", "priority"]
LEVEL_COLUMNS = ["learner", "level", "source", "row"]


@dataclass
class Responses:
    """Forms per instrument, learner attributes, marking levels, and every problem found."""

    forms: dict[str, pd.DataFrame] = field(default_factory=dict)
    attributes: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=ATTRIBUTE_COLUMNS)
    )
    levels: pd.DataFrame | None = None
    invited: frozenset[str] | None = None
    """Pseudonyms on the roster, when one was given: the denominator of completion."""
    problems: list[DataProblem] = field(default_factory=list)
    learner_columns: dict[str, str] = field(default_factory=dict)
    """Per source, the column that holds the learner id (for duplicate messages)."""
    notes: list[str] = field(default_factory=list)
    """Things worth knowing that are not problems (e.g. answers superseded by a later one)."""


def clean_values(
    raw: pd.DataFrame,
    instrument: Instrument,
    *,
    labels: Mapping[str, Label],
    source: str,
    rows: np.ndarray,
    column_names: Mapping[str, str],
) -> tuple[pd.DataFrame, list[DataProblem]]:
    """Turn raw answers (text or numbers; one column per item) into numbers, reporting every bad cell.

    Blank cells are missing answers (the scoring rule decides what that means). Text that is neither
    a number nor a known answer label, and numbers outside the response range, are reported and
    treated as missing. "Does not apply" is missing where the instrument offers it.
    """
    response = instrument.response
    na_words = {NOT_APPLICABLE}
    if response.not_applicable:
        na_words.add(response.not_applicable.strip().casefold())
    folded_labels = {k.strip().casefold(): v for k, v in labels.items()}
    problems: list[DataProblem] = []
    out: dict[str, np.ndarray] = {}
    for item in instrument.items:
        if item not in raw.columns:
            out[item] = np.full(len(raw), np.nan)
            continue
        text = raw[item].astype("string").fillna("").str.strip()
        folded = text.str.casefold()
        value = pd.to_numeric(text.where(text != ""), errors="coerce").astype(float)
        said_na = folded.isin(na_words) & bool(response.not_applicable)
        if folded_labels:
            labelled = folded.map(folded_labels)
            said_na |= labelled.eq(NOT_APPLICABLE).fillna(False) & bool(response.not_applicable)
            numbers = pd.to_numeric(labelled.where(labelled.ne(NOT_APPLICABLE)), errors="coerce")
            value = value.where(numbers.isna(), numbers)
        values = value.to_numpy(dtype=float, na_value=np.nan).copy()
        said_na_arr = said_na.to_numpy(dtype=bool, na_value=False)
        values[said_na_arr] = np.nan
        column = column_names.get(item, item)
        not_number = (text.ne("").to_numpy(dtype=bool)) & np.isnan(values) & ~said_na_arr
        problems += row_problems(
            source,
            rows,
            not_number,
            column,
            "not-a-number",
            # (each message is made at once, in this iteration: the loop variables are current)
            lambda i: (
                f"{shown(text.iat[i])} is not a number or an answer label"  # noqa: B023
                f" for {instrument.id}"
            ),
            "treated as missing",
        )
        present = ~np.isnan(values)
        in_range = (
            (values >= response.min) & (values <= response.max) & (values == np.floor(values))
        )
        out_of_range = present & ~in_range
        problems += row_problems(
            source,
            rows,
            out_of_range,
            column,
            "out-of-range",
            lambda i: (
                f"{values[i]:g} is outside {instrument.id}'s answers"  # noqa: B023
                f" ({response.min} to {response.max}, whole numbers)"
            ),
            "treated as missing",
        )
        values[out_of_range] = np.nan
        out[item] = values
    return pd.DataFrame(out, index=raw.index), problems


def _drop_duplicates(
    instrument_id: str, forms: pd.DataFrame, learner_columns: Mapping[str, str]
) -> tuple[pd.DataFrame, list[DataProblem]]:
    """Leave out every form of a learner who has more than one for the same wave, reporting each."""
    duplicated = forms.duplicated(["learner", "wave"], keep=False).to_numpy()
    if not duplicated.any():
        return forms, []
    problems: list[DataProblem] = []
    clash = forms.loc[duplicated]
    for (_, wave), group in clash.groupby(["learner", "wave"], sort=False):
        places = [(str(s), int(r)) for s, r in zip(group["source"], group["row"], strict=True)]
        for source, row in places:
            others = [f"{s} row {r}" if s != "store" else f"store event {r}" for s, r in places]
            others.remove(f"{source} row {row}" if source != "store" else f"store event {row}")
            listed = ", ".join(others[:3]) + (" and more" if len(others) > 3 else "")
            problems.append(
                DataProblem(
                    source,
                    row,
                    learner_columns.get(source, "learner"),
                    "duplicate",
                    f"the same learner has another {instrument_id} form for wave {wave!r} ({listed})",
                    "row excluded, as are the learner's other forms for this wave",
                )
            )
    return forms.loc[~duplicated], problems


def _settle_attributes(attributes: pd.DataFrame) -> tuple[pd.DataFrame, list[DataProblem]]:
    """One value per learner and attribute: the roster's, else the first export's; report clashes."""
    if attributes.empty:
        return pd.DataFrame(columns=["learner"]), []
    ordered = attributes.sort_values(["priority", "source", "row"], kind="stable")
    chosen = ordered.groupby(["learner", "attribute"], sort=False)["value"].transform("first")
    clashing = ordered.loc[ordered["value"].ne(chosen)]
    problems = [
        DataProblem(
            str(r.source),
            int(r.row),
            str(r.attribute),
            "conflicting-attribute",
            f"{shown(r.value)} differs from {shown(c)} given for the same learner elsewhere",
            "the other value is used",
        )
        for r, c in zip(clashing.itertuples(index=False), chosen.loc[clashing.index], strict=True)
    ]
    first = ordered.drop_duplicates(["learner", "attribute"])
    wide = first.pivot(index="learner", columns="attribute", values="value").reset_index()
    wide.columns.name = None
    return wide, problems


@dataclass
class Combined:
    """Responses from all sources after cross-source checks: what the analysis reads."""

    forms: dict[str, pd.DataFrame]
    attributes: pd.DataFrame
    levels: pd.DataFrame | None
    invited: frozenset[str] | None
    problems: list[DataProblem]
    notes: list[str]


def combine(parts: Iterable[Responses], *, several_forms: Iterable[str] = ()) -> Combined:
    """Join partial responses; leave out duplicate forms; settle attributes; keep every problem.

    ``several_forms`` names instruments where one learner may have many forms per wave (patients
    rating the learner, as with CARE): those are never duplicates.
    """
    several = set(several_forms)
    parts = list(parts)
    problems = [p for part in parts for p in part.problems]
    learner_columns = {k: v for part in parts for k, v in part.learner_columns.items()}
    forms: dict[str, pd.DataFrame] = {}
    for instrument_id in sorted({i for part in parts for i in part.forms}):
        frames = [part.forms[instrument_id] for part in parts if instrument_id in part.forms]
        joined = (
            pd.concat([f for f in frames if len(f)], ignore_index=True)
            if any(len(f) for f in frames)
            else frames[0]
        )
        if instrument_id in several:
            forms[instrument_id] = joined.reset_index(drop=True)
            continue
        kept, found = _drop_duplicates(instrument_id, joined, learner_columns)
        forms[instrument_id] = kept.reset_index(drop=True)
        problems.extend(found)
    attribute_frames = [p.attributes for p in parts if len(p.attributes)]
    attributes, found = _settle_attributes(
        pd.concat(attribute_frames, ignore_index=True)
        if attribute_frames
        else pd.DataFrame(columns=ATTRIBUTE_COLUMNS)
    )
    problems.extend(found)
    level_frames = [p.levels for p in parts if p.levels is not None]
    invited_sets = [p.invited for p in parts if p.invited is not None]
    return Combined(
        forms=forms,
        attributes=attributes,
        levels=pd.concat(level_frames, ignore_index=True) if level_frames else None,
        invited=frozenset().union(*invited_sets) if invited_sets else None,
        problems=problems,
        notes=[n for part in parts for n in part.notes],
    )
