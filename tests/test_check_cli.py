"""``courseware check`` as an author runs it: exit status and FILE:LINE: lines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import run_check, run_courseware

from conftest import FIXTURES, REPO


def test_repository_content_passes() -> None:
    result = run_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 problems" in result.stderr


def test_broken_target_and_orphan_fail_with_file_and_line(tmp_path: Path) -> None:
    module = tmp_path / "demo"
    shutil.copytree(FIXTURES / "modules" / "demo", module)
    vignette = module / "vignettes" / "waiting-room.yaml"
    text = vignette.read_text().replace("to: heard", "to: heaven")
    vignette.write_text(text + "  orphan:\n    text: alone\n    end: true\n")
    result = run_check(tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    numbered = vignette.read_text().splitlines()
    target_line = numbered.index("        to: heaven") + 1
    orphan_line = numbered.index("  orphan:") + 1
    assert any(
        line.endswith(f":{target_line}: nodes.listen.choices.0.to: unknown node 'heaven'")
        for line in lines
    ), lines
    assert any(
        line.endswith(
            f":{orphan_line}: nodes.orphan: node 'orphan' cannot be reached from the start"
        )
        for line in lines
    ), lines
    assert all(line.split(":")[0].endswith("waiting-room.yaml") for line in lines)


def test_notebook_problems_are_found(tmp_path: Path) -> None:
    module = tmp_path / "demo"
    shutil.copytree(FIXTURES / "modules" / "demo", module)
    notebook = module / "module.ipynb"
    nb = json.loads(notebook.read_text())
    nb["cells"][2]["source"] = ['module.vignette("no-such-case")']
    nb["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "secret"}]
    notebook.write_text(json.dumps(nb, indent=1))
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "module 'demo' has no vignette 'no-such-case'" in result.stdout
    assert "has saved outputs" in result.stdout
    assert all(":" in line and line.split(":")[1].isdigit() for line in result.stdout.splitlines())


def test_not_json_notebook_and_stray_yaml(tmp_path: Path) -> None:
    (tmp_path / "broken.ipynb").write_text("{not json")
    (tmp_path / "notes.yaml").write_text("a: 1\n")
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "broken.ipynb:1: not a valid notebook" in result.stdout
    assert "notes.yaml:1: unrecognised content file" in result.stdout


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    result = run_check(tmp_path / "nope")
    assert result.returncode == 1 and "no such file or folder" in result.stdout


def test_unknown_prerequisite_is_reported(tmp_path: Path) -> None:
    module = tmp_path / "demo"
    shutil.copytree(FIXTURES / "modules" / "demo", module)
    yaml = module / "module.yaml"
    yaml.write_text(yaml.read_text().replace("[what-is-clinical-empathy]", "[no-such-module]"))
    result = run_check(tmp_path)
    line = yaml.read_text().splitlines().index("prerequisites: [no-such-module]") + 1
    assert result.returncode == 1
    assert (
        f"module.yaml:{line}: prerequisites.0: no module with id 'no-such-module'" in result.stdout
    )


def test_nbgrader_working_folders_are_not_content(tmp_path: Path) -> None:
    graded = tmp_path / "autograded" / "student-1" / "essay"
    graded.mkdir(parents=True)
    (graded / "essay.ipynb").write_text("{not json")
    result = run_check(tmp_path)
    assert result.returncode == 0, result.stdout


def test_teaching_warnings_fire_on_a_module_that_quizzes(tmp_path: Path) -> None:
    """Each teaching warning, at its file and line; a plain check passes, ``--strict`` fails."""
    module = tmp_path / "quiz"
    shutil.copytree(FIXTURES / "teaching" / "quiz", module)
    plain = run_check(module)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "0 problems and 11 warnings" in plain.stderr  # 7 teaching, 4 untitled nodes
    strict = run_check("--strict", module)
    assert strict.returncode == 1 and strict.stdout == plain.stdout
    found = {
        (Path(line.split(":")[0]).name, int(line.split(":")[1]), line.split(": ", 2)[-1])
        for line in strict.stdout.splitlines()
    }
    assert all(": warning: " in line for line in strict.stdout.splitlines())

    def at(file: str, line: int, words: str) -> bool:
        return any(f == file and n == line and words in m for f, n, m in found)

    assert at("tagged.yaml", 9, "best option is written in position 1 at 5 of the module's 5")
    assert at("module.yaml", 16, "correct option is the longest in 3 of 3 self-check questions")
    assert at("untagged.yaml", 8, "this choice has no technique tag")
    assert at("untagged.yaml", 10, "this choice has no technique tag")
    assert at("untagged.yaml", 3, "case 'untagged' has no expert path")
    assert at("tagged.yaml", 6, "the title 'N: Naming' names the technique")
    notebook = (module / "module.ipynb").read_text().splitlines()
    line = notebook.index('   "id": "after",')  # 1-based: the cell's "cell_type" line above
    assert at("module.ipynb", line, "after-case material in a Markdown cell shows before the case")
    assert at("untagged.yaml", 5, "node 'ask' has no title")  # see _authoring_checks.py
    assert len(found) == 11


def test_order_fixed_without_a_reason_is_an_error_at_its_line(tmp_path: Path) -> None:
    module = tmp_path / "demo"
    shutil.copytree(FIXTURES / "modules" / "demo", module)
    yaml = module / "module.yaml"
    yaml.write_text(
        yaml.read_text().replace("    answer: 1\n", "    answer: 1\n    order: fixed\n")
    )
    result = run_check(module)
    assert result.returncode == 1
    line = yaml.read_text().splitlines().index("    order: fixed") + 1
    assert f"module.yaml:{line}: self_check.0.order: order: fixed needs an order_reason" in (
        result.stdout
    )


def test_after_case_calls_and_files_must_match_the_cases(tmp_path: Path) -> None:
    module = tmp_path / "demo"
    shutil.copytree(FIXTURES / "modules" / "demo", module)
    (module / "after-case").mkdir()
    (module / "after-case" / "no-such-case.md").write_text("## After the case\n")
    notebook = module / "module.ipynb"
    nb = json.loads(notebook.read_text())
    nb["cells"][3]["source"] = ['module.after_case("waiting-room")']
    notebook.write_text(json.dumps(nb, indent=1))
    result = run_check(module)
    assert result.returncode == 1
    assert (
        "after-case/no-such-case.md:1: after-case material for 'no-such-case', which is not a "
        "vignette of this module (it has: waiting-room)" in result.stdout
    )
    assert (
        "cell 4: module.after_case('waiting-room') has no text: write it in "
        "after-case/waiting-room.md" in result.stdout
    )


def test_check_assignments_from_inside_the_course_folder(tmp_path: Path) -> None:
    """docs/grading.md §1: copy assignments/, work inside it, run `courseware check assignments`."""
    course = tmp_path / "my-course"
    shutil.copytree(REPO / "assignments", course)

    def check_here() -> subprocess.CompletedProcess[str]:
        return run_courseware("check", "assignments", cwd=course, expect_ok=False, timeout=120)

    result = check_here()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 problems" in result.stderr
    rubric = course / "rubrics" / "reflect.yaml"
    rubric.write_text(rubric.read_text().replace("criteria:", "criterias:", 1))
    result = check_here()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "reflect.yaml" in result.stdout


def spread_curriculum(tmp_path: Path, setting: str | None) -> Path:
    """``modules/`` with the demo module (its case in ``setting``) and a register of four ages."""
    root = tmp_path / "modules"
    module = root / "foundation-year" / "demo"
    shutil.copytree(FIXTURES / "modules" / "demo", module)
    if setting:
        case = module / "vignettes" / "waiting-room.yaml"
        case.write_text(case.read_text() + f"setting: {setting}\n")
    people = "\n".join(
        f"  - {{name: Person {name}, {age}background: someone, module: demo}}"
        for name, age in [
            ("Ann", "age: 16, "),
            ("Bea", "age: 17, "),
            ("Cal", "age: 91, "),
            ("Dee", ""),
        ]
    )
    (root / "people.yaml").write_text(f"people:\n{people}\n")
    return root


def test_check_of_the_modules_folder_reports_the_age_and_setting_spread(tmp_path: Path) -> None:
    result = run_check(spread_curriculum(tmp_path, "maternity"))
    told = result.stderr.splitlines()
    count = next(i for i, line in enumerate(told) if " problem" in line and " warning" in line)
    spread = told[count + 1 :]
    assert spread[0].startswith("Curriculum spread in ")
    assert spread[1] == (
        "  ages of 3 of 4 people in the register: under 18 2, 18-29 0, 30-49 0, 50-69 0, "
        "70-84 0, 85+ 1"
    )
    assert spread[2] == "  settings of 1 case: maternity 1"
    assert spread[3].startswith("  settings with no case yet: general-practice, ")
    assert "maternity" not in spread[3]
    assert not any("spread" in line for line in result.stdout.splitlines())  # not a problem
    module_only = run_check(tmp_path / "modules" / "foundation-year" / "demo")
    assert "Curriculum spread" not in module_only.stderr


def test_a_case_under_modules_without_a_setting_is_a_warning(tmp_path: Path) -> None:
    root = spread_curriculum(tmp_path, None)
    result = run_check(root)
    case = root / "foundation-year" / "demo" / "vignettes" / "waiting-room.yaml"
    assert f"{case}:1: warning: id: no setting: say where the case takes place" in result.stdout
    assert "  settings of 1 case: none; no setting given: 1" in result.stderr.splitlines()
    strict = run_check("--strict", case)
    assert strict.returncode == 1 and "no setting" in strict.stdout
    elsewhere = tmp_path / "drafts" / "demo"  # not yet in the curriculum: no warning
    shutil.copytree(root / "foundation-year" / "demo", elsewhere)
    assert "no setting" not in run_check(elsewhere).stdout


def test_the_shipped_curriculum_has_a_setting_for_every_case_and_ages_across_the_bands() -> None:
    from courseware.content._spread import curriculum_spread

    spread = curriculum_spread(REPO / "modules")
    assert spread.cases_without_setting == 0 and spread.cases >= 19
    assert spread.aged >= 30 and spread.ages["under 18"] >= 1 and spread.ages["85+"] >= 1
    result = run_check()
    assert "Curriculum spread in" in result.stderr


def test_grading_registers_its_checker_and_content_never_imports_grading(tmp_path: Path) -> None:
    """Assessment files are checked by grading's checker, which grading registers with content;
    content's own code names no grading module (the dependency runs one way)."""
    for path in (REPO / "courseware" / "content").glob("*.py"):
        assert "grading" not in "".join(
            line for line in path.read_text().splitlines() if "import" in line
        ), path
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "essay.yaml").write_text("id: essay\n")
    script = (
        "import sys; from courseware.content import check_paths;"
        "before = 'courseware.grading' in sys.modules;"
        f"found = check_paths([{str(tmp_path)!r}]);"
        "print(before); print('\\n'.join(p.field for p in found))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.splitlines()
    assert out[0] == "False"
    assert {"title", "criteria"} <= set(out[1:])  # the rubric's schema, from grading's checker
