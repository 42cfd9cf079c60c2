"""Agreement between first and second markers: weighted kappa, ICC, and the share within one band.

Weighted kappa comes from scikit-learn and the ICC from pingouin (imported when first used, never in a
learner's kernel; without the ``analytics`` extra, a :class:`GradingError` says to install it). Kappa is computed on bands (ordinal, quadratic weights, every band of the rubric a
category); the ICC as ICC(A,1): two-way, absolute agreement, single marker, on total marks for a
rubric by points and on the grades' ranks for a rubric by level (REFLECT: habitual action 0 to
critical reflection with transformative learning 4), whose bands are its grades, so both
statistics are computed on the ordinal levels, never on the points a level is mapped to.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

from ._course import GradingError
from ._marking import MarkingBook
from ._rubric import Rubric


@dataclass(frozen=True)
class Agreement:
    pairs: int
    weighted_kappa: float | None
    icc: float | None
    icc_ci95: tuple[float, float] | None
    same_band: float | None
    within_one_band: float | None
    mean_difference: float | None
    on: str = "bands"  # "levels" for a rubric by level

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        def fmt(v: float | None, pct: bool = False) -> str:
            if v is None:
                return "n/a"
            return f"{v:.0%}" if pct else f"{v:.3f}"

        ci = f" (95% CI {self.icc_ci95[0]:.2f} to {self.icc_ci95[1]:.2f})" if self.icc_ci95 else ""
        unit = "level" if self.on == "levels" else "band"
        return [
            f"double-marked scripts: {self.pairs}",
            f"weighted kappa (quadratic, {unit}s): {fmt(self.weighted_kappa)}",
            f"ICC(A,1) on {unit}s: {fmt(self.icc)}{ci}"
            if self.on == "levels"
            else f"ICC(A,1) on totals: {fmt(self.icc)}{ci}",
            f"same {unit}: {fmt(self.same_band, True)}",
            f"within one {unit}: {fmt(self.within_one_band, True)}",
            f"mean difference (second - first, {unit}s): {fmt(self.mean_difference)}"
            if self.on == "levels"
            else f"mean difference (second - first): {fmt(self.mean_difference)}",
        ]


def _missing_extra(package: str) -> GradingError:
    """The statistics come from the ``analytics`` extra: say which to install, not a traceback."""
    return GradingError(
        f"marker agreement (kappa, ICC) needs the analytics extra, and {package} is not"
        " installed: pip install 'courseware[analytics]'"
    )


def weighted_kappa(a: list[int], b: list[int], categories: int) -> float | None:
    """Cohen's kappa with quadratic weights over ``range(categories)`` (None if undefined)."""
    try:
        from sklearn.metrics import cohen_kappa_score
    except ImportError as exc:
        raise _missing_extra("scikit-learn") from exc

    if not a:
        return None
    value = float(cohen_kappa_score(a, b, labels=list(range(categories)), weights="quadratic"))
    return None if value != value else value  # NaN when both raters use one category only


def icc_absolute(
    first: list[float], second: list[float]
) -> tuple[float | None, tuple[float, float] | None]:
    """ICC(A,1) with its 95% CI, via pingouin (None with fewer than three scripts or no variance)."""
    if len(first) < 3:
        return None, None
    import pandas as pd

    try:
        import pingouin as pg
    except ImportError as exc:
        raise _missing_extra("pingouin") from exc

    rows = [
        {"script": i, "marker": role, "mark": mark}
        for i, (x, y) in enumerate(zip(first, second, strict=True))
        for role, mark in (("first", x), ("second", y))
    ]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas deprecation notices from inside pingouin
            table = pg.intraclass_corr(
                pd.DataFrame(rows), targets="script", raters="marker", ratings="mark"
            )
    except (AssertionError, ValueError, ZeroDivisionError):
        return None, None
    names = {"ICC(A,1)", "ICC2"}  # pingouin's name for it changed between releases
    row = table[table["Type"].isin(names)].iloc[0]
    value = float(row["ICC"])
    if value != value:
        return None, None
    low, high = (float(v) for v in row["CI95"])
    return value, (low, high)


def agreement(first: list[float], second: list[float], rubric: Rubric) -> Agreement:
    """Agreement statistics for paired totals (same order); by level, on the grades' ranks."""
    on = "levels" if rubric.by_level else "bands"
    n = len(first)
    if n == 0:
        return Agreement(0, None, None, None, None, None, None, on)
    bands_a = [rubric.band_index(x) for x in first]
    bands_b = [rubric.band_index(y) for y in second]
    kappa = weighted_kappa(bands_a, bands_b, len(rubric.bands))
    if rubric.by_level:
        first, second = [float(a) for a in bands_a], [float(b) for b in bands_b]
    icc, ci = icc_absolute(first, second)
    same = sum(a == b for a, b in zip(bands_a, bands_b, strict=True)) / n
    within = sum(abs(a - b) <= 1 for a, b in zip(bands_a, bands_b, strict=True)) / n
    diff = sum(y - x for x, y in zip(first, second, strict=True)) / n
    return Agreement(n, kappa, icc, ci, same, within, diff, on)


def marker_agreement(book: MarkingBook, assignment: str, rubric: Rubric) -> Agreement:
    from ._marking_rules import mark_total

    marks = book.marks(assignment)
    pairs = [
        (mark_total(rubric, m["first"]), mark_total(rubric, m["second"]))
        for m in marks.values()
        if "first" in m and "second" in m
    ]
    return agreement([p[0] for p in pairs], [p[1] for p in pairs], rubric)
