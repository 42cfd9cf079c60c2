"""The evaluation as HTML: one self-contained page for funders, the same sections for the dashboard.

Tables and charts are built from the suppressed tables of an :class:`Evaluation` only; a withheld
row says so instead of showing numbers. Every chart has alt text and the table behind it. Jinja2
escapes everything that comes from data (file names, column names, cell text in problem messages).
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from .. import __version__
from ._analysis import Evaluation
from ._report_outcomes import (
    changes_section,
    cohorts_section,
    completion_section,
    levels_section,
    reliability_section,
    scores_section,
    summary_section,
)
from ._report_parts import DASH, FEWER, ScaleNames, Section, count, interval, n_or_none, num
from ._report_study import (
    attrition_section,
    behaviour_headlines,
    behaviour_section,
    comparison_headlines,
    comparison_section,
    design_section,
    methods_section,
    problems_section,
)


def build_sections(evaluation: Evaluation) -> list[Section]:
    """The report's sections in order (the dashboard shows the same ones)."""
    names = ScaleNames(evaluation)
    sections = [
        summary_section(evaluation, names),
        design_section(evaluation),
        attrition_section(evaluation, names),
        completion_section(evaluation, names),
        scores_section(evaluation),
        changes_section(evaluation, names),
        comparison_section(evaluation, names),
        behaviour_section(evaluation),
        reliability_section(evaluation, names),
        cohorts_section(evaluation, names),
        levels_section(evaluation),
        problems_section(evaluation),
        methods_section(evaluation),
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


def _write_page(html: str, out: str | Path) -> Path:
    """Write a rendered page to ``out`` (its folder made if need be) and return where it went."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def save_report(evaluation: Evaluation, out: str | Path) -> Path:
    """Write :func:`render_report`'s page to ``out``."""
    return _write_page(render_report(evaluation), out)


def _summary_outcomes(ev: Evaluation, names: ScaleNames) -> list[str]:
    outcomes = []
    for instrument_id, scale, r in ev.headline_changes():
        if r["suppressed"]:
            continue
        outcomes.append(
            f"{names.scale(instrument_id, scale)} ({r['before']} to {r['after']}, n ="
            f" {count(r['n'])}): Hedges' g_av"
            f" {interval(r['g_av'], r['g_av_low'], r['g_av_high'])}; mean change"
            f" {interval(r['change'], r['change_low'], r['change_high'])} points."
        )
    return outcomes + comparison_headlines(ev, names) + behaviour_headlines(ev)


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
        if not math.isnan(ev.learners_seen) and n_or_none(r.n) is not None:
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
    names = ScaleNames(evaluation)
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
    """Write :func:`render_summary`'s page to ``out``."""
    return _write_page(render_summary(evaluation), out)
