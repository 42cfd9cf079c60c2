"""Conditions an author writes on choices, routes and text variants, as short readable strings.

``"rapport >= 2"`` (a counter compared with a whole number), ``"visited brother-story"`` and
``"not visited brother-story"``. A list of them must all hold. Authors never write Python, and a
condition that cannot be read is reported at its line like any other field.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Annotated, Literal

from ._schema import Before, Data

OPS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_COUNTER = re.compile(r"^\s*([a-z0-9]+(?:[-_][a-z0-9]+)*)\s*(>=|<=|==|!=|=|>|<)\s*([+-]?\d+)\s*$")
_VISITED = re.compile(r"^\s*(not\s+)?visited\s+([A-Za-z0-9_-]+)\s*$")


@dataclass(frozen=True, kw_only=True)
class Condition(Data):
    """One test on the walk's state; written in a file as a string (see the module docstring)."""

    kind: Literal["counter", "visited", "not-visited"]
    counter: str = ""
    op: str = ""
    value: int = 0
    node: str = ""

    def holds(self, counters: Mapping[str, int], visited: Set[str]) -> bool:
        if self.kind == "counter":
            return OPS[self.op](counters[self.counter], self.value)
        return (self.node in visited) == (self.kind == "visited")

    def __str__(self) -> str:
        if self.kind == "counter":
            return f"{self.counter} {self.op} {self.value}"
        return f"{'not ' if self.kind == 'not-visited' else ''}visited {self.node}"


def parse_condition(text: object) -> object:
    """Turn ``"rapport >= 2"`` into a :class:`Condition`; anything else is a clear error."""
    if not isinstance(text, str):
        return text  # a mapping written out in full, or a wrong type pydantic will report
    found = _COUNTER.match(text)
    if found:
        name, op, number = found.groups()
        return {
            "kind": "counter",
            "counter": name,
            "op": "==" if op == "=" else op,
            "value": number,
        }
    found = _VISITED.match(text)
    if found:
        negated, node = found.groups()
        return {"kind": "not-visited" if negated else "visited", "node": node}
    raise ValueError(
        f"cannot read the condition {text!r}: write 'COUNTER >= NUMBER' (or >, <=, <, ==, !=), "
        "'visited NODE' or 'not visited NODE'"
    )


def _as_list(value: object) -> object:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


ConditionField = Annotated[Condition, Before(parse_condition)]
When = Annotated[list[ConditionField], Before(_as_list)]
"""One condition or a list of them (all must hold); empty means always."""


def all_hold(conditions: list[Condition], counters: Mapping[str, int], visited: Set[str]) -> bool:
    return all(c.holds(counters, visited) for c in conditions)


def describe_all(conditions: list[Condition]) -> str:
    return " and ".join(f"'{c}'" for c in conditions)
