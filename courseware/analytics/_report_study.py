"""The report's study sections: design, attrition, the comparison between arms, behaviour, data
checks and methods.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ._analysis import Evaluation
from ._report_parts import (
    DASH,
    Flow,
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


def problems_section(ev: Evaluation) -> Section:
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


def methods_section(ev: Evaluation) -> Section:
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
    return f"fewer than {min_group}" if n_or_none(value) is None else count(value)


def attrition_section(ev: Evaluation, names: ScaleNames) -> Section:
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
            rows.append(Row(heads, cells, n_or_none(min(r.n_completers, r.n_others))))
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


def design_section(ev: Evaluation) -> Section:
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


def comparison_headlines(ev: Evaluation, names: ScaleNames) -> list[str]:
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


def comparison_section(ev: Evaluation, names: ScaleNames) -> Section | None:
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
        n = (
            None
            if r.suppressed
            else min(n_or_none(r.n_intervention) or 0, n_or_none(r.n_comparison) or 0)
        )
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


def behaviour_headlines(ev: Evaluation) -> list[str]:
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


def behaviour_section(ev: Evaluation) -> Section | None:
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
        rows.append(Row([str(r.phase)], cells, n_or_none(r.learners)))
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
        rows.append(Row([str(r.label)], cells, n_or_none(r.n)))
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
