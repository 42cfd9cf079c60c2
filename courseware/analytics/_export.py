"""Every figure of an evaluation as JSON or CSV, for a funder's template or a statistician's script.

Only the suppressed tables of an :class:`Evaluation` are written (never the per-learner scores), so
a withheld group is withheld here too: its row is present with ``suppressed`` true and its figures
null (JSON) or empty (CSV). Numbers keep full precision; each table carries its method, and each
row its n.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ._analysis import Evaluation

METHODS = {
    "completion": "Learners with a scored form per instrument and wave; denominator the roster if"
    " given, else every learner seen for the instrument.",
    "summary": "Mean and SD (n - 1) of scale scores per wave; ceiling_percent: share in the top"
    " tenth of the possible range.",
    "reliability": "Cronbach's alpha over learners with every item answered, Feldt's 95% CI.",
    "changes": "Paired comparison of learners scored at both waves: paired t (scipy), Wilcoxon"
    " signed-rank (scipy), Cohen's d_z with exact noncentral-t 95% CI, Hedges' g_av (Lakens 2013)"
    " with the matched-groups 95% CI (Borenstein et al. 2009), smallest d_z detectable with 80%"
    " power.",
    "cohorts": "The paired comparison within each cohort group; small groups and their complement"
    " withheld.",
    "cohort_tests": "Kruskal-Wallis test of the change across the shown cohort groups (scipy).",
    "levels": "REFLECT levels from marking (Wald et al. 2012).",
    "attrition": "CONSORT-style flow from learners seen to learners analysed, with the count for"
    " each reason; counts of 1 to min_group - 1 withheld.",
    "baseline": "Completers against non-completers at baseline: means, SDs, Welch difference"
    " with 95% CI and p, Hedges' g.",
    "comparison": "Intervention against comparison cohort at the later wave (learners scored at"
    " both waves): Welch t with 95% CI of the difference; Hedges' g (pooled SD, corrected) with"
    " large-sample 95% CI; ANCOVA (OLS of the later score on cohort and baseline score) adjusted"
    " difference with t-based 95% CI and p.",
    "behaviour": "Coded written replies per phase: share providing space among replies the coder"
    " could call (Wilson 95% CI; unsure replies counted separately, never as no), NURSE codes per"
    " reply (t 95% CI); unsure codes never count.",
    "behaviour_pairs": "Per-learner share providing space and mean NURSE codes per reply, before"
    " against after, for learners with coded replies in both phases: paired t with 95% CI, d_z.",
}


def _tables(evaluation: Evaluation) -> dict[str, pd.DataFrame]:
    tables = {
        "completion": evaluation.completion,
        "summary": evaluation.summary,
        "reliability": evaluation.reliability,
        "changes": evaluation.changes,
        "cohorts": evaluation.cohorts,
        "cohort_tests": evaluation.cohort_tests,
        "attrition": evaluation.attrition,
        "baseline": evaluation.baseline,
        "comparison": evaluation.comparison,
        "behaviour": evaluation.behaviour,
        "behaviour_pairs": evaluation.behaviour_pairs,
    }
    if evaluation.levels is not None:
        tables["levels"] = evaluation.levels
    return tables


def _plain(value: Any) -> Any:
    """A JSON value: NaN and None become null, numpy scalars plain numbers."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def figures(evaluation: Evaluation) -> dict[str, Any]:
    """The whole evaluation as plain data (what ``--json`` writes)."""
    design = evaluation.design
    return {
        "title": evaluation.title,
        "generator": f"courseware {__version__}",
        "waves": evaluation.waves,
        "min_group": evaluation.min_group,
        "learners_seen": _plain(evaluation.learners_seen),
        "programme": design.programme,
        "comparison_design": design.comparison,
        "coder": {
            "model_versions": evaluation.coder_versions,
            "declared_accuracy": design.coder_accuracy,
        },
        "data_problems": len(evaluation.problems),
        "tables": {
            name: {
                "method": METHODS[name],
                "rows": [
                    {k: _plain(v) for k, v in row.items()}
                    for row in frame.to_dict(orient="records")
                ],
            }
            for name, frame in _tables(evaluation).items()
        },
    }


def write_json(evaluation: Evaluation, out: str | Path) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(figures(evaluation), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def write_csv(evaluation: Evaluation, folder: str | Path) -> list[Path]:
    """One CSV per table (full precision, a ``method`` column), plus ``methods.csv``."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in _tables(evaluation).items():
        path = root / f"{name}.csv"
        frame.assign(method=METHODS[name]).to_csv(path, index=False, float_format="%.17g")
        written.append(path)
    methods = root / "methods.csv"
    pd.DataFrame({"table": list(METHODS), "method": list(METHODS.values())}).to_csv(
        methods, index=False
    )
    return [*written, methods]
