"""The evaluation as HTML: one self-contained page for funders, the same sections for the dashboard.

Tables and charts are built from the suppressed tables of an :class:`Evaluation` only; a withheld
row says so instead of showing numbers. Every chart has alt text and the table behind it. Jinja2
escapes everything that comes from data (file names, column names, cell text in problem messages).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from .. import __version__
from ..instruments import TOTAL
from . import _plots
from ._analysis import META_ANALYTIC_SMD, NOT_RECORDED, Evaluation, headline_scale_ids
from ._stats import pairs_needed

FEWER = "Withheld: fewer than {n} learners"
DASH = "\u2013"  # en dash: ranges, and the mark for "no figure"
MINUS = "\u2212"
ALPHA_SIGN = "\u03b1"


@dataclass
class Row:
    """A table row: header cells, then figures (``None`` when withheld), and the group size."""

    heads: list[str]
    cells: list[str] | None
    n: int | None = None


@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[Row]
    heads: int = 1


@dataclass
class Chart:
    id: str
    title: str
    alt: str
    src: str
    table: Table


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)
    flow: list[Flow] = field(default_factory=list)


@dataclass
class Flow:
    """A CONSORT-style diagram: boxes in order, each with its count and the reasons for the step."""

    caption: str
    boxes: list[tuple[str, str, list[str]]]


def num(value: object, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    number = float(value)  # type: ignore[arg-type]
    return f"{number:,.{digits}f}".replace("-", MINUS)


def count(value: object) -> str:
    return num(value, 0)


def pvalue(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    p = float(value)  # type: ignore[arg-type]
    return "< .001" if p < 0.001 else f"{p:.3f}".lstrip("0")


def interval(est: object, low: object, high: object) -> str:
    return f"{num(est)} ({num(low)} to {num(high)})"


def _n(value: object) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)  # type: ignore[call-overload]


class _Names:
    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation

    def instrument(self, instrument_id: str) -> str:
        return self.evaluation.instruments[instrument_id].spec.short_title

    def scale(self, instrument_id: str, scale_id: str) -> str:
        instrument = self.evaluation.instruments[instrument_id]
        title = instrument.scale(scale_id).title
        return f"{instrument.spec.short_title} {title.lower() if scale_id == TOTAL else title}"


def _summary_section(ev: Evaluation, names: _Names) -> Section:
    section = Section("summary", "Summary")
    first_later = ev.waves[1] if len(ev.waves) > 1 else None
    needed = ev.pairs_for_meta_effect
    for instrument_id in ev.instruments:
        for scale in headline_scale_ids(ev.instruments[instrument_id]):
            row = ev.changes.loc[
                ev.changes["instrument"].eq(instrument_id)
                & ev.changes["scale"].eq(scale)
                & ev.changes["after"].eq(first_later)
            ]
            if row.empty:
                continue
            r = row.iloc[0]
            label = names.scale(instrument_id, scale)
            if r["suppressed"]:
                section.bullets.append(
                    f"{label}: fewer than {ev.min_group} learners answered both {r['before']} and"
                    f" {r['after']}, so no result is shown."
                )
                continue
            direction = (
                "rose" if r["change"] > 0 else "fell" if r["change"] < 0 else "did not change"
            )
            section.bullets.append(
                f"{label}, {r['before']} to {r['after']}: Hedges' g_av"
                f" {interval(r['g_av'], r['g_av_low'], r['g_av_high'])}, n = {count(r['n'])}"
                f" learners. The mean {direction} by {num(abs(r['change']))} points (95% CI"
                f" {num(r['change_low'])} to {num(r['change_high'])}); paired t p"
                f" {pvalue(r['p_t'])}, Wilcoxon p {pvalue(r['p_wilcoxon'])}. Beside it, d_z"
                f" {interval(r['dz'], r['dz_low'], r['dz_high'])} (change over the SD of the"
                " changes: it grows with the pre-post correlation, so it is not comparable with"
                " published SMDs)."
            )
            enough = int(r["n"]) >= needed
            section.bullets.append(
                f"Power: with {count(r['n'])} paired learners this comparison detects d_z ≥"
                f" {num(r['detectable_dz'])} with 80% power (two-sided {ALPHA_SIGN} = .05). "
                + (
                    f"That covers the effect empathy training usually has (SMD ≈ {META_ANALYTIC_SMD})."
                    if enough
                    else f"That is not enough to detect reliably the effect empathy training usually"
                    f" has (SMD ≈ {META_ANALYTIC_SMD}): that needs {needed} paired learners."
                )
            )
    if not section.bullets:
        section.paragraphs.append("No instrument has answers at two waves yet.")
    section.bullets.extend(_comparison_headlines(ev, names) + _behaviour_headlines(ev))
    section.paragraphs.append(
        "The headline effect is Hedges' g_av: the mean change over the average SD of the two"
        " waves, which is on the scale of the standardised mean differences that meta-analyses of"
        " empathy training pool."
    )
    section.paragraphs.append(
        f"Learners appear only as pseudonyms, and no figure is shown for a group of fewer than"
        f" {ev.min_group} learners. Meta-analyses of empathy training pool effects around SMD 0.5"
        f" (0.34 when measured 12 weeks or more after the training); a paired design needs"
        f" {needed} learners for 80% power at d_z = 0.5 and {pairs_needed(0.34)} at 0.34."
    )
    return section


def _completion_section(ev: Evaluation, names: _Names) -> Section:
    section = Section("completion", "Who answered")
    if ev.completion.empty:
        section.paragraphs.append("No questionnaire answers were found.")
        return section
    rows, labels, values = [], [], []
    for r in ev.completion.itertuples(index=False):
        heads = [names.instrument(r.instrument), r.wave]
        cells = (
            None
            if r.suppressed
            else [count(r.invited), count(r.forms), count(r.scored), num(r.percent, 1)]
        )
        rows.append(Row(heads, cells, _n(r.scored)))
        labels.append(f"{names.instrument(r.instrument)} {r.wave}")
        values.append(float("nan") if r.suppressed else float(r.percent))
    table = Table(
        "Completion by instrument and wave",
        ["Instrument", "Wave", "Learners", "Forms received", "Forms scored", "% scored"],
        rows,
        heads=2,
    )
    shown = [
        f"{lab} {num(v, 0)}%" for lab, v in zip(labels, values, strict=True) if not math.isnan(v)
    ]
    alt = (
        "Bar chart of the percentage of learners with a scored form: "
        + ("; ".join(shown) if shown else "no figures (all withheld)")
        + "."
    )
    section.charts.append(
        Chart(
            "completion-chart",
            "Completion",
            alt,
            _plots.bars(labels, values, "% scored", 100),
            table,
        )
    )
    section.paragraphs.append(
        "A form is scored when every scale has enough answers under the instrument's missing-data"
        " rule. The denominator is the roster when one was given, else every learner seen for that"
        " instrument."
    )
    return section


def _scores_section(ev: Evaluation, names: _Names) -> Section:
    section = Section("scores", "Scores by wave")
    for instrument_id, instrument in ev.instruments.items():
        part = ev.summary.loc[ev.summary["instrument"].eq(instrument_id)]
        rows = [
            Row(
                [instrument.scale(r.scale).title, r.wave],
                None
                if r.suppressed
                else [
                    count(r.n),
                    num(r.mean),
                    num(r.sd),
                    f"{num(r.low, 0)}{DASH}{num(r.high, 0)}",
                    num(r.ceiling_percent, 1),
                ],
                _n(r.n),
            )
            for r in part.itertuples(index=False)
        ]
        table = Table(
            f"{instrument.spec.short_title}: scores by wave",
            ["Scale", "Wave", "n", "Mean", "SD", "Possible range", "% in top tenth"],
            rows,
            heads=2,
        )
        titles = {s.id: s.title for s in instrument.scales}
        described = [
            f"{titles[r.scale]} at {r.wave}: mean {num(r.mean)} (n {count(r.n)})"
            for r in part.itertuples(index=False)
            if not r.suppressed
        ]
        alt = (
            f"{instrument.spec.short_title} mean scores with 95% confidence intervals by wave. "
            + ("; ".join(described) if described else "All figures withheld (small groups).")
        )
        section.charts.append(
            Chart(
                f"scores-{instrument_id}",
                f"{instrument.spec.short_title}: mean score by wave",
                alt,
                _plots.scores_by_wave(part, titles, ev.waves),
                table,
            )
        )
    section.paragraphs.append(
        "“% in top tenth” is the share of learners scoring in the top tenth of the possible range:"
        " a high share warns of a ceiling effect, which is common on the JSE and leaves little room"
        " to show change."
    )
    return section


def _changes_section(ev: Evaluation, names: _Names) -> Section:
    section = Section("change", "Change from baseline")
    if ev.changes.empty:
        section.paragraphs.append("No comparisons: fewer than two waves.")
        return section
    rows = []
    for r in ev.changes.itertuples(index=False):
        heads = [names.scale(r.instrument, r.scale), f"{r.before} → {r.after}"]
        cells = None
        if not r.suppressed:
            cells = [
                count(r.n),
                f"{num(r.mean_before)} → {num(r.mean_after)}",
                interval(r.change, r.change_low, r.change_high),
                f"{num(r.t)} ({count(r.df)}); {pvalue(r.p_t)}",
                f"{num(r.wilcoxon_w, 1)}; {pvalue(r.p_wilcoxon)}",
                interval(r.dz, r.dz_low, r.dz_high),
                interval(r.g_av, r.g_av_low, r.g_av_high),
                num(r.detectable_dz),
            ]
        rows.append(Row(heads, cells, _n(r.n)))
    table = Table(
        "Paired change from baseline (learners answering both waves)",
        [
            "Scale",
            "Waves",
            "n",
            "Mean before → after",
            "Change (95% CI)",
            "t (df); p",
            "Wilcoxon W; p",
            "d_z (95% CI)",
            "Hedges' g_av (95% CI)",
            "d_z detectable at 80% power",
        ],
        rows,
        heads=2,
    )
    visible = ev.changes.loc[~ev.changes["suppressed"].astype(bool)]
    labels = [
        f"{names.scale(r.instrument, r.scale)}, {r.before}→{r.after}"
        for r in visible.itertuples(index=False)
    ]
    alt = (
        "Forest plot of Hedges' g_av with 95% confidence intervals; dotted line at the"
        f" meta-analytic SMD of {META_ANALYTIC_SMD}. "
    ) + (
        "; ".join(
            f"{lab}: {interval(r.g_av, r.g_av_low, r.g_av_high)}"
            for lab, r in zip(labels, visible.itertuples(index=False), strict=True)
        )
        or "All comparisons withheld (small groups)."
    )
    src = (
        _plots.effect_sizes(labels, visible, META_ANALYTIC_SMD)
        if labels
        else _plots.bars([], [], "")
    )
    section.charts.append(Chart("change-chart", "Effect sizes", alt, src, table))
    section.paragraphs.append(
        "d_z is the mean change divided by the SD of the changes (its CI is exact, from the"
        " noncentral t). Hedges' g_av divides by the average SD of the two waves and corrects for"
        " small samples, which puts it on the scale of the SMDs meta-analyses pool."
    )
    return section


def _reliability_section(ev: Evaluation, names: _Names) -> Section:
    section = Section("reliability", "Internal consistency")
    if ev.reliability.empty:
        section.paragraphs.append("No questionnaire answers were found, so no alpha is shown.")
        return section
    rows = [
        Row(
            [names.scale(r.instrument, r.scale), r.wave],
            None
            if r.suppressed
            else [count(r.items), count(r.n), interval(r.alpha, r.alpha_low, r.alpha_high)],
            _n(r.n),
        )
        for r in ev.reliability.itertuples(index=False)
    ]
    section.tables.append(
        Table(
            "Cronbach's alpha (95% CI, Feldt), learners with every item of the scale answered",
            ["Scale", "Wave", "Items", "n", "Alpha (95% CI)"],
            rows,
            heads=2,
        )
    )
    return section


def _cohorts_section(ev: Evaluation, names: _Names) -> Section:
    section = Section("cohorts", "Cohorts")
    if ev.cohorts.empty:
        section.paragraphs.append(
            "No cohort attributes (stream, stage, year) were given: add a roster or map them in the"
            " survey export to compare cohorts."
        )
        return section
    for (instrument_id, scale, attribute), part in ev.cohorts.groupby(
        ["instrument", "scale", "attribute"], sort=False
    ):
        rows = [
            Row(
                [str(r.group)],
                None
                if r.suppressed
                else [
                    count(r.n),
                    f"{num(r.mean_before)} → {num(r.mean_after)}",
                    interval(r.change, r.change_low, r.change_high),
                    interval(r.dz, r.dz_low, r.dz_high),
                ],
                _n(r.n),
            )
            for r in part.itertuples(index=False)
        ]
        first = part.iloc[0]
        test = ev.cohort_tests.loc[
            ev.cohort_tests["instrument"].eq(instrument_id)
            & ev.cohort_tests["scale"].eq(scale)
            & ev.cohort_tests["attribute"].eq(attribute)
        ]
        caption = f"{names.scale(str(instrument_id), str(scale))} by {attribute}, {first['before']} → {first['after']}"
        if not test.empty and not math.isnan(float(test.iloc[0]["h"])):
            t = test.iloc[0]
            caption += f" (Kruskal-Wallis across {int(t['groups'])} groups: H {num(t['h'])}, p {pvalue(t['p'])})"
        section.tables.append(
            Table(
                caption,
                [
                    attribute.capitalize(),
                    "n",
                    "Mean before → after",
                    "Change (95% CI)",
                    "d_z (95% CI)",
                ],
                rows,
            )
        )
    section.paragraphs.append(
        f"Where one group is withheld, the next smallest is withheld too, so the small group"
        f" cannot be worked out from the others. “{NOT_RECORDED}” collects learners with no value"
        " for the attribute."
    )
    return section


def _levels_section(ev: Evaluation) -> Section:
    section = Section("reflection", "Reflective writing (REFLECT levels)")
    if ev.levels is None:
        section.paragraphs.append("No marking data was given.")
        return section
    rows = [
        Row(
            [r.level.capitalize()],
            None if r.suppressed else [count(r.n), num(r.percent, 1)],
            _n(r.n),
        )
        for r in ev.levels.itertuples(index=False)
    ]
    table = Table("Marked reflections by REFLECT level", ["Level", "Reflections", "%"], rows)
    values = [
        float("nan") if r.suppressed else float(r.n) for r in ev.levels.itertuples(index=False)
    ]
    labels = [str(r.level).capitalize() for r in ev.levels.itertuples(index=False)]
    described = [
        f"{lab}: {num(v, 0)}" for lab, v in zip(labels, values, strict=True) if not math.isnan(v)
    ]
    alt = (
        "Bar chart of marked reflections per REFLECT level, habitual action to critical reflection. "
        + ("; ".join(described) if described else "All counts withheld (small groups).")
    )
    section.charts.append(
        Chart(
            "levels-chart", "REFLECT levels", alt, _plots.bars(labels, values, "Reflections"), table
        )
    )
    section.paragraphs.append(
        "Levels as marked with the REFLECT rubric (Wald et al. 2012): habitual action, thoughtful"
        " action, reflection, critical reflection."
    )
    return section


def _problems_section(ev: Evaluation) -> Section:
    section = Section("data-checks", "Data checks")
    if not ev.problems:
        section.paragraphs.append("Every row of every source was read without a problem.")
    else:
        kinds = Counter(p.kind for p in ev.problems)
        section.paragraphs.append(
            f"{len(ev.problems)} problem(s) were found and handled as listed; nothing else was left out."
        )
        section.bullets = [f"{kind.replace('-', ' ')}: {n}" for kind, n in sorted(kinds.items())]
        section.tables.append(
            Table(
                "Every problem found, by source, row and column",
                ["Source", "Row or event", "Column", "Problem", "What was done"],
                [
                    Row(
                        [p.source],
                        [
                            str(p.row) if p.row is not None else DASH,
                            p.column or DASH,
                            p.message,
                            p.action,
                        ],
                    )
                    for p in ev.problems
                ],
            )
        )
    section.paragraphs.extend(ev.notes)
    return section


def _methods_section(ev: Evaluation) -> Section:
    section = Section("methods", "Instruments and methods")
    for instrument in ev.instruments.values():
        spec = instrument.spec
        sub = Section(f"method-{spec.id}", spec.title)
        sub.paragraphs.append(
            f"{len(instrument.items)} items answered {spec.response.min}{DASH}{spec.response.max};"
            f" reverse-keyed: {', '.join(spec.reverse) or 'none'}. Scales:"
            f" {'; '.join(f'{s.title} ({len(s.items)} items)' for s in instrument.scales)}."
        )
        sub.paragraphs.append(
            f"Missing answers ({'published rule' if spec.missing.source == 'published' else 'project default'}):"
            f" {spec.missing.note or ''}"
        )
        uncertain = [s.title for s in instrument.scales if s.uncertain]
        if uncertain:
            sub.paragraphs.append(
                "The item assignment of these subscales is not certain and should be checked against"
                f" the instrument's manual: {', '.join(uncertain)}."
            )
        sub.paragraphs.append(
            f"Wording and licence: {spec.licence} Key file: {Path(instrument.source).name}."
        )
        sub.bullets = list(spec.sources)
        section.subsections.append(sub)
    section.paragraphs.append(
        "Paired t tests and Wilcoxon signed-rank tests (scipy); Cohen's d_z with exact CIs from the"
        " noncentral t; Hedges' g_av (Lakens 2013) with the matched-groups variance of Borenstein et"
        " al. (2009); Cronbach's alpha with Feldt's CI; Kruskal-Wallis across cohorts; power from the"
        " noncentral t. Each learner's score counts once per wave."
    )
    return section


STAGE_TITLES = {
    "seen": "Learners seen",
    "answered-before": "Answered {before}",
    "answered-after": "Answered {after}",
    "both-waves": "Answered both waves",
    "scored": "Scored at both waves (analysed)",
}


def _withheld_count(value: object, min_group: int) -> str:
    return f"fewer than {min_group}" if _n(value) is None else count(value)


def _attrition_section(ev: Evaluation, names: _Names) -> Section:
    section = Section("attrition", "Attrition: who was seen, who answered, who was analysed")
    if ev.attrition.empty:
        section.paragraphs.append("No instrument has answers at two waves yet.")
        return section
    before, after = ev.waves[0], ev.waves[1]
    for instrument_id, part in ev.attrition.groupby("instrument", sort=False):
        boxes, rows = [], []
        for stage, steps in part.groupby("stage", sort=False):
            title = STAGE_TITLES[str(stage)].format(before=before, after=after)
            n = _withheld_count(steps["n"].iloc[0], ev.min_group)
            reasons = [
                f"{r.reason}: {_withheld_count(r.count, ev.min_group)}"
                for r in steps.itertuples(index=False)
            ]
            boxes.append((title, n, reasons))
            for r in steps.itertuples(index=False):
                rows.append(
                    Row([title], [n, str(r.reason), _withheld_count(r.count, ev.min_group)])
                )
        label = names.instrument(str(instrument_id))
        section.flow.append(Flow(f"{label}: flow of learners, {before} to {after}", boxes))
        section.tables.append(
            Table(
                f"{label}: learners at each stage, with the reasons for each step",
                ["Stage", "Learners", "Reason", "Learners for this reason"],
                rows,
            )
        )
    if not ev.baseline.empty:
        rows = []
        for r in ev.baseline.itertuples(index=False):
            heads = [names.scale(r.instrument, r.scale)]
            cells = None
            if not r.suppressed:
                cells = [
                    count(r.n_completers),
                    f"{num(r.mean_completers)} ({num(r.sd_completers)})",
                    count(r.n_others),
                    f"{num(r.mean_others)} ({num(r.sd_others)})",
                    interval(r.difference, r.difference_low, r.difference_high),
                    pvalue(r.p_welch),
                ]
            rows.append(Row(heads, cells, _n(min(r.n_completers, r.n_others))))
        section.tables.append(
            Table(
                f"Completers against non-completers at {before}: baseline scores",
                [
                    "Scale",
                    "Completers",
                    "Mean (SD)",
                    "Not completing",
                    "Mean (SD)",
                    "Difference (95% CI, Welch)",
                    "p",
                ],
                rows,
            )
        )
        section.paragraphs.append(
            "If the learners who dropped out started with different scores, the change among"
            " completers may not hold for everyone: the last table compares them at baseline."
        )
    section.paragraphs.append(
        f"Counts of fewer than {ev.min_group} learners are withheld. A form is not scored when it"
        " has more missing answers than the instrument's missing-data rule allows."
    )
    return section


def _design_section(ev: Evaluation) -> Section:
    section = Section("design", "What this design can and cannot show")
    controlled = not ev.comparison.empty
    section.paragraphs.append(
        "A single group measured before and after the teaching shows how much scores changed, not"
        " that the teaching changed them. Three things can produce change without any effect of"
        " the teaching:"
    )
    section.bullets = [
        "No control group: time, the rest of the curriculum and clinical placements move scores"
        " too, and a single group cannot separate them from the teaching.",
        "Regression to the mean: learners who scored low at baseline tend to score higher next"
        " time by chance alone, especially when the teaching was offered to those who scored low.",
        "Response shift: after teaching about empathy, learners may judge themselves by a"
        " stricter standard, which can hide a real gain (or produce an apparent one).",
    ]
    section.paragraphs.append(
        "What would show it: a comparison cohort that does not (yet) receive the teaching,"
        " ideally by random or waiting-list allocation, analysed with later scores adjusted for"
        " baseline (ANCOVA); a then-test (learners re-rate their baseline afterwards) for response"
        " shift; and an outcome that is not self-report, such as coded written replies or"
        " patient-rated CARE."
        + (
            " This report includes a controlled comparison (below), declared in the evaluation"
            " file; unless cohorts were randomised, it is still open to differences between them."
            if controlled
            else ""
        )
    )
    return section


def _comparison_headlines(ev: Evaluation, names: _Names) -> list[str]:
    if ev.comparison.empty or not ev.design.comparison:
        return []
    primary = ev.design.comparison.get("primary", "ancova")
    lines = []
    for r in ev.comparison.itertuples(index=False):
        label = names.scale(r.instrument, r.scale)
        if r.suppressed:
            lines.append(
                f"{label}, {r.intervention} against {r.comparison}: withheld (a cohort has fewer"
                f" than {ev.min_group} learners)."
            )
        elif primary == "ancova":
            lines.append(
                f"{label}, {r.intervention} against {r.comparison} at {r.after}, adjusted for"
                f" {r.before} (ANCOVA, declared primary): difference"
                f" {interval(r.adjusted, r.adjusted_low, r.adjusted_high)} points, p"
                f" {pvalue(r.p_ancova)}; Hedges' g {interval(r.g, r.g_low, r.g_high)}."
            )
        else:
            lines.append(
                f"{label}, {r.intervention} against {r.comparison} at {r.after} (Welch t,"
                f" declared primary): difference {interval(r.difference, r.difference_low, r.difference_high)}"
                f" points, p {pvalue(r.p_welch)}; Hedges' g {interval(r.g, r.g_low, r.g_high)}."
            )
    return lines


def _comparison_section(ev: Evaluation, names: _Names) -> Section | None:
    spec = ev.design.comparison
    if not spec:
        return None
    section = Section("comparison", "Controlled comparison")
    section.paragraphs.append(
        f"Declared in the evaluation file before analysis: learners whose {spec['attribute']} is"
        f" “{spec['intervention']}” (intervention) against “{spec['comparison']}” (comparison),"
        f" among learners scored at both waves. Primary analysis:"
        f" {'ANCOVA of later scores adjusted for baseline' if spec['primary'] == 'ancova' else 'Welch t on later scores'}."
    )
    if ev.comparison.empty:
        section.paragraphs.append("No learner of either cohort was scored at both waves.")
        return section
    rows = []
    for r in ev.comparison.itertuples(index=False):
        cells = None
        if not r.suppressed:
            cells = [
                f"{count(r.n_intervention)} / {count(r.n_comparison)}",
                f"{num(r.mean_intervention)} ({num(r.sd_intervention)})",
                f"{num(r.mean_comparison)} ({num(r.sd_comparison)})",
                f"{interval(r.difference, r.difference_low, r.difference_high)}; t"
                f" {num(r.welch_t)} (df {num(r.welch_df, 1)}), p {pvalue(r.p_welch)}",
                interval(r.g, r.g_low, r.g_high),
                f"{interval(r.adjusted, r.adjusted_low, r.adjusted_high)}; p {pvalue(r.p_ancova)}",
            ]
        n = None if r.suppressed else min(_n(r.n_intervention) or 0, _n(r.n_comparison) or 0)
        rows.append(Row([names.scale(r.instrument, r.scale), f"{r.after}"], cells, n))
    section.tables.append(
        Table(
            "Intervention against comparison cohort at the later wave",
            [
                "Scale",
                "Wave",
                "n (intervention / comparison)",
                "Intervention mean (SD)",
                "Comparison mean (SD)",
                "Difference (95% CI), Welch t",
                "Hedges' g (95% CI)",
                "ANCOVA difference adjusted for baseline (95% CI)",
            ],
            rows,
            heads=2,
        )
    )
    section.paragraphs.append(
        "Welch's t does not assume equal variances. Hedges' g uses the pooled SD with the"
        " small-sample correction and a large-sample CI. The ANCOVA is ordinary least squares of"
        " the later score on cohort and baseline score; its difference is the one to quote when"
        " the cohorts started at different levels."
    )
    return section


def _behaviour_headlines(ev: Evaluation) -> list[str]:
    if ev.behaviour_pairs.empty:
        return []
    lines = []
    for r in ev.behaviour_pairs.itertuples(index=False):
        if r.suppressed:
            continue
        scale = 100 if r.measure == "space" else 1
        unit = " percentage points" if r.measure == "space" else ""
        lines.append(
            f"Coded written replies, {r.label} (same learners before and after, n ="
            f" {count(r.n)}): {num(r.mean_before * scale)} → {num(r.mean_after * scale)}, change"
            f" {interval(r.change * scale, r.change_low * scale, r.change_high * scale)}{unit}."
        )
    return lines


def _behaviour_section(ev: Evaluation) -> Section | None:
    if ev.design.coded is None:
        return None
    section = Section("behaviour", "Written replies, coded (a behavioural outcome)")
    if ev.behaviour.empty:
        section.paragraphs.append("No coded replies were found for the declared exercises.")
        return section
    rows = []
    for r in ev.behaviour.itertuples(index=False):
        cells = None
        if not r.suppressed:
            cells = [
                count(r.learners),
                count(r.replies),
                f"{count(r.space_yes)} / {count(r.space_no)} / {count(r.space_unsure)}",
                interval(100 * r.space_share, 100 * r.space_share_low, 100 * r.space_share_high),
                interval(r.nurse_per_reply, r.nurse_per_reply_low, r.nurse_per_reply_high),
            ]
        rows.append(Row([str(r.phase)], cells, _n(r.learners)))
    section.tables.append(
        Table(
            "Coded replies per phase",
            [
                "Phase",
                "Learners",
                "Replies",
                "Provides space: yes / no / unsure",
                "% providing space (95% CI, Wilson; unsure left out)",
                "NURSE codes per reply (95% CI)",
            ],
            rows,
        )
    )
    rows = []
    for r in ev.behaviour_pairs.itertuples(index=False):
        cells = None
        if not r.suppressed:
            scale = 100 if r.measure == "space" else 1
            cells = [
                count(r.n),
                f"{num(r.mean_before * scale)} → {num(r.mean_after * scale)}",
                interval(r.change * scale, r.change_low * scale, r.change_high * scale),
                f"{num(r.t)} ({count(r.df)}); {pvalue(r.p_t)}",
                interval(r.dz, r.dz_low, r.dz_high),
            ]
        rows.append(Row([str(r.label)], cells, _n(r.n)))
    if rows:
        section.tables.append(
            Table(
                "The same learners before and after (per-learner share and mean, paired t)",
                ["Measure", "n", "Before → after", "Change (95% CI)", "t (df); p", "d_z (95% CI)"],
                rows,
            )
        )
    accuracy = ev.design.coder_accuracy
    versions = ", ".join(ev.coder_versions) or "not recorded"
    section.paragraphs.append(
        "Each reply was coded by the courseware's reply coder (model version"
        f" {versions}). A reply provides space when it has at least one NURSE code and no blocking"
        " code; codes the coder was unsure of never count, and a reply whose provision of space it"
        " could not call is counted as unsure, not as no."
    )
    if accuracy:
        section.paragraphs.append(
            f"The coder's measured accuracy: macro-F1 {num(accuracy['macro_f1'])} on held-out"
            f" statements ({accuracy['source']}"
            + (f", model {accuracy['model_version']}" if accuracy.get("model_version") else "")
            + "). This figure is declared in the evaluation file, not measured by this report."
        )
    else:
        section.paragraphs.append(
            "The coder's accuracy was not declared in the evaluation file"
            " (coded_replies.coder_accuracy): read these figures with that in mind."
        )
    return section


def build_sections(evaluation: Evaluation) -> list[Section]:
    """The report's sections in order (the dashboard shows the same ones)."""
    names = _Names(evaluation)
    sections = [
        _summary_section(evaluation, names),
        _design_section(evaluation),
        _attrition_section(evaluation, names),
        _completion_section(evaluation, names),
        _scores_section(evaluation, names),
        _changes_section(evaluation, names),
        _comparison_section(evaluation, names),
        _behaviour_section(evaluation),
        _reliability_section(evaluation, names),
        _cohorts_section(evaluation, names),
        _levels_section(evaluation),
        _problems_section(evaluation),
        _methods_section(evaluation),
    ]
    return [s for s in sections if s is not None]


