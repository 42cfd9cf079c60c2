"""Compiled content: a learner's kernel loads checked content without pydantic or the YAML parser,
and gets exactly the objects validation gives; any edit is validated again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers import GOOD

from courseware._paths import curriculum_root
from courseware.content import ContentError, check_paths, find_modules, load_module, load_vignette
from courseware.content._compiled import build, dump
from courseware.content._exercises import AnyExercise, load_exercise
from courseware.content._models import Module, VignetteSpec
from courseware.content._schema import validate
from courseware.content._yaml import read_yaml
from courseware.grading._items import ItemSet, KeyFile, load_items, load_key

ROOT = curriculum_root()
MODULE = ROOT / "modules" / "foundation-year" / "what-is-clinical-empathy"


@pytest.fixture(autouse=True)
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has its own user cache, so one test's compiled files never serve another's."""
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder


def cached_files(folder: Path) -> list[Path]:
    """Compiled files below ``folder`` (the user cache counts only when ``folder`` is it)."""
    return sorted(p for p in folder.rglob("*.courseware.json") if "user-cache" not in p.parts)


def content_files() -> list[tuple[Path, object]]:
    found: list[tuple[Path, object]] = []
    for directory in find_modules(ROOT / "modules"):
        found.append((directory / "module.yaml", Module))
        found += [(p, VignetteSpec) for p in sorted((directory / "vignettes").glob("*.yaml"))]
        found += [(p, AnyExercise) for p in sorted((directory / "exercises").glob("*.yaml"))]
    found += [(p, ItemSet) for p in sorted((ROOT / "assignments" / "source").rglob("items.yaml"))]
    found += [(p, KeyFile) for p in sorted((ROOT / "assignments" / "keys").glob("*.yaml"))]
    return found


def test_every_content_file_rebuilds_to_the_validated_object() -> None:
    """The compiled data of every file in the repository turns back into an equal object."""
    files = content_files()
    assert len(files) > 40
    for path, model in files:
        exercise = model is AnyExercise
        validated = load_exercise(path) if exercise else validate(read_yaml(path), model)  # type: ignore[arg-type]
        plain = json.loads(json.dumps(dump(validated)))
        assert build(model, plain) == validated, path


