"""Statistics for a pre/post evaluation, on scipy wherever scipy has the method.

* Paired t test (:func:`scipy.stats.ttest_rel`) and Wilcoxon signed-rank test
  (:func:`scipy.stats.wilcoxon`); Kruskal-Wallis across cohorts (:func:`scipy.stats.kruskal`).
* Cohen's d_z (mean change / SD of change) with an exact confidence interval from the noncentral t
  distribution (:data:`scipy.stats.nct`), inverted with :func:`scipy.optimize.brentq`.
* Hedges' g_av: the mean change over the average of the two waves' variances (Cumming 2012, as in
  Lakens 2013 and pingouin), times Hedges' small-sample correction, so it is on the scale of the
  between-group SMDs that meta-analyses of empathy training pool. Its CI uses the large-sample
  variance of a matched-groups d (Borenstein et al. 2009), which takes the pre/post correlation
  into account.
* Cronbach's alpha with Feldt's F-distribution confidence interval (scipy has no alpha).
* Power: the smallest d_z a paired t test detects with 80 % power for this n, and the n needed for
  a given d_z, both from the noncentral t.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize, stats

if TYPE_CHECKING:
    import pandas as pd

ALPHA = 0.05
POWER = 0.80


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def cronbach_alpha(items: pd.DataFrame, confidence: float = 0.95) -> tuple[Interval, int]:
    """Alpha over the rows with every item answered (listwise), with Feldt's CI; also that n."""
    complete = items.dropna(axis=0, how="any").to_numpy(dtype=float)
    n, k = complete.shape
    if n < 3 or k < 2:
        return Interval(math.nan, math.nan, math.nan), n
    cov = np.cov(complete, rowvar=False, ddof=1)
    total_var = cov.sum()
    if total_var <= 0:
        return Interval(math.nan, math.nan, math.nan), n
    alpha = k / (k - 1) * (1 - np.trace(cov) / total_var)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1 - confidence) / 2
    low = 1 - (1 - alpha) * stats.f.isf(tail, df1, df2)
    high = 1 - (1 - alpha) * stats.f.isf(1 - tail, df1, df2)
    return Interval(float(alpha), float(low), float(high)), n


def _noncentrality_bound(t_obs: float, df: int, target: float) -> float:
    """The noncentrality at which ``t_obs`` sits at the ``target`` quantile of nct(df, ncp)."""

    def gap(ncp: float) -> float:
        return float(stats.nct.cdf(t_obs, df, ncp)) - target

    step = 2.0 + abs(t_obs) * 0.5 / math.sqrt(df)
    low, high = t_obs - step, t_obs + step
    while gap(low) < 0:
        low -= step
    while gap(high) > 0:
        high += step
    return float(optimize.brentq(gap, low, high, xtol=1e-10))


def cohen_dz(diff: np.ndarray, confidence: float = 0.95) -> Interval:
    """d_z = mean / SD of the paired differences, with the exact noncentral-t interval."""
    n = len(diff)
    sd = float(np.std(diff, ddof=1)) if n > 1 else math.nan
    if n < 3 or not sd > 0:
        return Interval(math.nan, math.nan, math.nan)
    dz = float(np.mean(diff)) / sd
    t_obs, df, tail = dz * math.sqrt(n), n - 1, (1 - confidence) / 2
    low = _noncentrality_bound(t_obs, df, 1 - tail) / math.sqrt(n)
    high = _noncentrality_bound(t_obs, df, tail) / math.sqrt(n)
    return Interval(dz, low, high)


def hedges_g_av(before: np.ndarray, after: np.ndarray, confidence: float = 0.95) -> Interval:
    """Hedges' g_av for paired scores (after minus before) with a large-sample interval."""
    n = len(before)
    if n < 3:
        return Interval(math.nan, math.nan, math.nan)
    v1, v2 = float(np.var(before, ddof=1)), float(np.var(after, ddof=1))
    sd_av = math.sqrt((v1 + v2) / 2)
    if not sd_av > 0:
        return Interval(math.nan, math.nan, math.nan)
    d = float(np.mean(after) - np.mean(before)) / sd_av
    correction = 1 - 3 / (4 * (2 * n) - 9)
    r = float(np.corrcoef(before, after)[0, 1]) if v1 > 0 and v2 > 0 else 0.0
    se = math.sqrt((1 / n + d**2 / (2 * n)) * 2 * (1 - r)) * correction
    z = float(stats.norm.isf((1 - confidence) / 2))
    g = d * correction
    return Interval(g, g - z * se, g + z * se)


