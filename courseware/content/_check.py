"""``courseware check``: every problem in every content file and notebook, as ``FILE:LINE: message``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from ._course import COURSES_DIR, check_course_links, find_courses, load_course
from ._errors import ContentError, Problem, display_path
from ._exercise_checks import check_instrument_link
from ._exercises import EXERCISES_DIR, load_exercise
from ._kinds import kinds, register_checker
from ._lint import check_vignette
from ._models import Module
from ._module import (
    AFTER_CASE_DIR,
    MODULE_FILE,
    NOTEBOOK_FILE,
    ModuleContent,
    find_modules,
    load_module,
    loadable_modules,
    module_specs,
)
from ._notebook import prepare_module_notebook
from ._yaml import YamlDocument

SKIP_PARTS = {
    ".ipynb_checkpoints",
    ".git",
    ".venv",
    "node_modules",
    "__pycache__",
    # nbgrader's working folders: students' notebooks, graded copies with outputs
    "submitted",
    "autograded",
    "feedback",
    "release",
}


def check_paths(
    paths: Iterable[str | Path], *, fix: bool = False, warnings: bool = False
) -> list[Problem]:
    """Check every content file and notebook under ``paths`` (files or folders).

    With ``fix``, first give each module notebook its open-as-app link and hide its code
    (:func:`~courseware.content._notebook.prepare_module_notebook`); nothing else is changed.
    With ``warnings``, also report cases that quiz rather than teach (see
    :mod:`~courseware.content._teaching`) as problems marked ``warning``.
    """
    roots = [Path(p) for p in paths]
    if fix:
        fix_module_notebooks(roots)
    problems: set[Problem] = set()
    for root in roots:
        if not root.exists():
            problems.add(Problem(str(root), 0, "no such file or folder"))
            continue
        files = [root] if root.is_file() else sorted(_walk(root))
        for path in files:
            found = _check_file(path)
            problems.update(found)
            if warnings and path.name == MODULE_FILE and not found:
                problems.update(_teaching(path))
    problems.update(_check_links(roots))
    problems.update(_missing_registers(roots))
    problems.update(_modules_in_no_course(roots))
    return sorted(p for p in problems if warnings or not p.warning)


def _missing_registers(roots: list[Path]) -> list[Problem]:
    """One warning for a checked ``modules/`` folder of modules without a people register."""
    from ._people import PEOPLE_FILE, missing_register

    return [
        missing_register(root)
        for root in roots
        if root.is_dir()
        and root.name == "modules"
        and not (root / PEOPLE_FILE).is_file()
        and find_modules(root)
    ]


def _modules_in_no_course(roots: list[Path]) -> list[Problem]:
    """A warning at each module no course lists, when a whole ``modules/`` folder is checked."""
    from ._course import modules_in_no_course

    return [
        problem
        for root in roots
        if root.is_dir() and root.resolve().name == "modules"
        for problem in modules_in_no_course(root)
    ]


def fix_module_notebooks(roots: Iterable[Path]) -> list[Path]:
    """Prepare every module notebook under ``roots`` for learners; the notebooks changed."""
    changed = []
    for root in roots:
        folder = root.parent if root.is_file() else root
        for module in loadable_modules(folder) if folder.is_dir() else []:
            if SKIP_PARTS & set(module.directory.parts):
                continue
            if module.notebook.is_file() and prepare_module_notebook(
                module.notebook, module.spec.id
            ):
                changed.append(module.notebook)
    return changed


def _within(path: Path, roots: list[Path]) -> bool:
    resolved = path.resolve()
    return any(r.resolve() in (resolved, *resolved.parents) for r in roots)


def _check_links(paths: list[Path]) -> list[Problem]:
    """Cross-file links: prerequisites and course modules name real modules; assessments exist.

    Modules are looked up under the checked paths, beside a checked ``courses/`` folder and in
    the curriculum's own ``modules/``.
    """
    from .._paths import curriculum_root

    root = curriculum_root()
    folders = [p for p in paths if p.is_dir()]
    repositories = [p.parent for p in folders if p.resolve().name == COURSES_DIR]
    modules: dict[Path, tuple[YamlDocument, Module]] = {}
    for folder in [*folders, *(r / "modules" for r in repositories), root / "modules"]:
        for doc, module in module_specs(folder):
            modules[doc.path.parent.resolve()] = doc, module
    minutes = {module.id: module.minutes for _, module in modules.values()}
    problems = []
    for doc, module in modules.values():
        if _within(doc.path, paths):
            for i, prerequisite in enumerate(module.prerequisites):
                if prerequisite not in minutes:
                    problems.append(
                        doc.problem(["prerequisites", i], f"no module with id {prerequisite!r}")
                    )
    course_files = {
        p.resolve() for folder in [*paths, *repositories, root] for p in find_courses(folder)
    }
    course_files |= {p.resolve() for p in paths if _is_course(p)}
    for path in sorted(course_files):
        if not _within(path, paths):
            continue
        try:
            course = load_course(path)
        except ContentError:
            continue  # reported when the file itself is checked
        assignments = root / "assignments" / "source"
        problems += check_course_links(
            course, minutes, assignments if assignments.is_dir() else None
        )
    return problems


def _walk(root: Path) -> Iterable[Path]:
    for path in root.rglob("*"):
        wanted = path.suffix in {".yaml", ".yml", ".ipynb"}
        if wanted and path.is_file() and not SKIP_PARTS & set(path.parts):
            yield path


def _is_vignette(path: Path) -> bool:
    return path.parent.name == "vignettes" and path.suffix in {".yaml", ".yml"}


def _is_course(path: Path) -> bool:
    return path.parent.name == COURSES_DIR and path.suffix in {".yaml", ".yml"}


def _check_module(path: Path) -> list[Problem]:
    """The module, its notebook and after-case files, and the lint of each vignette it lists (a
    learner's load, in ``load_module``, does not lint; a vignette checked as a file of its own too
    reports the same problems once, as they are gathered in a set)."""
    module = load_module(path.parent)
    problems = _check_module_notebook(module)
    for vignette in module.vignettes.values():
        if vignette.source is not None:
            try:
                check_vignette(vignette.source)
            except ContentError as exc:
                problems.extend(exc.problems)
    return problems


def _teaching(path: Path) -> list[Problem]:
    from ._authoring_checks import authoring_warnings
    from ._teaching import teaching_warnings

    try:
        module = load_module(path.parent)
    except ContentError:
        return []  # reported by the module's own check
    return teaching_warnings(module) + authoring_warnings(module)


def _check_vignette(path: Path) -> list[Problem]:
    vignette = check_vignette(path)
    if vignette.spec.setting is None and "modules" in path.resolve().parent.parent.parts:
        doc = YamlDocument.unparsed(path, path.read_text(encoding="utf-8"))
        return [
            replace(
                doc.problem(
                    ["id"],
                    "no setting: say where the case takes place (setting: general-practice, "
                    "emergency-department, ...; see docs/authoring.md), so the curriculum's "
                    "spread of settings can be reported",
                ),
                warning=True,
            )
        ]
    return []


def _check_exercise(path: Path) -> list[Problem]:
    load_exercise(path)
    return check_instrument_link(path)


def _check_course(path: Path) -> list[Problem]:
    load_course(path)
    return []


def _check_people(path: Path) -> list[Problem]:
    from ._people import check_people

    return check_people(path)


def _check_notebook(path: Path) -> list[Problem]:
    from ._notebook_checks import check_notebook

    return check_notebook(path)


# content's own kinds (first match wins); grading adds "assessment file" (rubrics/*.yaml,
# keys/*.yaml, source/<assignment>/items.yaml) when imported: see courseware._plugins
register_checker("people register", lambda p: p.name == "people.yaml", _check_people)
register_checker("module", lambda p: p.name == MODULE_FILE, _check_module)
register_checker("vignette", _is_vignette, _check_vignette)
register_checker(
    "exercise",
    lambda p: p.parent.name == EXERCISES_DIR and p.suffix in {".yaml", ".yml"},
    _check_exercise,
)
register_checker("course", _is_course, _check_course)
register_checker("notebook", lambda p: p.suffix == ".ipynb", _check_notebook)


def _check_file(path: Path) -> list[Problem]:
    known = kinds()
    for _name, claims, check in known:
        if claims(path):
            try:
                return check(path)
            except ContentError as exc:
                return exc.problems
    if path.suffix in {".yaml", ".yml"}:
        names = ", ".join(kind.name for kind in known if kind.name != "notebook")
        return [
            Problem(display_path(path), 1, f"unrecognised content file (expected one of: {names})")
        ]
    return []


def _check_module_notebook(module: ModuleContent) -> list[Problem]:
    """The notebook beside module.yaml exists; each after-case file belongs to one of its cases."""
    problems = [
        Problem(
            display_path(path),
            1,
            f"after-case material for {path.stem!r}, which is not a vignette of this module "
            f"(it has: {', '.join(module.vignettes) or 'none'})",
        )
        for path in sorted((module.directory / AFTER_CASE_DIR).glob("*.md"))
        if path.stem not in module.vignettes
    ]
    if not module.notebook.is_file():
        problems.append(
            Problem(
                display_path(module.directory / MODULE_FILE),
                1,
                f"the module has no {NOTEBOOK_FILE} beside its module.yaml",
            )
        )
    return problems
