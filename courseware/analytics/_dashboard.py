"""The evaluation lead's Voila dashboard: the report's sections as tabs, from the same code.

``dashboards/evaluation.ipynb`` is one call to :func:`dashboard`; the evaluation file comes from the
argument or ``$COURSEWARE_EVALUATION``.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from ._evaluate import CONFIG_ENV, evaluate, load_config
from ._report import build_sections, render_section

DASHBOARD_CSS = """
<style>
.cw-eval table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.85rem; }
.cw-eval caption { text-align: left; font-weight: bold; padding-bottom: 0.3rem; }
.cw-eval th, .cw-eval td { border: 1px solid #999; padding: 0.2rem 0.4rem; text-align: left; }
.cw-eval thead th { background: #e8eef6; }
.cw-eval img { max-width: 100%; height: auto; }
.cw-eval tr.withheld td { font-style: italic; }
</style>
"""


def dashboard(config: str | Path | None = None) -> Any:
    """An ipywidgets view of the evaluation: a heading, then one tab per report section."""
    import ipywidgets as widgets

    where = config if config is not None else os.environ.get(CONFIG_ENV, "").strip()
    if not where:
        return widgets.HTML(
            "<p>No evaluation file: set <code>COURSEWARE_EVALUATION</code> to its path"
            " (see docs/evaluation.md).</p>"
        )
    evaluation = evaluate(load_config(where))
    sections = build_sections(evaluation)
    heading = widgets.HTML(
        f"{DASHBOARD_CSS}<h2>{html.escape(evaluation.title)}</h2><p>Learners are pseudonymous;"
        f" groups of fewer than {evaluation.min_group} learners are not shown.</p>"
    )
    tabs = widgets.Tab(
        children=[
            widgets.HTML(f'<div class="cw-eval">{render_section(s, evaluation, level=3)}</div>')
            for s in sections
        ],
        titles=[s.title for s in sections],
    )
    return widgets.VBox([heading, tabs])