_ENV = Environment(
    loader=PackageLoader("courseware.analytics", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_section(section: Section, evaluation: Evaluation, *, level: int = 2) -> str:
    """One section as an HTML fragment (for the dashboard), its heading at ``level``."""
    macros = _ENV.get_template("sections.html.j2").module
    return str(macros.section(section, level, FEWER.format(n=evaluation.min_group)))  # type: ignore[attr-defined]


def render_report(evaluation: Evaluation) -> str:
    """The whole report as one self-contained HTML page."""
    return _ENV.get_template("report.html.j2").render(
        ev=evaluation,
        sections=build_sections(evaluation),
        withheld=FEWER.format(n=evaluation.min_group),
        generated=_dt.date.today().isoformat(),
        version=__version__,
    )


def save_report(evaluation: Evaluation, out: str | Path) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(evaluation), encoding="utf-8")
    return path


def _summary_outcomes(ev: Evaluation, names: _Names) -> list[str]:
    outcomes = []
    first_later = ev.waves[1] if len(ev.waves) > 1 else None
    for instrument_id in ev.instruments:
        for scale in headline_scale_ids(ev.instruments[instrument_id]):
            rows = ev.changes.loc[
                ev.changes["instrument"].eq(instrument_id)
                & ev.changes["scale"].eq(scale)
                & ev.changes["after"].eq(first_later)
            ]
            if rows.empty or rows.iloc[0]["suppressed"]:
                continue
            r = rows.iloc[0]
            outcomes.append(
                f"{names.scale(instrument_id, scale)} ({r['before']} to {r['after']}, n ="
                f" {count(r['n'])}): Hedges' g_av"
                f" {interval(r['g_av'], r['g_av_low'], r['g_av_high'])}; mean change"
                f" {interval(r['change'], r['change_low'], r['change_high'])} points."
            )
    return outcomes + _comparison_headlines(ev, names) + _behaviour_headlines(ev)


def _summary_caveats(ev: Evaluation) -> list[str]:
    caveats = []
    if ev.comparison.empty:
        caveats.append(
            "Single group, before and after: with no comparison group, the change cannot be"
            " attributed to the teaching (time, other teaching, regression to the mean and"
            " response shift can all move scores)."
        )
    else:
        caveats.append(
            "The comparison cohorts were not necessarily randomised: differences between them other"
            " than the teaching may remain after adjusting for baseline."
        )
    analysed = ev.attrition.loc[ev.attrition["stage"].eq("scored"), ["instrument", "n"]]
    for r in analysed.drop_duplicates("instrument").itertuples(index=False):
        if not math.isnan(ev.learners_seen) and _n(r.n) is not None:
            caveats.append(
                f"{ev.instruments[str(r.instrument)].spec.short_title}: {count(r.n)} of"
                f" {count(ev.learners_seen)} learners seen were analysed at both waves; those who"
                " left may differ (the report compares them at baseline)."
            )
    caveats.append(
        "Questionnaire outcomes are self-report"
        + (
            "; the coded written replies are a behavioural outcome, coded automatically"
            + (
                f" (declared macro-F1 {num(ev.design.coder_accuracy['macro_f1'])})"
                if ev.design.coder_accuracy
                else " (accuracy not declared)"
            )
            + "."
            if not ev.behaviour.empty
            else "."
        )
    )
    return caveats


def render_summary(evaluation: Evaluation) -> str:
    """A one-page HTML summary for a funding bid: programme, reach, headline outcomes, caveats."""
    names = _Names(evaluation)
    programme = evaluation.design.programme
    hours = programme.get("hours")
    reach = {
        "learners": "fewer than " + str(evaluation.min_group)
        if math.isnan(evaluation.learners_seen)
        else count(evaluation.learners_seen),
        "modules": DASH if programme.get("modules") is None else str(programme["modules"]),
        "hours": DASH if hours is None else f"{float(hours):g}",
    }
    return _ENV.get_template("summary.html.j2").render(
        ev=evaluation,
        programme=programme,
        reach=reach,
        outcomes=_summary_outcomes(evaluation, names),
        caveats=_summary_caveats(evaluation),
        generated=_dt.date.today().isoformat(),
        version=__version__,
    )


def save_summary(evaluation: Evaluation, out: str | Path) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_summary(evaluation), encoding="utf-8")
    return path
