"""The parts a report is built of (sections, tables, charts, flows) and how a number is shown.

Plain data for the Jinja2 templates and the dashboard; every figure goes through :func:`num`,
:func:`count`, :func:`pvalue` or :func:`interval`, so a missing or withheld figure reads the same
everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..instruments import TOTAL
from ._analysis import Evaluation

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


def n_or_none(value: object) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)  # type: ignore[call-overload]


class ScaleNames:
    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation

    def instrument(self, instrument_id: str) -> str:
        return self.evaluation.instruments[instrument_id].spec.short_title

    def scale(self, instrument_id: str, scale_id: str) -> str:
        instrument = self.evaluation.instruments[instrument_id]
        title = instrument.scale(scale_id).title
        return f"{instrument.spec.short_title} {title.lower() if scale_id == TOTAL else title}"
