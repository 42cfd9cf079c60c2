"""The evaluation's tables, each already suppressed: completion, summary, reliability, change,
cohorts and REFLECT levels.

A figure about a group smaller than ``min_group`` learners is withheld, and where exactly one group
of a breakdown is withheld the next smallest is too (see :func:`~._analysis.analyse`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict

import pandas as pd

from ..instruments import TOTAL, Instrument, score
from ..instruments import reverse_keyed as keyed_items
from ._read_levels import REFLECT_LEVELS
from ._responses import Combined
from ._stats import cronbach_alpha, kruskal, paired

NOT_RECORDED = "(not recorded)"


def headline_scale_ids(instrument: Instrument) -> list[str]:
    scales = [s.id for s in instrument.scales]
    return [TOTAL] if TOTAL in scales else scales


def is_small(n: int, min_group: int) -> bool:
    return 0 < n < min_group


def _secondary(frame: pd.DataFrame, by: list[str], min_group: int) -> pd.DataFrame:
    """Where one group of a breakdown is suppressed, also suppress the next smallest one."""
    if frame.empty:
        return frame
    frame = frame.copy()
    for _, group in frame.groupby(by, sort=False):
        hidden = group["suppressed"] & group["n"].gt(0)
        shown_groups = group.loc[~group["suppressed"] & group["n"].gt(0)]
        if hidden.sum() == 1 and len(shown_groups) >= 1:
            frame.loc[shown_groups["n"].idxmin(), "suppressed"] = True
    return frame


def _blank(frame: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    """NaN every figure of suppressed rows (the count too) except the identifying columns."""
    if frame.empty:
        return frame
    frame = frame.copy()
    figures = [c for c in frame.columns if c not in keep and c != "suppressed"]
    mask = frame["suppressed"].to_numpy(dtype=bool)
    for column in figures:
        frame[column] = frame[column].astype(float)
        frame.loc[mask, column] = math.nan
    return frame


def score_all(combined: Combined, instruments: dict[str, Instrument]) -> dict[str, pd.DataFrame]:
    """One row per learner and wave. A patient-rated instrument (CARE) has many forms per learner
    and wave: the learner's score on each scale is the mean over their validly scored forms."""
    scored: dict[str, pd.DataFrame] = {}
    for instrument_id, forms in combined.forms.items():
        if forms.empty:
            continue
        instrument = instruments[instrument_id]
        values = forms[list(instrument.items)].astype(float)
        table = pd.concat([forms[["learner", "wave"]], score(instrument, values)], axis=1)
        if several_forms_per_learner(instrument):
            table = table.groupby(["learner", "wave"], as_index=False, sort=False).mean()
        scored[instrument_id] = table
    return scored


def several_forms_per_learner(instrument: Instrument) -> bool:
    """Patients rate the learner (CARE): many forms per learner and wave are expected."""
    return instrument.spec.respondent == "patient"


