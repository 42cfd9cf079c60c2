"""A behavioural outcome: learners' coded written replies before and after the teaching.

The reply coder (``courseware.feedback``) marks each reply with NURSE codes and whether it provides
the patient space. Two measures come from that: the share of replies that provide space, and NURSE
codes per reply. Unsure codes never count; a reply whose ``provides_space`` the coder left open
(None) is counted as unsure, never as "no". Per phase, the share has Wilson's CI over replies and
NURSE codes per reply a t CI (replies of one learner are not independent: the paired, per-learner
comparison is the one to quote). Paired: each learner's own share and mean in each phase, compared
with the paired t test of :func:`~courseware.analytics.paired`. Groups under ``min_group`` learners
are withheld.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._stats import mean_interval, paired, wilson

MEASURES = {
    "space": "share of replies that provide space",
    "nurse": "NURSE codes per reply",
}


def _learner_means(coded: pd.DataFrame) -> pd.DataFrame:
    """Per learner and phase: share of definite replies providing space, mean NURSE codes."""
    definite = coded["provides_space"].map(lambda v: math.nan if v is None else float(v))
    frame = coded.assign(space=definite.astype(float), nurse=coded["nurse"].astype(float))
    return frame.groupby(["learner", "phase"])[["space", "nurse"]].mean().reset_index()


def behaviour(coded: pd.DataFrame, min_group: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-phase figures and the paired before/after comparison, both suppressed."""
    phases: list[dict[str, object]] = []
    pairs: list[dict[str, object]] = []
    if coded.empty:
        return pd.DataFrame(), pd.DataFrame()
    for phase in ("before", "after"):
        here = coded.loc[coded["phase"].eq(phase)]
        learners = here["learner"].nunique()
        space = here["provides_space"]
        definite = space.map(lambda v: v is not None).astype(bool)
        yes = int(space[definite].astype(bool).sum())
        share = wilson(yes, int(definite.sum()))
        nurse = mean_interval(here["nurse"].to_numpy(dtype=float))
        small = learners < min_group
        phases.append(
            {
                "phase": phase,
                "learners": math.nan if small else learners,
                "replies": math.nan if small else len(here),
                "space_yes": math.nan if small else yes,
                "space_no": math.nan if small else int(definite.sum()) - yes,
                "space_unsure": math.nan if small else int((~definite).sum()),
                "space_share": share.estimate,
                "space_share_low": share.low,
                "space_share_high": share.high,
                "nurse_per_reply": nurse.estimate,
                "nurse_per_reply_low": nurse.low,
                "nurse_per_reply_high": nurse.high,
                "suppressed": small,
            }
        )
    means = _learner_means(coded)
    for measure, label in MEASURES.items():
        wide = means.pivot(index="learner", columns="phase", values=measure)
        if "before" not in wide or "after" not in wide:
            continue
        both = wide[["before", "after"]].dropna()
        n = len(both)
        row: dict[str, object] = {
            "measure": measure,
            "label": label,
            "n": n if n >= min_group else math.nan,
            "suppressed": n < min_group,
        }
        if n >= min_group:
            result = paired(both["before"].to_numpy(), both["after"].to_numpy())
            row.update(
                mean_before=result.mean_before,
                mean_after=result.mean_after,
                change=result.change.estimate,
                change_low=result.change.low,
                change_high=result.change.high,
                t=result.t,
                df=result.df,
                p_t=result.p_t,
                dz=result.dz.estimate,
                dz_low=result.dz.low,
                dz_high=result.dz.high,
            )
        pairs.append(row)
    frame = pd.DataFrame(phases)
    figures = [c for c in frame.columns if c.startswith(("space_share", "nurse_per"))]
    frame.loc[frame["suppressed"].to_numpy(dtype=bool), figures] = np.nan
    return frame, pd.DataFrame(pairs)
