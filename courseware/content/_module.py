"""Loading a module folder: ``module.yaml``, the vignettes it lists, and the notebook beside them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ._errors import ContentError, Problem, load_each
from ._exercises import ExerciseSpec, load_exercises
from ._models import Module, ReflectionPrompt
from ._schema import load_validated
from ._vignette import Vignette, load_vignette
from ._yaml import YamlDocument

T = TypeVar("T")

MODULE_FILE = "module.yaml"
NOTEBOOK_FILE = "module.ipynb"
AFTER_CASE_DIR = "after-case"
"""Markdown shown under a case only once the learner has finished it, one file per vignette."""


@dataclass
class ModuleContent:
    """A module as loaded from disk: its metadata and its validated vignettes."""

    spec: Module
    directory: Path
    vignettes: dict[str, Vignette] = field(default_factory=dict)
    exercises: dict[str, ExerciseSpec] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def notebook(self) -> Path:
        return self.directory / NOTEBOOK_FILE

    def vignette(self, vignette_id: str) -> Vignette:
        return self._find("vignette", self.vignettes, vignette_id)

    def after_case_file(self, vignette_id: str) -> Path:
        """Where the after-case material of a vignette lives (``after-case/<vignette-id>.md``)."""
        return self.directory / AFTER_CASE_DIR / f"{vignette_id}.md"

    def after_case(self, vignette_id: str) -> str:
        """The Markdown to show once a learner has finished the vignette ``vignette_id``."""
        self.vignette(vignette_id)
        path = self.after_case_file(vignette_id)
        if not path.is_file():
            raise KeyError(
                f"module {self.id!r} has no after-case material for {vignette_id!r} "
                f"(write it in {AFTER_CASE_DIR}/{vignette_id}.md)"
            )
        return path.read_text(encoding="utf-8")

    def reflection(self, reflection_id: str) -> ReflectionPrompt:
        return self.spec.reflection(reflection_id)

    def exercise(self, exercise_id: str) -> ExerciseSpec:
        """An exercise from the module's ``exercises/`` folder, by id."""
        return self._find("exercise", self.exercises, exercise_id)

    def _find(self, kind: str, found: dict[str, T], ident: str) -> T:
        """``found[ident]``, or a KeyError that names what the module does have (a notebook
        author's typo shows the right id)."""
        try:
            return found[ident]
        except KeyError:
            known = ", ".join(found) or "none"
            raise KeyError(
                f"module {self.id!r} has no {kind} {ident!r} (it has: {known})"
            ) from None


def load_module(directory: str | Path) -> ModuleContent:
    """Load ``module.yaml`` in ``directory`` and every vignette it lists.

    Raises :class:`ContentError` with every problem in the module and its vignettes.
    """
    directory = Path(directory)
    doc, spec = load_validated(directory / MODULE_FILE, Module)
    problems: list[Problem] = []
    vignettes: dict[str, Vignette] = {}
    seen_reflections: set[str] = set()
    for i, prompt in enumerate(spec.reflections):
        if prompt.id in seen_reflections:
            problems.append(doc.problem(["reflections", i, "id"], f"duplicate id {prompt.id!r}"))
        seen_reflections.add(prompt.id)
    seen_questions: set[str] = set()
    for i, question in enumerate(spec.self_check):
        if question.id in seen_questions:
            problems.append(doc.problem(["self_check", i, "id"], f"duplicate id {question.id!r}"))
        seen_questions.add(question.id)
    if spec.facilitator_notes and not (directory / spec.facilitator_notes).is_file():
        problems.append(
            doc.problem(["facilitator_notes"], f"no such file {spec.facilitator_notes!r}")
        )
    for i, relative in enumerate(spec.vignettes):
        path = directory / relative
        if not path.is_file():
            problems.append(doc.problem(["vignettes", i], f"no such file {relative!r}"))
            continue
        try:
            vignette = load_vignette(path)
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        if vignette.id in vignettes:
            problems.append(doc.problem(["vignettes", i], f"duplicate vignette id {vignette.id!r}"))
        vignettes[vignette.id] = vignette
    exercises, found = load_exercises(directory)
    problems.extend(found)
    for exercise in exercises.values():
        if exercise.id in vignettes or exercise.id in seen_reflections:
            problems.append(
                doc.problem(
                    ["id"],
                    f"exercise {exercise.id!r} has the same id as a vignette or reflection "
                    "(their answers would mix in the store)",
                )
            )
    if problems:
        raise ContentError(problems)
    return ModuleContent(spec, directory, vignettes, exercises)


def find_modules(root: str | Path) -> list[Path]:
    """Folders below ``root`` holding a ``module.yaml``, in a stable order."""
    return sorted(
        p.parent for p in Path(root).rglob(MODULE_FILE) if ".ipynb_checkpoints" not in p.parts
    )


def loadable_modules(
    root: str | Path, *, skipped: Callable[[Path, ContentError], None] | None = None
) -> list[ModuleContent]:
    """Every module below ``root`` that loads, in folder order. A broken one is left out (``courseware
    check`` names its problems), after ``skipped(folder, error)`` when given (to log it, say)."""
    return load_each(find_modules(root), load_module, skipped=skipped)


def module_specs(root: str | Path) -> list[tuple[YamlDocument, Module]]:
    """Each ``module.yaml`` below ``root`` that validates, with its document (for line numbers),
    without loading its vignettes or exercises; a broken one is left out (its own check reports it)."""
    return load_each(
        find_modules(root), lambda directory: load_validated(directory / MODULE_FILE, Module)
    )
