"""The report's outcome sections: summary, completion, scores, changes, reliability, cohorts, levels."""

from __future__ import annotations

import math

from . import _plots
from ._analysis import META_ANALYTIC_SMD, Evaluation
from ._report_parts import (
    ALPHA_SIGN,
    DASH,
    Chart,
    Row,
    ScaleNames,
    Section,
    Table,
    count,
    interval,
    n_or_none,
    num,
    pvalue,
)
from ._report_study import behaviour_headlines, comparison_headlines
from ._stats import pairs_needed
from ._tables import NOT_RECORDED


def summary_section(ev: Evaluation, names: ScaleNames) -> Section:
    section = Section("summary", "Summary")
    needed = ev.pairs_for_meta_effect
    for instrument_id, scale, r in ev.headline_changes():
        label = names.scale(instrument_id, scale)
        if r["suppressed"]:
            section.bullets.append(
                f"{label}: fewer than {ev.min_group} learners answered both {r['before']} and"
                f" {r['after']}, so no result is shown."
            )
            continue
        direction = "rose" if r["change"] > 0 else "fell" if r["change"] < 0 else "did not change"
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
    section.bullets.extend(comparison_headlines(ev, names) + behaviour_headlines(ev))
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


def completion_section(ev: Evaluation, names: ScaleNames) -> Section:
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
        rows.append(Row(heads, cells, n_or_none(r.scored)))
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


def scores_section(ev: Evaluation) -> Section:
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
                n_or_none(r.n),
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


def changes_section(ev: Evaluation, names: ScaleNames) -> Section:
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
        rows.append(Row(heads, cells, n_or_none(r.n)))
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


def reliability_section(ev: Evaluation, names: ScaleNames) -> Section:
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
            n_or_none(r.n),
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


def cohorts_section(ev: Evaluation, names: ScaleNames) -> Section:
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
                n_or_none(r.n),
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


def levels_section(ev: Evaluation) -> Section:
    section = Section("reflection", "Reflective writing (REFLECT levels)")
    if ev.levels is None:
        section.paragraphs.append("No marking data was given.")
        return section
    rows = [
        Row(
            [r.level.capitalize()],
            None if r.suppressed else [count(r.n), num(r.percent, 1)],
            n_or_none(r.n),
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
