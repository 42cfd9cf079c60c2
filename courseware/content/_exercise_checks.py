"""``courseware check`` for exercises: notebook calls name real exercises with valid options, and a
questionnaire agrees with the scoring key of the same instrument (when the project ships one)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from ._errors import ContentError, Problem
from ._exercises import EXERCISE_OPTIONS, LikertSpec, load_exercise
from ._module import ModuleContent
from ._yaml import read_yaml

KEYS_DIR = Path(__file__).resolve().parent.parent / "instruments" / "keys"
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")


def check_exercise_calls(
    tree: ast.AST, module: ModuleContent, name: str, line: int, index: int
) -> list[Problem]:
    """``module.exercise("id", wave="post")``: the id exists and each option suits its type."""
    problems = []

    def report(message: str) -> None:
        problems.append(Problem(name, line, f"cell {index + 1}: {message}"))

    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "exercise"
        ):
            continue
        first = node.args[0] if node.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            report('give the exercise id as a quoted string, e.g. module.exercise("my-id")')
            continue
        spec = module.exercises.get(first.value)
        if spec is None:
            known = ", ".join(module.exercises) or "none"
            report(f"module {module.id!r} has no exercise {first.value!r} (it has: {known})")
            continue
        allowed = EXERCISE_OPTIONS.get(spec.kind, frozenset())
        if len(node.args) > 1:
            report(f'exercise {spec.id!r} takes its options by name, e.g. wave="post"')
        for keyword in node.keywords:
            if keyword.arg not in allowed:
                report(
                    f"exercise {spec.id!r} ({spec.kind}) takes no option {keyword.arg!r}"
                    f" (options: {', '.join(sorted(allowed)) or 'none'})"
                )
            elif keyword.arg == "wave" and not (
                isinstance(keyword.value, ast.Constant)
                and isinstance(keyword.value.value, str)
                and _SLUG.match(keyword.value.value)
            ):
                report('wave must be a short quoted name such as "pre" or "post"')
    return problems


def _key_items(data: dict[str, Any]) -> list[str]:
    items = data.get("items")
    if isinstance(items, int):
        return [str(i) for i in range(1, items + 1)]
    if isinstance(items, list):
        return [str(i.get("id")) for i in items if isinstance(i, dict)]
    return []


def check_instrument_link(path: Path, keys: Path = KEYS_DIR) -> list[Problem]:
    """A questionnaire exercise must match the shipped scoring key of its instrument, if any:
    the same item ids, the same response range, the same reverse-keyed items."""
    spec = load_exercise(path)
    key_file = keys / f"{spec.instrument}.yaml" if isinstance(spec, LikertSpec) else None
    if not isinstance(spec, LikertSpec) or key_file is None or not key_file.is_file():
        return []
    try:
        key = read_yaml(key_file).data
    except ContentError:
        return []  # the key's own check reports it
    doc = read_yaml(path)
    problems = []
    key_items = _key_items(key)
    ours = [item.id for item in spec.items]
    if key_items and sorted(ours) != sorted(key_items):
        problems.append(
            doc.problem(
                ["items"],
                f"the scoring key {spec.instrument!r} has items {', '.join(key_items)}; this "
                f"questionnaire has {', '.join(ours)}",
            )
        )
    response = key.get("response") if isinstance(key.get("response"), dict) else {}
    low, high = response.get("min"), response.get("max")
    if (low, high) != (spec.response.min, spec.response.max):
        problems.append(
            doc.problem(
                ["response"],
                f"the scoring key {spec.instrument!r} scores answers {low} to {high}; this "
                f"questionnaire offers {spec.response.min} to {spec.response.max}",
            )
        )
    reverse = sorted(str(r) for r in key.get("reverse") or [])
    ours_reverse = sorted(item.id for item in spec.items if item.reverse)
    if reverse != ours_reverse:
        problems.append(
            doc.problem(
                ["items"],
                f"reverse-keyed items differ from the scoring key {spec.instrument!r} "
                f"(key: {', '.join(reverse) or 'none'}; here: {', '.join(ours_reverse) or 'none'})",
            )
        )
    return problems
