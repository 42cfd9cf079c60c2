"""Warnings about cases that quiz rather than teach: answers a learner can find without reading.

``courseware check`` reports these as warnings (``FILE:LINE: warning: ...``); ``--strict`` fails on
them. Each is a pattern a reviewer found in real content:

* the best option sits in the same written position at most decision points (it matters where
  ``order: fixed`` keeps that position on screen, and it is a habit worth breaking anyway);
* the correct self-check option is the longest one in too many questions;
* a choice in a case where the learner plays the clinician has no technique tag (the debrief then
  cannot say which opportunities were taken or missed);
* such a case has no expert path (``expert: true`` choices from the start to an ending);
* a node's title or text names the technique its choices test ("N: Naming"), giving it away.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ._errors import Problem
from ._exercises import ResponseChoiceSpec
from ._module import MODULE_FILE, ModuleContent
from ._techniques import TECHNIQUES, Technique
from ._vignette import Vignette
from ._yaml import YamlDocument, read_yaml

SAME_POSITION_SHARE = 0.5
"""Warn when the best option is in one written position at more than this share of points."""
LONGEST_CORRECT_SHARE = 0.4
"""Warn when the correct self-check option is the longest in more than this share of questions."""


@dataclass(frozen=True)
class _Point:
    """One place a learner picks an option: where it is written and the best option's position."""

    doc: YamlDocument
    loc: list[str | int]
    best: int


def teaching_warnings(module: ModuleContent) -> list[Problem]:
    """Every teaching warning for one loaded module (its module.yaml, vignettes and exercises)."""
    module_doc = read_yaml(module.directory / MODULE_FILE)
    docs = {
        vignette.id: read_yaml(vignette.source)
        for vignette in module.vignettes.values()
        if vignette.source is not None
    }
    found: list[Problem] = []
    points: list[_Point] = []
    for vignette in module.vignettes.values():
        doc = docs.get(vignette.id)
        if doc is None:
            continue
        found += _case_warnings(vignette, doc)
        for node_id, node in vignette.spec.nodes.items():
            experts = [i for i, c in enumerate(node.choices) if c.expert]
            if len(node.choices) >= 2 and experts:
                points.append(_Point(doc, ["nodes", node_id, "choices", experts[0]], experts[0]))
    for exercise in module.exercises.values():
        if isinstance(exercise, ResponseChoiceSpec):
            best = next(i for i, o in enumerate(exercise.options) if o.best)
            path = module.directory / "exercises" / f"{exercise.id}.yaml"
            if not path.is_file():
                path = path.with_suffix(".yml")
            points.append(_Point(read_yaml(path), ["options", best], best))
    for i, question in enumerate(module.spec.self_check):
        best = question.correct_option
        points.append(_Point(module_doc, ["self_check", i, "options", best], best))
    found += _same_position(points, module_doc)
    found += _longest_correct(module, module_doc)
    return [replace(p, warning=True) for p in found]


def _same_position(points: list[_Point], module_doc: YamlDocument) -> list[Problem]:
    if len(points) < 2:
        return []
    position, count = Counter(p.best for p in points).most_common(1)[0]
    if count <= SAME_POSITION_SHARE * len(points):
        return []
    first = next(p for p in points if p.best == position)
    return [
        first.doc.problem(
            first.loc,
            f"the best option is written in position {position + 1} at {count} of the "
            f"module's {len(points)} decision points (more than half); vary where it is written, "
            "so that no position gives it away where the order is fixed",
        )
    ]


def _longest_correct(module: ModuleContent, doc: YamlDocument) -> list[Problem]:
    questions = module.spec.self_check
    longest = [
        i
        for i, q in enumerate(questions)
        if all(
            len(q.texts[q.correct_option]) > len(o)
            for j, o in enumerate(q.texts)
            if j != q.correct_option
        )
    ]
    if not questions or len(longest) <= LONGEST_CORRECT_SHARE * len(questions):
        return []
    ids = ", ".join(questions[i].id for i in longest)
    return [
        doc.problem(
            ["self_check", longest[0], "options"],
            f"the correct option is the longest in {len(longest)} of {len(questions)} self-check "
            f"questions (more than {LONGEST_CORRECT_SHARE:.0%}: {ids}); make the other options "
            "as long and as plausible",
        )
    ]


def _case_warnings(vignette: Vignette, doc: YamlDocument) -> list[Problem]:
    spec = vignette.spec
    found: list[Problem] = []
    clinician = spec.perspective is None
    if clinician:
        path = vignette.expert_path()
        if path is None:
            found.append(
                doc.problem(
                    ["start"],
                    f"case {spec.id!r} has no expert path: mark the expert's choice "
                    "'expert: true' at each node from the start to an ending, so the debrief can "
                    "set the learner's path against it",
                )
            )
    for node_id, node in spec.nodes.items():
        here: list[str | int] = ["nodes", node_id]
        for ci, choice in enumerate(node.choices):
            if clinician and not choice.techniques:
                found.append(
                    doc.problem(
                        [*here, "choices", ci],
                        "this choice has no technique tag (add 'techniques:', e.g. naming, "
                        "exploring, false-reassurance), so the debrief can say what it did",
                    )
                )
        tested = _tested(node)
        if not tested and node.choices:  # untagged: any technique spelt out as "N: Naming"
            tested = [
                tag
                for tag, t in TECHNIQUES.items()
                if _spelled(t).search(f"{node.title or ''}\n{node.text}")
            ]
        found += _named_technique(node_id, node.title, node.text, tested, doc)
    return found


def _tested(node: object) -> list[str]:
    """The techniques a node's choices test: the expert choice's, else every tag offered."""
    choices = getattr(node, "choices", [])
    experts = [c for c in choices if c.expert]
    source: Iterable[object] = experts or choices
    tags: list[str] = []
    for choice in source:
        tags += [t for t in getattr(choice, "techniques", []) if t not in tags]
    return tags


def _spelled(technique: Technique) -> re.Pattern[str]:
    """A technique spelt out as a mnemonic step ("N: Naming") or by its label ("Naming (NURSE)")."""
    name = re.escape(technique.title)
    family = re.escape(technique.family)
    return re.compile(rf"(\b[A-Z]\s*[:=\u2013-]\s*{name}\b|\b{name}\s*\({family}\))")


def _named_technique(
    node_id: str, title: str | None, text: str, tags: list[str], doc: YamlDocument
) -> list[Problem]:
    found: list[Problem] = []
    for tag in tags:
        technique = TECHNIQUES[tag]
        name = re.escape(technique.title)
        word = re.compile(rf"\b{name}\b", re.IGNORECASE)
        headings = [
            line for line in text.splitlines() if line.lstrip().startswith(("#", "**", "__"))
        ]
        spelled = _spelled(technique)
        if title and word.search(title):
            found.append(
                doc.problem(
                    ["nodes", node_id, "title"],
                    f"the title {title!r} names the technique the choices here test "
                    f"({technique.label}); a heading should not give the answer away",
                )
            )
        elif any(word.search(line) for line in headings) or spelled.search(text):
            found.append(
                doc.problem(
                    ["nodes", node_id, "text"],
                    f"the text of node {node_id!r} names the technique the choices here test "
                    f"({technique.label}); let the learner find it",
                )
            )
    return found