def completion_table(
    combined: Combined,
    scores: dict[str, pd.DataFrame],
    instruments: dict[str, Instrument],
    waves: list[str],
    invited: frozenset[str] | None,
    min_group: int,
) -> pd.DataFrame:
    rows = []
    for instrument_id, table in scores.items():
        scales = [s.id for s in instruments[instrument_id].scales]
        population = len(invited) if invited is not None else table["learner"].nunique()
        # With a roster, only learners on it count towards completion (see the note in analyse).
        counted = table["learner"].isin(invited) if invited is not None else True
        complete = table[scales].notna().all(axis=1) & counted
        for wave in waves:
            here = table["wave"].eq(wave)
            forms = int(combined.forms[instrument_id]["wave"].eq(wave).sum())
            scored = int((here & complete).sum())
            rows.append(
                {
                    "instrument": instrument_id,
                    "wave": wave,
                    "invited": population,
                    "forms": forms,
                    "scored": scored,
                    "percent": 100 * scored / population if population else math.nan,
                    "suppressed": any(is_small(k, min_group) for k in (population, forms, scored)),
                }
            )
        all_waves = table.loc[complete].groupby("learner")["wave"].nunique().eq(len(waves)).sum()
        rows.append(
            {
                "instrument": instrument_id,
                "wave": "all waves",
                "invited": population,
                "forms": math.nan,
                "scored": int(all_waves),
                "percent": 100 * all_waves / population if population else math.nan,
                "suppressed": is_small(population, min_group)
                or is_small(int(all_waves), min_group),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    small_population = frame["invited"].map(lambda n: is_small(int(n), min_group)).to_numpy()
    frame = _blank(frame, ["instrument", "wave", "invited"])
    frame["invited"] = frame["invited"].astype(float).where(~small_population)
    return frame


def summary_table(
    scores: dict[str, pd.DataFrame],
    instruments: dict[str, Instrument],
    waves: list[str],
    min_group: int,
) -> pd.DataFrame:
    rows = []
    for instrument_id, table in scores.items():
        instrument = instruments[instrument_id]
        for scale in instrument.scales:
            low, high = scale.score_range(instrument.response, instrument.spec.score)
            for wave in waves:
                values = table.loc[table["wave"].eq(wave), scale.id].dropna()
                n = len(values)
                rows.append(
                    {
                        "instrument": instrument_id,
                        "scale": scale.id,
                        "wave": wave,
                        "n": n,
                        "mean": values.mean(),
                        "sd": values.std(ddof=1),
                        "low": low,
                        "high": high,
                        "ceiling_percent": 100 * values.ge(high - 0.1 * (high - low)).mean()
                        if n
                        else math.nan,
                        "suppressed": is_small(n, min_group),
                    }
                )
    return _blank(pd.DataFrame(rows), ["instrument", "scale", "wave", "low", "high"])


def reliability_table(
    combined: Combined, instruments: dict[str, Instrument], waves: list[str], min_group: int
) -> pd.DataFrame:
    rows = []
    for instrument_id, forms in combined.forms.items():
        if forms.empty or instrument_id not in instruments:
            continue
        instrument = instruments[instrument_id]
        keyed = keyed_items(instrument, forms[list(instrument.items)].astype(float))
        for scale in instrument.scales:
            for wave in waves:
                here = keyed.loc[forms["wave"].eq(wave).to_numpy(), list(scale.items)]
                alpha, n = cronbach_alpha(here)
                rows.append(
                    {
                        "instrument": instrument_id,
                        "scale": scale.id,
                        "wave": wave,
                        "items": len(scale.items),
                        "n": n,
                        "alpha": alpha.estimate,
                        "alpha_low": alpha.low,
                        "alpha_high": alpha.high,
                        "suppressed": is_small(n, min_group),
                    }
                )
    return _blank(pd.DataFrame(rows), ["instrument", "scale", "wave", "items"])


def _paired_frame(table: pd.DataFrame, scale: str, before: str, after: str) -> pd.DataFrame:
    wide = table.loc[table["wave"].isin([before, after]), ["learner", "wave", scale]].pivot(
        index="learner", columns="wave", values=scale
    )
    if before not in wide or after not in wide:
        return pd.DataFrame(columns=[before, after])
    return wide[[before, after]].dropna()


def _change_row(
    keys: Mapping[str, object], pairs: pd.DataFrame, before: str, after: str, min_group: int
) -> dict[str, object]:
    """One group's paired change, ``before`` to ``after``: its ``keys``, n, and the paired results
    (flat: ``change``, ``change_low``, ...) unless the group is smaller than ``min_group``."""
    n = len(pairs)
    row: dict[str, object] = {
        **keys,
        "before": before,
        "after": after,
        "n": n,
        "suppressed": n < min_group,
    }
    if n >= min_group:
        result = paired(pairs[before].to_numpy(), pairs[after].to_numpy())
        row.update({k: v for k, v in asdict(result).items() if not isinstance(v, dict)})
        for name in ("change", "dz", "g_av"):
            interval = getattr(result, name)
            row[name] = interval.estimate
            row[f"{name}_low"] = interval.low
            row[f"{name}_high"] = interval.high
    return row


def changes_table(
    scores: dict[str, pd.DataFrame],
    instruments: dict[str, Instrument],
    waves: list[str],
    min_group: int,
) -> pd.DataFrame:
    rows = []
    baseline = waves[0]
    for instrument_id, table in scores.items():
        for scale in instruments[instrument_id].scales:
            for later in waves[1:]:
                pairs = _paired_frame(table, scale.id, baseline, later)
                keys = {"instrument": instrument_id, "scale": scale.id}
                rows.append(_change_row(keys, pairs, baseline, later, min_group))
    return _blank(pd.DataFrame(rows), ["instrument", "scale", "before", "after"])


def cohorts_table(
    scores: dict[str, pd.DataFrame],
    instruments: dict[str, Instrument],
    attributes: pd.DataFrame,
    names: list[str],
    waves: list[str],
    min_group: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows: list[dict[str, object]] = []
    tests: list[dict[str, object]] = []
    if len(waves) < 2:
        return pd.DataFrame(), pd.DataFrame()
    before, after = waves[0], waves[1]
    for instrument_id, table in scores.items():
        for scale in headline_scale_ids(instruments[instrument_id]):
            pairs = _paired_frame(table, scale, before, after)
            for attribute in (a for a in names if a in attributes.columns):
                groups = (
                    attributes.set_index("learner")[attribute]
                    .reindex(pairs.index)
                    .fillna(NOT_RECORDED)
                )
                if groups.eq(NOT_RECORDED).all():
                    continue
                for group, members in pairs.groupby(groups, sort=True):
                    keys = {
                        "instrument": instrument_id,
                        "scale": scale,
                        "attribute": attribute,
                        "group": str(group),
                    }
                    rows.append(_change_row(keys, members, before, after, min_group))
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame, pd.DataFrame()
    frame = _secondary(frame, ["instrument", "scale", "attribute"], min_group)
    for (instrument_id, scale, attribute), group in frame.groupby(
        ["instrument", "scale", "attribute"], sort=False
    ):
        shown_groups = group.loc[~group["suppressed"] & group["group"].ne(NOT_RECORDED), "group"]
        table = scores[str(instrument_id)]
        pairs = _paired_frame(table, str(scale), before, after)
        labels = attributes.set_index("learner")[attribute].reindex(pairs.index)
        change = pairs[after] - pairs[before]
        h, p = kruskal([change[labels.eq(g)].to_numpy() for g in shown_groups])
        tests.append(
            {
                "instrument": instrument_id,
                "scale": scale,
                "attribute": attribute,
                "groups": len(shown_groups),
                "h": h,
                "p": p,
            }
        )
    keep = ["instrument", "scale", "attribute", "group", "before", "after"]
    return _blank(frame, keep), pd.DataFrame(tests)


def levels_table(levels: pd.DataFrame | None, min_group: int) -> pd.DataFrame | None:
    if levels is None:
        return None
    counts = levels["level"].value_counts().reindex(REFLECT_LEVELS, fill_value=0)
    total = int(counts.sum())
    frame = pd.DataFrame(
        {
            "level": list(REFLECT_LEVELS),
            "n": counts.to_numpy(),
            "percent": 100 * counts.to_numpy() / total if total else math.nan,
        }
    )
    frame["suppressed"] = frame["n"].map(lambda n: is_small(int(n), min_group)) | (
        total < min_group
    )
    frame["all"] = "all"
    frame = _secondary(frame, ["all"], min_group).drop(columns="all")
    return _blank(frame, ["level"])