def test_a_kernel_loads_compiled_content_without_pydantic_or_yaml(tmp_path: Path) -> None:
    module = tmp_path / MODULE.name
    shutil.copytree(MODULE, module, ignore=shutil.ignore_patterns("__pycache__"))
    checked = load_module(module)  # what `courseware check` does: validate and compile
    assert cached_files(module)
    script = textwrap.dedent(
        f"""
        import sys
        from courseware.content import load_module
        module = load_module({str(module)!r})
        author_only = (
            "pydantic", "ruamel.yaml", "pandas",
            "courseware.content._lint", "courseware.content._intervals",
            "courseware.content._check",
        )
        print(sorted(m for m in author_only if m in sys.modules))
        print(len(module.vignettes), module.spec.title, module.spec.outcomes[0].maps_to)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "[]"
    vignettes = len(checked.vignettes)
    assert out[1] == f"{vignettes} {checked.spec.title} {checked.spec.outcomes[0].maps_to}"


def test_a_learners_load_never_runs_the_authors_lint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading for a learner, validated or compiled, skips the lint; ``courseware check`` runs it."""
    import courseware.content._lint as lint

    calls: list[str] = []
    real = lint.lint_vignette

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("lint")
        return real(*args, **kwargs)

    monkeypatch.setattr(lint, "lint_vignette", counted)
    module = tmp_path / MODULE.name
    shutil.copytree(MODULE, module, ignore=shutil.ignore_patterns("__pycache__"))
    load_module(module)  # validated and compiled
    load_module(module)  # from the compiled cache
    assert cached_files(module) and calls == []
    orphan = module / "vignettes" / "orphan.yaml"
    orphan.write_text(GOOD + "  lost:\n    text: 'Nobody comes here'\n    end: true\n")
    assert load_vignette(orphan).spec.title == "A case"  # a learner can still walk it
    assert calls == []
    problems = [str(p) for p in check_paths([orphan])]
    assert calls == ["lint"]
    assert any("node 'lost' cannot be reached from the start" in p for p in problems), problems


def test_a_compiled_load_equals_a_validated_load(tmp_path: Path) -> None:
    module = tmp_path / MODULE.name
    shutil.copytree(MODULE, module, ignore=shutil.ignore_patterns("__pycache__"))
    first = load_module(module)
    second = load_module(module)
    assert second.spec == first.spec
    assert {k: v.spec for k, v in second.vignettes.items()} == {
        k: v.spec for k, v in first.vignettes.items()
    }
    assert second.exercises == first.exercises


def test_an_edit_is_validated_again_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_vignette(path).spec.title == "A case"
    path.write_text(GOOD.replace('title: "A case"', "title: 5\nsurprise: yes"), encoding="utf-8")
    with pytest.raises(ContentError) as info:
        load_vignette(path)
    assert f"{path}:3: surprise: unknown field (check the spelling)" in [
        str(p) for p in info.value.problems
    ]


def test_problems_found_after_a_compiled_load_still_name_their_line(tmp_path: Path) -> None:
    """The schema passes (so the file is compiled) but the graph does not: both loads say where."""
    path = tmp_path / "case.yaml"
    path.write_text(GOOD.replace("to: b", "to: nowhere"), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ContentError) as info:
            load_vignette(path)
        assert f"{path}:9: nodes.a.choices.0.to: unknown node 'nowhere'" in [
            str(p) for p in info.value.problems
        ]
    assert cached_files(tmp_path)


def test_a_stale_or_damaged_cache_entry_is_validated_again(
    tmp_path: Path, user_cache: Path
) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(GOOD, encoding="utf-8")
    load_vignette(path)
    compiled = [*cached_files(tmp_path), *user_cache.rglob("*.courseware.json")]
    assert len(compiled) == 2  # beside the file and in the user cache
    good = json.loads(compiled[0].read_text(encoding="utf-8"))
    damaged = [
        json.dumps({"digest": "0" * 64, "data": {**good["data"], "title": "Stale"}}),
        "{not json",
        json.dumps({"digest": good["digest"], "data": {"nonsense": True}}),
    ]
    for text in damaged:
        for entry in compiled:
            entry.write_text(text, encoding="utf-8")
        assert load_vignette(path).spec.title == "A case"
        assert json.loads(compiled[0].read_text(encoding="utf-8")) == good  # compiled afresh


def test_content_that_cannot_be_written_beside_compiles_to_the_user_cache(
    tmp_path: Path, user_cache: Path
) -> None:
    content = tmp_path / "content"
    content.mkdir()
    path = content / "case.yaml"
    path.write_text(GOOD, encoding="utf-8")
    (content / "__pycache__").write_text("not a folder (as good as read-only, even for root)")
    load_vignette(path)
    (compiled,) = user_cache.rglob("*.courseware.json")
    assert load_vignette(path).spec.title == "A case"
    assert json.loads(compiled.read_text(encoding="utf-8"))["data"]["title"] == "A case"


def test_copies_of_one_file_share_a_compiled_entry(tmp_path: Path, user_cache: Path) -> None:
    """Every student's copy of an assignment's items: validated once, then loaded compiled."""
    source = ROOT / "assignments" / "source" / "communication-skills" / "items.yaml"
    copies = []
    for student in ("first", "second"):
        folder = tmp_path / student
        folder.mkdir()
        (folder / "__pycache__").write_text("nbgrader copies no __pycache__; this one is not one")
        copies.append(folder / "items.yaml")
        copies[-1].write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    load_items(copies[0])
    script = (
        "import sys; from courseware.grading._items import load_items; "
        f"load_items({str(copies[1])!r}); print('pydantic' in sys.modules)"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(user_cache)}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "False"


def test_items_and_their_key_load_compiled_in_a_fresh_process(
    tmp_path: Path, user_cache: Path
) -> None:
    """What a hidden test cell loads under autograde: the items and the answer key, compiled."""
    assignment = ROOT / "assignments"
    items = tmp_path / "items.yaml"
    key = tmp_path / "keys" / "communication-skills.yaml"
    key.parent.mkdir()
    shutil.copyfile(assignment / "source" / "communication-skills" / "items.yaml", items)
    shutil.copyfile(assignment / "keys" / "communication-skills.yaml", key)
    expected = load_key(key, load_items(items))
    assert len(cached_files(tmp_path)) == 2
    script = (
        "import sys; from courseware.grading._items import load_items, load_key; "
        f"key = load_key({str(key)!r}, load_items({str(items)!r})); "
        "print('pydantic' in sys.modules, 'ruamel.yaml' in sys.modules); print(repr(key))"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(user_cache)}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    ).stdout.splitlines()
    assert out == ["False False", repr(expected)]