@dataclass(frozen=True)
class PairedResult:
    """Everything the report says about one before/after comparison."""

    n: int
    mean_before: float
    sd_before: float
    mean_after: float
    sd_after: float
    change: Interval
    sd_change: float
    t: float
    df: int
    p_t: float
    wilcoxon_w: float
    p_wilcoxon: float
    dz: Interval
    g_av: Interval
    detectable_dz: float


def paired(before: np.ndarray, after: np.ndarray) -> PairedResult:
    """Paired t, Wilcoxon, d_z and g_av for one scale between two waves (rows are learners)."""
    before = np.asarray(before, dtype=float)
    after = np.asarray(after, dtype=float)
    diff = after - before
    n = len(diff)
    nan = math.nan
    t = p_t = w = p_w = nan
    change = Interval(float(np.mean(diff)) if n else nan, nan, nan)
    if n >= 2 and np.std(diff) > 0:
        result = stats.ttest_rel(after, before)
        ci = result.confidence_interval(1 - ALPHA)
        t, p_t = float(result.statistic), float(result.pvalue)
        change = Interval(change.estimate, float(ci.low), float(ci.high))
    if n >= 2 and np.any(diff != 0):
        wil = stats.wilcoxon(after, before)
        w, p_w = float(wil.statistic), float(wil.pvalue)
    return PairedResult(
        n=n,
        mean_before=float(np.mean(before)) if n else nan,
        sd_before=float(np.std(before, ddof=1)) if n > 1 else nan,
        mean_after=float(np.mean(after)) if n else nan,
        sd_after=float(np.std(after, ddof=1)) if n > 1 else nan,
        change=change,
        sd_change=float(np.std(diff, ddof=1)) if n > 1 else nan,
        t=t,
        df=n - 1,
        p_t=p_t,
        wilcoxon_w=w,
        p_wilcoxon=p_w,
        dz=cohen_dz(diff),
        g_av=hedges_g_av(before, after),
        detectable_dz=detectable_dz(n),
    )


def paired_power(dz: float, n: int, alpha: float = ALPHA) -> float:
    """Power of a two-sided paired t test to detect ``dz`` with ``n`` pairs."""
    df = n - 1
    crit = float(stats.t.isf(alpha / 2, df))
    ncp = dz * math.sqrt(n)
    power = float(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))
    return 1.0 if math.isnan(power) and ncp > crit else power


def detectable_dz(n: int, power: float = POWER, alpha: float = ALPHA) -> float:
    """The smallest d_z detected with ``power`` by a two-sided paired t test on ``n`` pairs."""
    if n < 3:
        return math.nan

    def gap(d: float) -> float:
        return paired_power(d, n, alpha) - power

    # Start from the normal approximation (the t answer is a little larger); widen if needed.
    guess = (float(stats.norm.isf(alpha / 2)) + float(stats.norm.ppf(power))) / math.sqrt(n)
    low, high = guess * 0.98, guess * 1.25
    if not (gap(low) < 0 < gap(high)):
        low, high = 1e-6, 20.0
    return float(optimize.brentq(gap, low, high, xtol=1e-10))


def pairs_needed(dz: float, power: float = POWER, alpha: float = ALPHA) -> int:
    """The fewest pairs with which a two-sided paired t test detects ``dz`` with ``power``."""
    n = 3
    while paired_power(dz, n, alpha) < power:
        n += 1
    return n


def kruskal(groups: list[np.ndarray]) -> tuple[float, float]:
    """Kruskal-Wallis H and p across groups (nan when it cannot be computed)."""
    usable = [g for g in groups if len(g) > 0]
    if len(usable) < 2:
        return math.nan, math.nan
    try:
        result = stats.kruskal(*usable)
    except ValueError:  # every value identical
        return math.nan, math.nan
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class GroupComparison:
    """An intervention cohort against a comparison cohort, at one scale and two waves.

    ``difference`` and the Welch test compare the later wave's scores (intervention minus
    comparison); ``g`` is Hedges' g on those scores (pooled SD, small-sample correction) with the
    usual large-sample CI (see :func:`hedges_g`), the between-group SMD that meta-analyses pool; ``adjusted`` is the
    ANCOVA difference at the later wave adjusted for the baseline score (ordinary least squares,
    ``after ~ 1 + group + before``), with its t-based CI and p.
    """

    n_intervention: int
    n_comparison: int
    mean_intervention: float
    sd_intervention: float
    mean_comparison: float
    sd_comparison: float
    difference: Interval
    welch_t: float
    welch_df: float
    p_welch: float
    g: Interval
    adjusted: Interval
    ancova_t: float
    ancova_df: int
    p_ancova: float


