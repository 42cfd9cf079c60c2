"""Package boundaries, checked from the source (httpx's exported-members habit, widened).

Each subpackage of ``courseware`` keeps its modules private (``_name.py``) behind its
``__init__``; the others use only what that ``__init__`` exports. Three rules:

* a subpackage's ``__all__`` is exactly what it offers: every name in it resolves, and every
  public name the package holds once loaded is listed;
* no module imports another subpackage's private module (``from ..content._schema import X``);
* subpackages do not import each other in a cycle (counting imports inside functions too: a
  lazy import still ties the two packages together).
"""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

import courseware

PACKAGE = Path(courseware.__file__).resolve().parent
SUBPACKAGES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in ``path``, relative ones resolved."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from .. import _private`` names a module too
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names if a.name[0] == "_"]
    return [(line, name) for line, name in found if name.startswith("courseware.")]


def _subpackage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SUBPACKAGES else None


def test_the_rules_see_the_whole_package() -> None:
    """The walk below finds every subpackage and a good number of imports (not an empty pass)."""
    assert {"content", "store", "hub", "grading", "apps", "widgets"} <= set(SUBPACKAGES)
    crossing = [
        (path, name)
        for path in PACKAGE.rglob("*.py")
        for _, name in _imports(path)
        if _subpackage(name) not in (None, _subpackage(_module_name(path)))
    ]
    assert len(crossing) > 50


def test_no_subpackage_imports_another_ones_private_module() -> None:
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        home = _subpackage(_module_name(path))
        for line, name in _imports(path):
            target = _subpackage(name)
            if target is None or target == home:
                continue
            private = [part for part in name.split(".")[2:] if part.startswith("_")]
            if private:
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{line}: imports {name}")
    assert offences == []


def test_subpackages_import_each_other_without_cycles() -> None:
    edges: dict[str, set[str]] = {name: set() for name in SUBPACKAGES}
    for path in PACKAGE.rglob("*.py"):
        home = _subpackage(_module_name(path))
        if home is None:
            continue
        for _, name in _imports(path):
            target = _subpackage(name)
            if target is not None and target != home:
                edges[home].add(target)

    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        for nxt in sorted(edges[node]):
            if nxt == trail[0]:
                cycles.append([*trail, nxt])
            elif nxt not in trail and nxt > trail[0]:  # each cycle once, from its least member
                visit(nxt, [*trail, nxt])

    for start in SUBPACKAGES:
        visit(start, [start])
    assert [" -> ".join(c) for c in cycles] == []


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_all_lists_exactly_what_the_package_offers(name: str) -> None:
    package = importlib.import_module(f"courseware.{name}")
    exported = set(package.__all__)
    assert len(package.__all__) == len(exported), "a name is listed twice"
    for member in package.__all__:
        getattr(package, member)  # lazy names load; a stale entry raises AttributeError
    held = {
        member
        for member, value in vars(package).items()
        if not member.startswith("_")
        and not isinstance(value, types.ModuleType)
        and member not in {"annotations", "TYPE_CHECKING", "Any"}
    }
    assert held - exported == set(), f"courseware.{name} holds public names it does not list"
