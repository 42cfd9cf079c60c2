"""The order options are shown in: shuffled per learner and item, stable, unless the author pins it.

A learner must not be able to score by position, so every place that lists options to choose from
(vignette choices, response-choice exercises, self-check questions, assessed items, seminar polls)
asks :func:`display_order` for the order to show them in. The order comes from a hash of the
learner (or seminar session) and the item, so it is the same on every reload, replay and restart
and needs nothing stored. Answers are always recorded by the option's index *in the file*; the
order only maps a position on the screen to that index, so grading and analytics never see it.

An author pins the written order with ``order: fixed`` and must say why in ``order_reason``
(for example, options that are a scale from least to most). Every model with options to choose
from takes both fields, and the rule, from :class:`Ordered`.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from ._schema import Data, FieldError

OrderField = Literal["shuffled", "fixed"]
"""How an author's options are ordered for the learner: ``shuffled`` (the default) or ``fixed``."""

T = TypeVar("T")


def check_order(order: str, reason: str | None) -> None:
    """``order: fixed`` needs a stated ``order_reason`` (why position cannot give the answer away)."""
    if order == "fixed" and not (reason or "").strip():
        raise FieldError(
            "order",
            "order: fixed needs an order_reason saying why the written order must be kept "
            "(otherwise leave the options to be shuffled for each learner)",
        )
    if order != "fixed" and reason:
        raise FieldError("order_reason", "order_reason is only used with order: fixed")


@dataclass(frozen=True, kw_only=True)
class Ordered(Data):
    """A model whose options are shown shuffled for each learner unless the author writes
    ``order: fixed`` with an ``order_reason`` (checked by :func:`check_order`)."""

    order: OrderField = "shuffled"
    order_reason: str | None = None

    def __post_init__(self) -> None:
        check_order(self.order, self.order_reason)


def display_order(count: int, *seed: str, fixed: bool = False) -> list[int]:
    """The file indices ``0..count-1`` in the order to show them, for this ``seed``.

    ``seed`` names who sees the options and which item they belong to (learner, module, item);
    the same seed always gives the same order. ``fixed`` keeps the written order.
    """
    order = list(range(count))
    if fixed or count < 2:
        return order
    key = hashlib.sha256("\0".join(("courseware-order-v1", *seed)).encode("utf-8")).digest()
    random.Random(key).shuffle(order)
    return order


def in_order(items: Sequence[T], order: Sequence[int]) -> list[T]:
    """``items`` rearranged into ``order`` (file indices, as :func:`display_order` returns)."""
    return [items[i] for i in order]