def hedges_g(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> Interval:
    """Hedges' g of ``a`` minus ``b`` (pooled SD, corrected) with the large-sample SE of a
    standardised difference and a t critical value on n1 + n2 - 2 df (as R's effsize and
    pingouin)."""
    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        return Interval(math.nan, math.nan, math.nan)
    pooled = math.sqrt(
        ((n1 - 1) * np.var(a, ddof=1) + (n2 - 1) * np.var(b, ddof=1)) / (n1 + n2 - 2)
    )
    if not pooled > 0:
        return Interval(math.nan, math.nan, math.nan)
    d = float(np.mean(a) - np.mean(b)) / pooled
    g = d * (1 - 3 / (4 * (n1 + n2) - 9))
    se = math.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2)))
    crit = float(stats.t.isf((1 - confidence) / 2, n1 + n2 - 2))
    return Interval(g, g - crit * se, g + crit * se)


def ancova(
    before: np.ndarray, after: np.ndarray, treated: np.ndarray, confidence: float = 0.95
) -> tuple[Interval, float, int, float]:
    """OLS of ``after`` on an intercept, the group (1 = intervention) and ``before``.

    Returns the adjusted group difference with its CI, its t, the residual df and the p value.
    """
    y = np.asarray(after, dtype=float)
    x = np.column_stack([np.ones(len(y)), np.asarray(treated, dtype=float), before])
    df = len(y) - x.shape[1]
    nan = Interval(math.nan, math.nan, math.nan)
    if df < 1 or np.linalg.matrix_rank(x) < x.shape[1]:
        return nan, math.nan, max(df, 0), math.nan
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ beta
    sigma2 = float(residual @ residual) / df
    se = math.sqrt(sigma2 * float(np.linalg.inv(x.T @ x)[1, 1]))
    if not se > 0:
        return nan, math.nan, df, math.nan
    t = float(beta[1]) / se
    crit = float(stats.t.isf((1 - confidence) / 2, df))
    p = float(2 * stats.t.sf(abs(t), df))
    return Interval(float(beta[1]), beta[1] - crit * se, beta[1] + crit * se), t, df, p


def compare_groups(
    before_i: np.ndarray, after_i: np.ndarray, before_c: np.ndarray, after_c: np.ndarray
) -> GroupComparison:
    """Welch t and Hedges' g on the later wave, and the baseline-adjusted ANCOVA difference."""
    a, b = np.asarray(after_i, dtype=float), np.asarray(after_c, dtype=float)
    nan = math.nan
    t = df = p = nan
    difference = Interval(float(np.mean(a) - np.mean(b)), nan, nan)
    if len(a) >= 2 and len(b) >= 2 and (np.var(a) > 0 or np.var(b) > 0):
        result = stats.ttest_ind(a, b, equal_var=False)
        ci = result.confidence_interval(1 - ALPHA)
        t, p, df = float(result.statistic), float(result.pvalue), float(result.df)
        difference = Interval(difference.estimate, float(ci.low), float(ci.high))
    adjusted, at, adf, ap = ancova(
        np.concatenate([before_i, before_c]),
        np.concatenate([a, b]),
        np.concatenate([np.ones(len(a)), np.zeros(len(b))]),
    )
    return GroupComparison(
        n_intervention=len(a),
        n_comparison=len(b),
        mean_intervention=float(np.mean(a)),
        sd_intervention=float(np.std(a, ddof=1)) if len(a) > 1 else nan,
        mean_comparison=float(np.mean(b)),
        sd_comparison=float(np.std(b, ddof=1)) if len(b) > 1 else nan,
        difference=difference,
        welch_t=t,
        welch_df=df,
        p_welch=p,
        g=hedges_g(a, b),
        adjusted=adjusted,
        ancova_t=at,
        ancova_df=adf,
        p_ancova=ap,
    )


def wilson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """A proportion with Wilson's score interval (good for small n and shares near 0 or 1)."""
    if n == 0:
        return Interval(math.nan, math.nan, math.nan)
    z = float(stats.norm.isf((1 - confidence) / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(p, centre - half, centre + half)


def mean_interval(values: np.ndarray, confidence: float = 0.95) -> Interval:
    """A mean with its t-based CI."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan)
    mean = float(np.mean(values))
    if n < 2:
        return Interval(mean, math.nan, math.nan)
    half = float(stats.t.isf((1 - confidence) / 2, n - 1)) * float(np.std(values, ddof=1))
    half /= math.sqrt(n)
    return Interval(mean, mean - half, mean + half)
