"""What the design can and cannot show: the attrition flow, completers at baseline, and the
controlled comparison of an intervention cohort with a comparison cohort.

Like every table of an :class:`~courseware.analytics.Evaluation`, these are suppressed here, not in
the view: a count of 1 to ``min_group - 1`` learners and every figure about such a group is NaN.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pandas as pd
from scipy import stats

from ._stats import compare_groups, hedges_g


def _scored_learners(table: pd.DataFrame, scales: list[str], wave: str) -> set[str]:
    here = table.loc[table["wave"].eq(wave)]
    return set(here.loc[here[scales].notna().all(axis=1), "learner"])


def _count(n: int, min_group: int) -> float:
    """A count of learners, withheld (NaN) when it is a group of 1 to ``min_group - 1``."""
    return math.nan if 0 < n < min_group else float(n)


def attrition(
    forms: dict[str, pd.DataFrame],
    scores: dict[str, pd.DataFrame],
    headline: dict[str, list[str]],
    invited: frozenset[str] | None,
    waves: list[str],
    min_group: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A CONSORT-style flow per instrument, baseline to the next wave, with the reason at each step;
    and completers against non-completers at baseline on each headline scale."""
    rows: list[dict[str, object]] = []
    baseline_rows: list[dict[str, object]] = []
    if len(waves) < 2:
        return pd.DataFrame(), pd.DataFrame()
    before, after = waves[0], waves[1]
    for instrument_id, table in scores.items():
        received = forms[instrument_id]
        answered = set(received["learner"])
        seen = answered | (invited or frozenset())
        pre = set(received.loc[received["wave"].eq(before), "learner"])
        post = set(received.loc[received["wave"].eq(after), "learner"])
        both = pre & post
        scales = headline[instrument_id]
        scored_pre = _scored_learners(table, scales, before)
        scored_post = _scored_learners(table, scales, after)
        scored = both & scored_pre & scored_post
        outside = len(answered - invited) if invited is not None else 0
        steps = [
            (
                "seen",
                len(seen),
                [
                    ("on the roster", len(invited) if invited is not None else 0),
                    ("answered but not on the roster", outside),
                ]
                if invited is not None
                else [("answered at any wave (no roster given)", len(seen))],
            ),
            ("answered-before", len(pre), [(f"no {before} form received", len(seen - pre))]),
            (
                "answered-after",
                len(post),
                [
                    (f"no {after} form received", len(seen - post)),
                    (f"answered {after} without answering {before}", len(post - pre)),
                ],
            ),
            (
                "both-waves",
                len(both),
                [
                    (f"answered {before} only", len(pre - post)),
                    (f"answered {after} only", len(post - pre)),
                ],
            ),
            (
                "scored",
                len(scored),
                [
                    (
                        f"{before} form not scored (too many missing items)",
                        len(both - scored_pre),
                    ),
                    (
                        f"{after} form not scored (too many missing items)",
                        len(both - scored_post),
                    ),
                ],
            ),
        ]
        for stage, n, reasons in steps:
            for reason, k in reasons:
                rows.append(
                    {
                        "instrument": instrument_id,
                        "stage": stage,
                        "n": _count(n, min_group),
                        "reason": reason,
                        "count": _count(k, min_group),
                        "suppressed": 0 < n < min_group or 0 < k < min_group,
                    }
                )
        for scale in scales:
            base = table.loc[table["wave"].eq(before)].set_index("learner")[scale].dropna()
            done = base[base.index.isin(scored)].to_numpy()
            lost = base[~base.index.isin(scored)].to_numpy()
            small = min(len(done), len(lost)) < min_group
            row: dict[str, object] = {
                "instrument": instrument_id,
                "scale": scale,
                "wave": before,
                "n_completers": _count(len(done), min_group),
                "n_others": _count(len(lost), min_group),
                "suppressed": small,
            }
            if not small:
                welch = stats.ttest_ind(done, lost, equal_var=False)
                ci = welch.confidence_interval()
                row.update(
                    mean_completers=float(np.mean(done)),
                    sd_completers=float(np.std(done, ddof=1)),
                    mean_others=float(np.mean(lost)),
                    sd_others=float(np.std(lost, ddof=1)),
                    difference=float(np.mean(done) - np.mean(lost)),
                    difference_low=float(ci.low),
                    difference_high=float(ci.high),
                    p_welch=float(welch.pvalue),
                    g=hedges_g(done, lost).estimate,
                )
            baseline_rows.append(row)
    return pd.DataFrame(rows), pd.DataFrame(baseline_rows)


def comparison(
    scores: dict[str, pd.DataFrame],
    headline: dict[str, list[str]],
    arms: pd.Series,
    intervention: str,
    control: str,
    before: str,
    after: str,
    min_group: int,
) -> pd.DataFrame:
    """Intervention against comparison cohort on every headline scale (learners scored at both
    waves): Welch t and Hedges' g at ``after``, and the ANCOVA difference adjusted for ``before``."""
    rows: list[dict[str, object]] = []
    for instrument_id, table in scores.items():
        for scale in headline[instrument_id]:
            wide = table.loc[table["wave"].isin([before, after])].pivot_table(
                index="learner", columns="wave", values=scale, aggfunc="first"
            )
            if before not in wide or after not in wide:
                continue
            wide = wide[[before, after]].dropna()
            arm = arms.reindex(wide.index)
            treated, other = wide[arm.eq(intervention)], wide[arm.eq(control)]
            n_i, n_c = len(treated), len(other)
            row: dict[str, object] = {
                "instrument": instrument_id,
                "scale": scale,
                "before": before,
                "after": after,
                "intervention": intervention,
                "comparison": control,
                "n_intervention": _count(n_i, min_group),
                "n_comparison": _count(n_c, min_group),
                "suppressed": min(n_i, n_c) < min_group,
            }
            if min(n_i, n_c) >= min_group:
                result = compare_groups(
                    treated[before].to_numpy(),
                    treated[after].to_numpy(),
                    other[before].to_numpy(),
                    other[after].to_numpy(),
                )
                for key, value in asdict(result).items():
                    if isinstance(value, dict):
                        row[key] = value["estimate"]
                        row[f"{key}_low"] = value["low"]
                        row[f"{key}_high"] = value["high"]
                    elif not key.startswith("n_"):
                        row[key] = value
            rows.append(row)
    return pd.DataFrame(rows)
