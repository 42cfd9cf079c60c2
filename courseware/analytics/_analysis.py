"""The evaluation: scores, completion, reliability, change, cohorts, REFLECT levels, suppression.

:func:`analyse` turns combined responses into tables that are safe to show: any figure about a group
smaller than ``min_group`` learners is withheld (``suppressed`` is true and its numbers are NaN), and
where exactly one group of a breakdown is withheld the next smallest is withheld too, so the small
one cannot be worked out from the total. The per-learner score tables stay inside the
:class:`Evaluation` (pseudonymous) and are never shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..instruments import MISSING_SUFFIX, Instrument
from ._behaviour import behaviour
from ._design import attrition, comparison
from ._problems import DataProblem
from ._responses import Combined
from ._stats import pairs_needed
from ._tables import (
    changes_table,
    cohorts_table,
    completion_table,
    headline_scale_ids,
    is_small,
    levels_table,
    reliability_table,
    score_all,
    summary_table,
)

DEFAULT_WAVES = ["pre", "post", "follow-up"]
DEFAULT_ATTRIBUTES = ["stream", "stage", "year"]
DEFAULT_MIN_GROUP = 5
META_ANALYTIC_SMD = 0.5
"""Effect of empathy training pooled by meta-analyses (Winter et al. 2020: 0.52; 0.34 at 12 weeks+)."""


@dataclass
class Design:
    """What the evaluation file declares beyond the questionnaires (all optional): the programme
    for the summary, a controlled comparison, and coded written replies with the coder's accuracy."""

    programme: dict[str, Any] = field(default_factory=dict)
    comparison: dict[str, Any] | None = None
    """attribute, intervention, comparison, primary ("ancova" or "welch")."""
    coded: pd.DataFrame | None = None
    """One row per coded reply (see ``read_coded_replies``), pseudonymous."""
    coder_accuracy: dict[str, Any] | None = None
    """macro_f1, source, model_version, as declared in the evaluation file."""


@dataclass
class Evaluation:
    """Everything the report and the dashboard show, already suppressed."""

    title: str
    waves: list[str]
    min_group: int
    instruments: dict[str, Instrument]
    completion: pd.DataFrame
    summary: pd.DataFrame
    reliability: pd.DataFrame
    changes: pd.DataFrame
    cohorts: pd.DataFrame
    cohort_tests: pd.DataFrame
    levels: pd.DataFrame | None
    problems: list[DataProblem]
    notes: list[str] = field(default_factory=list)
    scores: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    """Per-learner scores (pseudonymous): for further analysis, never printed in the report."""
    pairs_for_meta_effect: int = 0
    """Paired learners needed for 80 % power at the meta-analytic effect (d_z = 0.5)."""
    attrition: pd.DataFrame = field(default_factory=pd.DataFrame)
    """CONSORT-style flow per instrument: stage, n, reason, count (small counts withheld)."""
    baseline: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Completers against non-completers at baseline, per headline scale."""
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Intervention against comparison cohort: Welch t, Hedges' g, ANCOVA (see ``design``)."""
    behaviour: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Coded replies per phase: share providing space (Wilson CI), NURSE codes per reply."""
    behaviour_pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The same two measures per learner, paired before/after."""
    coder_versions: list[str] = field(default_factory=list)
    design: Design = field(default_factory=Design)
    learners_seen: float = math.nan
    """Learners on the roster or answering anything (NaN when under ``min_group``)."""

    def headline_changes(self) -> Iterator[tuple[str, str, pd.Series]]:
        """``(instrument, scale, change row)`` for each instrument's headline scales (the total, or
        every scale), baseline to the first later wave: the results both summaries lead with."""
        if len(self.waves) < 2:
            return
        for instrument_id, instrument in self.instruments.items():
            for scale in headline_scale_ids(instrument):
                rows = self.changes.loc[
                    self.changes["instrument"].eq(instrument_id)
                    & self.changes["scale"].eq(scale)
                    & self.changes["after"].eq(self.waves[1])
                ]
                if not rows.empty:
                    yield instrument_id, scale, rows.iloc[0]


def analyse(
    combined: Combined,
    instruments: dict[str, Instrument],
    *,
    title: str = "Empathy teaching evaluation",
    waves: list[str] | None = None,
    attributes: list[str] | None = None,
    min_group: int = DEFAULT_MIN_GROUP,
    design: Design | None = None,
) -> Evaluation:
    """Score every form and build every table of the report (already suppressed)."""
    design = design or Design()
    if min_group < 1:
        raise ValueError("min_group must be at least 1")
    waves = list(waves or DEFAULT_WAVES)
    names = list(attributes or DEFAULT_ATTRIBUTES)
    scores = score_all(combined, instruments)
    used = {i: instruments[i] for i in scores}
    cohorts, tests = cohorts_table(scores, used, combined.attributes, names, waves, min_group)
    for instrument_id in scores:
        missing_columns = [c for c in scores[instrument_id].columns if c.endswith(MISSING_SUFFIX)]
        scores[instrument_id] = scores[instrument_id].drop(columns=missing_columns)
    notes = list(combined.notes)
    if combined.invited is not None:
        for instrument_id, table in scores.items():
            outside = set(table["learner"]) - combined.invited
            if outside:
                notes.append(
                    f"{instrument_id}: {len(outside)} learner(s) answered but are not on the roster;"
                    " their answers are analysed but not counted in completion."
                )
    headline = {i: headline_scale_ids(inst) for i, inst in used.items()}
    flow, baseline = attrition(combined.forms, scores, headline, combined.invited, waves, min_group)
    compared = pd.DataFrame()
    if (
        design.comparison
        and len(waves) > 1
        and design.comparison["attribute"] in combined.attributes
    ):
        arms = combined.attributes.set_index("learner")[design.comparison["attribute"]]
        compared = comparison(
            scores,
            headline,
            arms,
            design.comparison["intervention"],
            design.comparison["comparison"],
            waves[0],
            waves[1],
            min_group,
        )
    coded = design.coded if design.coded is not None else pd.DataFrame()
    phases, pairs = behaviour(coded, min_group) if not coded.empty else (pd.DataFrame(),) * 2
    versions = sorted(set(coded["model_version"])) if not coded.empty else []
    seen: set[str] = set(combined.invited or ())
    for forms in combined.forms.values():
        seen.update(forms["learner"])
    return Evaluation(
        attrition=flow,
        baseline=baseline,
        comparison=compared,
        behaviour=phases,
        behaviour_pairs=pairs,
        coder_versions=versions,
        design=design,
        learners_seen=math.nan if is_small(len(seen), min_group) else float(len(seen)),
        title=title,
        waves=waves,
        min_group=min_group,
        instruments=used,
        completion=completion_table(combined, scores, used, waves, combined.invited, min_group),
        summary=summary_table(scores, used, waves, min_group),
        reliability=reliability_table(combined, used, waves, min_group),
        changes=changes_table(scores, used, waves, min_group),
        cohorts=cohorts,
        cohort_tests=tests,
        levels=levels_table(combined.levels, min_group),
        problems=sorted(combined.problems, key=lambda p: (p.source, p.row or 0, p.column)),
        notes=notes,
        scores=scores,
        pairs_for_meta_effect=pairs_needed(META_ANALYTIC_SMD),
    )
