"""Charts as self-contained SVG data URIs, drawn only from already-suppressed tables.

matplotlib's object API (no pyplot state), SVG with text kept as text (small, crisp in print,
selectable). Every chart comes with alt text written from the same numbers; the report puts the
table behind it beside it.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from scipy import stats

INK = "#1f1f1f"
COLOURS = ["#0b5394", "#b45f06", "#38761d", "#741b47", "#134f5c", "#7f6000"]
STYLE: Any = {  # matplotlib types rcParams keys as literals
    "svg.fonttype": "none",
    "svg.hashsalt": "courseware",
    "font.size": 9,
    "font.family": "DejaVu Sans",
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def to_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _mean_ci(mean: float, sd: float, n: float) -> float:
    if not n or n < 2 or math.isnan(sd):
        return math.nan
    return float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))


def scores_by_wave(summary: pd.DataFrame, titles: dict[str, str], waves: Sequence[str]) -> str:
    """Small multiples: each scale's mean (95 % CI) at each wave."""
    scales = list(dict.fromkeys(summary["scale"]))
    columns = min(len(scales), 4)
    rows = math.ceil(len(scales) / columns)
    with rc_context(STYLE):
        figure = Figure(figsize=(2.3 * columns + 0.6, 2.1 * rows + 0.3))
        axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
        for ax, scale in zip(axes, scales, strict=False):
            part = summary.loc[summary["scale"].eq(scale)].set_index("wave").reindex(list(waves))
            x = np.arange(len(waves))
            errors = [
                _mean_ci(m, s, n)
                for m, s, n in zip(part["mean"], part["sd"], part["n"], strict=True)
            ]
            ax.errorbar(x, part["mean"], yerr=errors, fmt="o-", color=COLOURS[0], capsize=3)
            ax.set_xticks(x, list(waves))
            ax.set_xlim(-0.5, len(waves) - 0.5)
            ax.set_ylim(part["low"].iloc[0], part["high"].iloc[0])
            ax.set_title(titles.get(scale, scale), fontsize=9, wrap=True)
        for ax in axes[len(scales) :]:
            ax.set_visible(False)
        figure.tight_layout()
        return to_data_uri(figure)


def effect_sizes(labels: list[str], dz: pd.DataFrame, reference: float) -> str:
    """A forest plot of Hedges' g_av with 95 % CIs; a dotted line at the meta-analytic SMD (g_av,
    not d_z, is on the scale of the SMDs meta-analyses pool)."""
    n = len(labels)
    with rc_context(STYLE):
        figure = Figure(figsize=(6.4, 0.35 * n + 1.0))
        ax = figure.subplots()
        y = np.arange(n)[::-1]
        est = dz["g_av"].to_numpy(dtype=float)
        lower = est - dz["g_av_low"].to_numpy(dtype=float)
        upper = dz["g_av_high"].to_numpy(dtype=float) - est
        ax.errorbar(est, y, xerr=[lower, upper], fmt="s", color=COLOURS[0], capsize=3)
        ax.axvline(0, color=INK, linewidth=0.8)
        ax.axvline(reference, color=COLOURS[1], linestyle=":", linewidth=1.2)
        ax.set_yticks(y, labels)
        ax.set_xlabel("Hedges' g_av (95% CI)")
        figure.tight_layout()
        return to_data_uri(figure)


def bars(labels: list[str], values: list[float], xlabel: str, limit: float | None = None) -> str:
    """Horizontal bars (completion percentages, REFLECT level counts); NaN bars are left out."""
    with rc_context(STYLE):
        figure = Figure(figsize=(6.4, 0.32 * len(labels) + 0.9))
        ax = figure.subplots()
        y = np.arange(len(labels))[::-1]
        clean = [0.0 if math.isnan(v) else v for v in values]
        ax.barh(y, clean, color=COLOURS[0])
        ax.set_yticks(y, labels)
        ax.set_xlabel(xlabel)
        if limit is not None:
            ax.set_xlim(0, limit)
        figure.tight_layout()
        return to_data_uri(figure)
