"""Scoring keys as validated data: items, response range, reverse keys, subscales, missing-data rule.

A key file says how to score an instrument and nothing more: item *wording* of licensed instruments is
never shipped (it comes from a file the institution supplies, see :mod:`._wording`). Everything an
analysis needs is on :class:`Instrument`, which is built only from a key that passed every check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from ..content import ItemId, Slug, Text  # ItemId: ids as strings; YAML's 3 is accepted as "3"
from ..content import Model as _Model


class ResponseScale(_Model):
    """The answers one item allows: whole numbers ``min``..``max``, and maybe "does not apply"."""

    min: int = Field(ge=-10, le=100)
    max: int = Field(ge=-10, le=100)
    anchors: dict[int, Text] = Field(default_factory=dict)
    not_applicable: Text | None = None
    """Label of a "does not apply" option; such answers count as missing (CARE)."""


class Item(_Model):
    """One item: its id and, only for instruments whose wording we may ship, its text."""

    id: ItemId
    text: Text | None = None


class Subscale(_Model):
    """A score made from some of the items."""

    id: Slug
    title: Text
    items: list[ItemId] = Field(min_length=1)
    assignment: Literal["published", "uncertain"] = "published"
    """``uncertain`` when we are not sure which items the authors assign here: check your manual."""
    note: str | None = None
    max_missing: int | None = Field(default=None, ge=0)
    """How many of this subscale's items may be missing (default: the instrument's share, rounded down)."""


class MissingRule(_Model):
    """When a form still gets a score although some items are missing or "does not apply"."""

    max_missing: int = Field(ge=0)
    """At most this many items of the total may be missing; more makes the score invalid."""
    method: Literal["person-mean"] = "person-mean"
    """Missing items take the mean of the respondent's other (reverse-scored) items on that scale."""
    source: Literal["published", "project-default"]
    """``published`` when the rule is the instrument authors'; ``project-default`` when it is ours."""
    note: str | None = None


class InstrumentSpec(_Model):
    """The authoring format of a scoring key (``courseware/instruments/keys/*.yaml``)."""

    id: Slug
    title: Text
    short_title: Text
    respondent: Literal["learner", "patient"] = "learner"
    wording: Literal["shipped", "institution-supplied"]
    licence: Text
    response: ResponseScale
    items: int | list[Item]
    reverse: list[ItemId] = Field(default_factory=list)
    total: bool = True
    """Whether a total over all items is reported (IRI and ProQOL report subscales only)."""
    score: Literal["sum", "mean"] = "sum"
    score_range: tuple[float, float] | None = None
    """The range of the total (checked against the items and response range when given)."""
    subscales: list[Subscale] = Field(default_factory=list)
    missing: MissingRule
    sources: list[Text] = Field(default_factory=list)
    notes: str | None = None


@dataclass(frozen=True)
class Scale:
    """Something that gets a score: the total or a subscale, with its items and missing-data limit."""

    id: str
    title: str
    items: tuple[str, ...]
    max_missing: int
    uncertain: bool = False

    def score_range(self, response: ResponseScale, how: str) -> tuple[float, float]:
        if how == "mean":
            return float(response.min), float(response.max)
        return float(response.min * len(self.items)), float(response.max * len(self.items))


TOTAL = "total"


@dataclass(frozen=True)
class Instrument:
    """A checked scoring key. Build it with :func:`load_instrument` or :func:`builtin_instrument`."""

    spec: InstrumentSpec
    source: str = ""

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def response(self) -> ResponseScale:
        return self.spec.response

    @property
    def items(self) -> tuple[str, ...]:
        if isinstance(self.spec.items, int):
            return tuple(str(i) for i in range(1, self.spec.items + 1))
        return tuple(item.id for item in self.spec.items)

    @property
    def reverse(self) -> frozenset[str]:
        return frozenset(self.spec.reverse)

    @property
    def wording_shipped(self) -> bool:
        return self.spec.wording == "shipped"

    def shipped_text(self) -> dict[str, str]:
        """Item wording that ships with the key (only instruments the project wrote itself)."""
        if isinstance(self.spec.items, int):
            return {}
        return {item.id: item.text for item in self.spec.items if item.text}

    @property
    def scales(self) -> tuple[Scale, ...]:
        """The total (when reported) then each subscale, in file order."""
        n = len(self.items)
        rule = self.spec.missing.max_missing
        found: list[Scale] = []
        if self.spec.total:
            found.append(Scale(TOTAL, "Total", self.items, rule))
        for sub in self.spec.subscales:
            limit = sub.max_missing if sub.max_missing is not None else rule * len(sub.items) // n
            found.append(
                Scale(sub.id, sub.title, tuple(sub.items), limit, sub.assignment == "uncertain")
            )
        return tuple(found)

    def scale(self, scale_id: str) -> Scale:
        for scale in self.scales:
            if scale.id == scale_id:
                return scale
        known = ", ".join(s.id for s in self.scales)
        raise KeyError(f"instrument {self.id!r} has no scale {scale_id!r} (it has: {known})")

    def accepts(self, value: float) -> bool:
        """Whether ``value`` is one of the answers an item allows (a whole number in range)."""
        return float(value).is_integer() and self.response.min <= value <= self.response.max
