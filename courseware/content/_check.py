"""``courseware check``: every problem in every content file and notebook, as ``FILE:LINE: message``."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from pathlib import Path

from ._errors import ContentError, Problem, display_path
from ._models import Module, VignetteSpec, validate
from ._module import MODULE_FILE, NOTEBOOK_FILE, ModuleContent, find_modules, load_module
from ._vignette import Vignette
from ._yaml import read_yaml

SKIP_PARTS = {".ipynb_checkpoints", ".git", ".venv", "node_modules", "__pycache__"}


def check_paths(paths: Iterable[str | Path]) -> list[Problem]:
    """Check every content file and notebook under ``paths`` (files or folders)."""
    problems: set[Problem] = set()
    for root in map(Path, paths):
        if not root.exists():
            problems.add(Problem(str(root), 0, "no such file or folder"))
            continue
        files = [root] if root.is_file() else sorted(_walk(root))
        for path in files:
            problems.update(_check_file(path))
    problems.update(_check_prerequisites(paths))
    return sorted(problems)


def _check_prerequisites(paths: Iterable[str | Path]) -> list[Problem]:
    """Every prerequisite names a module that exists (here or in the curriculum's modules/)."""
    from .._paths import curriculum_root

    roots = [Path(p) for p in paths if Path(p).is_dir()] + [curriculum_root() / "modules"]
    docs = {}
    for root in roots:
        for directory in find_modules(root):
            try:
                doc = read_yaml(directory / MODULE_FILE)
                docs[directory.resolve()] = (doc, validate(doc, Module))
            except ContentError:
                continue  # reported by the module's own check
    known = {module.id for _, module in docs.values()}
    problems = []
    for doc, module in docs.values():
        if not any(
            Path(p).resolve() in (doc.path.resolve(), *doc.path.resolve().parents) for p in paths
        ):
            continue
        for i, prerequisite in enumerate(module.prerequisites):
            if prerequisite not in known:
                problems.append(
                    doc.problem(["prerequisites", i], f"no module with id {prerequisite!r}")
                )
    return problems


def _walk(root: Path) -> Iterable[Path]:
    for path in root.rglob("*"):
        wanted = path.suffix in {".yaml", ".yml", ".ipynb"}
        if wanted and path.is_file() and not SKIP_PARTS & set(path.parts):
            yield path


def _check_file(path: Path) -> list[Problem]:
    try:
        if path.name == MODULE_FILE:
            module = load_module(path.parent)
            return _check_module_notebook(module)
        if path.suffix in {".yaml", ".yml"}:
            if path.parent.name == "vignettes":
                Vignette(validate(doc := read_yaml(path), VignetteSpec), doc)
                return []
            return [
                Problem(
                    display_path(path),
                    1,
                    "unrecognised content file (expected "
                    "module.yaml or a vignette in a 'vignettes' folder)",
                )
            ]
        if path.suffix == ".ipynb":
            return _check_notebook(path)
    except ContentError as exc:
        return exc.problems
    return []


def _check_module_notebook(module: ModuleContent) -> list[Problem]:
    if not module.notebook.is_file():
        return [
            Problem(
                display_path(module.directory / MODULE_FILE),
                1,
                f"the module has no {NOTEBOOK_FILE} beside its module.yaml",
            )
        ]
    return []


def _cell_lines(text: str) -> list[int]:
    """1-based line where each cell starts in the notebook's JSON text."""
    return [i for i, line in enumerate(text.splitlines(), 1) if '"cell_type":' in line]


def _check_notebook(path: Path) -> list[Problem]:
    import nbformat  # only the checker needs it
    from IPython.core.inputtransformer2 import TransformerManager

    name = display_path(path)
    text = path.read_text(encoding="utf-8")
    try:
        nb = nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        line = getattr(exc, "lineno", 1)
        return [Problem(name, line, f"not a valid notebook (JSON error: {exc})")]
    problems: list[Problem] = []
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        problems.append(Problem(name, 1, f"notebook format: {exc.message}"))
    module: ModuleContent | None = None
    if (path.parent / MODULE_FILE).is_file() and path.name == NOTEBOOK_FILE:
        try:
            module = load_module(path.parent)
        except ContentError:
            module = None  # reported when module.yaml itself is checked
    starts = _cell_lines(text)
    transformer = TransformerManager()  # type: ignore[no-untyped-call]
    for index, cell in enumerate(nb.cells):
        line = starts[index] if index < len(starts) else 1
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(
                Problem(
                    name,
                    line,
                    f"cell {index + 1} has saved outputs; clear "
                    "them before committing (they may hold a learner's answers)",
                )
            )
        source = transformer.transform_cell(cell.source)
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            problems.append(
                Problem(
                    name,
                    line,
                    f"cell {index + 1}: Python syntax error: {exc.msg} (cell line {exc.lineno})",
                )
            )
            continue
        if module is not None:
            problems.extend(_check_calls(tree, module, name, line, index))
    return problems


def _check_calls(
    tree: ast.AST, module: ModuleContent, name: str, line: int, index: int
) -> list[Problem]:
    """Catch ``module.vignette("x")``/``module.reflection("x")`` naming an exercise that does not exist."""
    known = {
        "vignette": set(module.vignettes),
        "reflection": {r.id for r in module.spec.reflections},
    }
    problems = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "self_check"
            and not module.spec.self_check
        ):
            problems.append(
                Problem(
                    name,
                    line,
                    f"cell {index + 1}: module {module.id!r} has no self_check questions",
                )
            )
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in known
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value not in known[node.func.attr]
        ):
            problems.append(
                Problem(
                    name,
                    line,
                    f"cell {index + 1}: module {module.id!r} has no "
                    f"{node.func.attr} {node.args[0].value!r}",
                )
            )
    return problems
