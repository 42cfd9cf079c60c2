"""Grading rules without a kernel: items and keys, the answers file, the rubric, moderation, agreement
statistics (against independent implementations), CSV neutralising, feedback stripping, checks."""

from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courseware.content import ContentError, check_paths
from courseware.grading import (
    ANSWERS_FILE,
    AssessedAnswers,
    check_answer,
    check_saved,
    grade_item,
    load_items,
    load_key,
    read_answers,
    score_answer,
)
from courseware.grading._agreement import agreement, icc_absolute, weighted_kappa
from courseware.grading._assessment import find_key, render_answer
from courseware.grading._course import GradingError
from courseware.grading._exports import neutralise, pseudonym, write_csv
from courseware.grading._feedback import strip_hidden
from courseware.grading._marking_rules import decide, round_half, second_marking_sample
from courseware.grading._rubric import Standard, course_standard, load_rubric, pass_mark_for

from conftest import REPO

ASSIGNMENTS = REPO / "assignments"
ITEMS = ASSIGNMENTS / "source" / "communication-skills" / "items.yaml"
KEY = ASSIGNMENTS / "keys" / "communication-skills.yaml"
RUBRIC = ASSIGNMENTS / "rubrics" / "reflect.yaml"
NARRATIVE_RUBRIC = ASSIGNMENTS / "rubrics" / "narrative-medicine.yaml"


@pytest.fixture(scope="module")
def items() -> Any:
    return load_items(ITEMS)


@pytest.fixture(scope="module")
def key(items: Any) -> Any:
    return load_key(KEY, items)


# --- items and keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "points"),
    [([3, 5, 9], 3.0), ([3, 5], 2.0), ([3, 5, 9, 0], 2.0), ([1, 7], 0.0), ([], 0.0), ([9], 1.0)],
)
def test_cue_scoring(items: Any, key: Any, lines: list[int], points: float) -> None:
    item = items.item("cues-breathless")
    assert score_answer(item, key.keys[item.id], {"lines": lines}).points == points


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "no answer saved"),
        ({"lines": [True, 3]}, "whole numbers"),
        ({"lines": [3, 3]}, "twice"),
        ({"lines": [99]}, "outside"),
        ({"lines": "3,5,9"}, "whole numbers"),
        (["3"], "mapping"),
    ],
)
def test_bad_cue_answers_score_zero_with_a_reason(
    items: Any, key: Any, value: Any, reason: str
) -> None:
    item = items.item("cues-breathless")
    score = score_answer(item, key.keys[item.id], value)
    assert score.points == 0 and reason in score.reason


def test_choice_scoring_and_forged_values(items: Any, key: Any) -> None:
    item = items.item("reply-to-worry")
    k = key.keys[item.id]
    assert [score_answer(item, k, {"option": i}).points for i in range(4)] == [0, 0, 2, 0]
    for forged in ({"option": True}, {"option": 2.0}, {"option": -1}, {"option": "2"}):
        assert score_answer(item, k, forged).points == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=11), unique=True))
def test_cue_score_stays_in_range(lines: list[int]) -> None:
    items = load_items(ITEMS)
    item = items.item("cues-breathless")
    score = score_answer(item, load_key(KEY, items).keys[item.id], {"lines": lines})
    assert 0 <= score.points <= score.max_points


def test_compose_text_is_kept_whatever_it_holds(items: Any) -> None:
    text = "=SUM(A1) <script>x</script> 🙂 ‮" + "word " * 300_000
    assert check_answer(items.item("compose-reply"), {"text": text}) == {"text": text}
    html = render_answer(items.item("compose-reply"), {"text": "<script>alert(1)</script>"})
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "characters; the limit is 2000" in render_answer(
        items.item("compose-reply"), {"text": text}
    )


def test_key_that_does_not_fit_names_line_and_field(tmp_path: Path, items: Any) -> None:
    bad = tmp_path / "communication-skills.yaml"
    bad.write_text(
        "assignment: communication-skills\nkeys:\n  cues-breathless:\n    cues: [3, 40]\n"
        "    points: 3\n  reply-to-worry:\n    option_points: [0, 2]\n    points: 2\n"
    )
    with pytest.raises(ContentError) as caught:
        load_key(bad, items)
    text = str(caught.value)
    assert ":4: keys.cues-breathless.cues: lines [40] are not in the transcript" in text
    assert ":7: keys.reply-to-worry.option_points: 2 values for 4 options" in text


def test_check_finds_points_that_differ_from_the_key(tmp_path: Path) -> None:
    course = tmp_path / "assignments"
    shutil.copytree(ASSIGNMENTS, course)
    key = course / "keys" / "communication-skills.yaml"
    key.write_text(key.read_text().replace("points: 3", "points: 4"))
    problems = [str(p) for p in check_paths([course])]
    assert any(
        "'test-cues-breathless' is worth 3 points but the key gives 4" in p for p in problems
    )
    (course / "rubrics" / "reflect.yaml").write_text(
        "id: reflect\ntitle: x\ncriteria: []\nbands: []\n"
    )
    problems = [str(p) for p in check_paths([course])]
    assert any("reflect.yaml:3: criteria" in p for p in problems), problems


def test_repository_assignments_pass_check() -> None:
    assert check_paths([ASSIGNMENTS]) == []


# --- the answers file ------------------------------------------------------------------------------


def test_answers_append_and_latest_wins(tmp_path: Path) -> None:
    answers = AssessedAnswers(tmp_path, assignment="a")
    answers.save("x", {"option": 1})
    answers.save("x", {"option": 2})
    answers.save("y", {"text": "naïve =1+1 <b>"})
    found = read_answers(tmp_path / ANSWERS_FILE)
    assert found.problems == []
    assert found.latest("x") == {"option": 2} and len(found.history("x")) == 2
    assert found.latest("y") == {"text": "naïve =1+1 <b>"}
    assert not list(tmp_path.glob(".answers-*"))  # no temporary files left behind


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "cannot be read"),
        ("[1, 2]", "no list of entries"),
        ('{"schema": 1, "entries": [1, {"item": "x", "value": 1, "time": true}]}', "entry 0"),
        ('{"schema": 9, "entries": []}', "unknown answers file schema"),
        ("[" * 100_000, "cannot be read"),
    ],
)
def test_damaged_answers_file_never_raises(tmp_path: Path, content: str, problem: str) -> None:
    (tmp_path / ANSWERS_FILE).write_text(content)
    found = read_answers(tmp_path / ANSWERS_FILE)
    assert any(problem in p for p in found.problems), found.problems


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["schema", "entries", "x"]), json_values) | json_values)
def test_any_json_reads_without_raising_and_scores_in_range(data: Any) -> None:
    import tempfile

    items = load_items(ITEMS)
    key = load_key(KEY, items)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ANSWERS_FILE
        path.write_text(json.dumps(data))
        found = read_answers(path)
        for item in items.items:
            if item.id in key.keys:
                score = score_answer(item, key.keys[item.id], found.latest(item.id))
                assert 0 <= score.points <= score.max_points


def test_oversized_or_missing_answers_file(tmp_path: Path) -> None:
    assert read_answers(tmp_path / ANSWERS_FILE).problems == ["no answers file was submitted"]
    (tmp_path / ANSWERS_FILE).write_bytes(b" " * (21 * 1024 * 1024))
    assert "was not read" in read_answers(tmp_path / ANSWERS_FILE).problems[0]


def test_saving_over_a_damaged_file_keeps_a_copy(tmp_path: Path) -> None:
    (tmp_path / ANSWERS_FILE).write_text("{damaged but precious")
    AssessedAnswers(tmp_path).save("x", {"option": 0})
    backups = list(tmp_path.glob(f"{ANSWERS_FILE}.*.bak"))
    assert [b.read_text() for b in backups] == ["{damaged but precious"]


# --- in the kernel: grade_item, check_saved, the key's location -------------------------------------------


def assignment_copy(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    (course / "keys").mkdir(parents=True)
    shutil.copy(KEY, course / "keys")
    folder = course / "autograded" / "s1" / "communication-skills"
    folder.mkdir(parents=True)
    shutil.copy(ITEMS, folder)
    return folder


def test_grade_item_reads_answers_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COURSEWARE_KEYS", raising=False)
    folder = assignment_copy(tmp_path)
    AssessedAnswers(folder).save("cues-breathless", {"lines": [3, 5]})
    assert grade_item("communication-skills", "cues-breathless", folder) == 2.0
    assert "2 of 3 cues found" in capsys.readouterr().out
    assert grade_item("communication-skills", "reply-to-worry", folder) == 0.0
    check_saved("reply-to-worry", folder)  # a learner's Run All carries on
    assert "No answer saved for 'Part B: choosing a response' yet." in capsys.readouterr().out
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    with pytest.raises(AssertionError, match="No answer saved"):
        check_saved("reply-to-worry", folder)
    check_saved("cues-breathless", folder)
    assert "is saved" in capsys.readouterr().out


def test_a_key_inside_the_submission_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COURSEWARE_KEYS", raising=False)
    folder = assignment_copy(tmp_path)
    (folder / "keys").mkdir()
    (folder / "keys" / "communication-skills.yaml").write_text("forged")
    assert find_key("communication-skills", folder) == tmp_path / "course" / "keys" / KEY.name
    shutil.rmtree(tmp_path / "course" / "keys")
    with pytest.raises(FileNotFoundError):
        find_key("communication-skills", folder)


# --- rubric ---------------------------------------------------------------------------------------------


def test_reflect_rubric_is_marked_by_level() -> None:
    rubric = load_rubric(RUBRIC)
    assert rubric.by_level and rubric.overall is not None
    assert [c.id for c in rubric.criteria] == [
        "writing-spectrum",
        "presence",
        "dilemma",
        "emotions",
        "meaning-making",
    ]
    order = ["habitual", "thoughtful", "reflection", "critical"]
    assert all([lv.id for lv in c.levels] == order for c in rubric.criteria)
    assert [lv.id for lv in rubric.overall.levels] == order
    assert [ln.id for ln in rubric.overall.learning] == ["confirmatory", "transformative"]
    assert [g for g, _, _ in rubric.grades()] == [
        "habitual",
        "thoughtful",
        "reflection",
        "critical-confirmatory",
        "critical-transformative",
    ]
    levels = {c.id: "critical" for c in rubric.criteria}
    assert rubric.grade({**levels, "overall": "critical", "learning": "transformative"}) == (
        "critical-transformative"
    )
    with pytest.raises(ValueError, match="no level 'superb'"):
        rubric.grade({**levels, "presence": "superb", "overall": "reflection"})
    with pytest.raises(ValueError, match="missing"):
        rubric.grade({"presence": "critical", "overall": "reflection"})
    with pytest.raises(ValueError, match="needs a judgement of learning"):
        rubric.grade({**levels, "overall": "critical"})
    with pytest.raises(ValueError, match="choose an overall level"):
        rubric.grade(levels)
    with pytest.raises(ValueError, match="course's standard"):
        rubric.total({**levels, "overall": "reflection"})


def test_narrative_medicine_rubric_fits_both_parts() -> None:
    rubric = load_rubric(NARRATIVE_RUBRIC)
    assert [c.name for c in rubric.criteria] == [
        "Attention to form and voice",
        "Use of evidence from the text",
        "Perspective-taking",
        "Reflective insight into practice",
    ]
    assert all(len(c.levels) == 4 and c.levels[0].points == 0 for c in rubric.criteria)
    assert (rubric.min_total, rubric.max_total) == (0, 10)
    notebook = json.loads(
        (ASSIGNMENTS / "source" / "narrative-medicine" / "narrative-medicine.ipynb").read_text()
    )
    answers = {
        c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"]
        for c in notebook["cells"]
        if c["metadata"].get("nbgrader", {}).get("solution")
    }
    assert answers == {"close-reading": 10, "parallel-chart": 10}  # each part is one script
    secure = {c.id: "secure" for c in rubric.criteria}
    assert rubric.total(secure) == 6 and rubric.band(6).id == "merit"
    emerging = {c.id: "emerging" for c in rubric.criteria}
    assert rubric.total(emerging) == 3 and rubric.band(3).fail
    assert [rubric.band(x).id for x in (3.5, 4, 5.5, 6, 6.5, 7, 10)] == [
        "fail",
        "pass",
        "pass",
        "merit",
        "merit",
        "distinction",
        "distinction",
    ]


def test_check_finds_an_answer_cell_its_rubric_does_not_fit(tmp_path: Path) -> None:
    course = tmp_path / "assignments"
    shutil.copytree(ASSIGNMENTS, course)
    notebook = course / "source" / "narrative-medicine" / "narrative-medicine.ipynb"
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "parallel-chart":
            cell["metadata"]["nbgrader"]["points"] = 15
    notebook.write_text(json.dumps(nb))
    problems = [str(p) for p in check_paths([course])]
    assert len(problems) == 1, problems
    assert problems[0].endswith(
        "narrative-medicine.ipynb:1: answer cell 'parallel-chart' is worth 15 points but rubric "
        "'narrative-medicine' totals 10"
    )
    (course / "rubrics" / "narrative-medicine.yaml").unlink()
    assert check_paths([course]) == []  # the reflective essay's rubric is not named after it


def test_rubric_errors_name_line_and_field(tmp_path: Path) -> None:
    text = NARRATIVE_RUBRIC.read_text().replace(
        'points: 1, descriptor: "Points to', 'points: 0, descriptor: "Points to'
    )
    bad = tmp_path / "narrative-medicine.yaml"
    bad.write_text(text)
    with pytest.raises(ContentError) as caught:
        load_rubric(bad)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.strip() == "levels:")
    assert (
        f"narrative-medicine.yaml:{line}: criteria.0.levels: levels must be listed lowest first"
        in str(caught.value)
    )
    # a rubric by level: the same level ids as the overall levels, no points, no bands
    text = RUBRIC.read_text().replace(
        '{id: thoughtful, name: Thoughtful action, descriptor: "A clear',
        '{id: thoughtful, name: Thoughtful action, points: 1, descriptor: "A clear',
    )
    text += "bands:\n  - {id: fail, name: Fail, min: 0, fail: true}\n"
    bad = tmp_path / "reflect.yaml"
    bad.write_text(text)
    with pytest.raises(ContentError) as caught:
        load_rubric(bad)
    assert "criteria.0.levels: a rubric by level gives no points per level" in str(caught.value)
    assert "bands: a rubric by level has no bands" in str(caught.value)


# --- REFLECT by level: overall level, pass by the course's academic level ---------------------------

COURSES = REPO / "courses"


def standard(fheq: int, pass_level: str, out_of: float = 20) -> Standard:
    return Standard("test", fheq, pass_mark_for(fheq), pass_level, out_of)


def test_thoughtful_action_everywhere_with_confirmatory_learning_does_not_pass() -> None:
    """The old scheme summed points: thoughtful action on every criterion (5) plus confirmatory
    learning (3) reached the pass mark (8/20) with no writing at the reflection level."""
    rubric = load_rubric(RUBRIC)
    std = course_standard(COURSES / "creative-medicine-cpd.yaml", "reflective-essay", rubric, 20)
    assert (std.fheq_level, std.pass_mark, std.pass_level) == (7, 50.0, "reflection")
    marked = rubric.for_standard(std)
    thoughtful = {c.id: "thoughtful" for c in rubric.criteria}
    with pytest.raises(ValueError, match=r"learning .* is judged only within Critical reflection"):
        marked.total({**thoughtful, "overall": "thoughtful", "learning": "confirmatory"})
    with pytest.raises(ValueError, match="above what the criteria support"):
        marked.total({**thoughtful, "overall": "reflection"})
    total = marked.total({**thoughtful, "overall": "thoughtful"})
    assert marked.band(total).fail and total < 20 * 0.5
    # reflection on three of five criteria supports an overall reflection, which passes
    mixed = {
        **thoughtful,
        "presence": "reflection",
        "dilemma": "reflection",
        "emotions": "critical",
    }
    assert rubric.ceiling(mixed) == "reflection"
    total = marked.total({**mixed, "overall": "reflection"})
    assert total == 10 and not marked.band(total).fail
    # ... but the marker may judge the whole lower than the criteria allow
    assert marked.band(marked.total({**mixed, "overall": "thoughtful"})).fail


@pytest.mark.parametrize("fheq", [4, 5, 6, 7, 8])
@pytest.mark.parametrize("out_of", [10, 15, 20, 25])
def test_a_pass_is_the_pass_level_whatever_the_course_level(fheq: int, out_of: float) -> None:
    """Score >= the pass mark of the course's FHEQ level exactly when the level >= the pass level."""
    rubric = load_rubric(RUBRIC)
    assert pass_mark_for(fheq) == (40 if fheq <= 6 else 50)
    order = ["habitual", "thoughtful", "reflection", "critical"]
    for pass_level in order[1:] if fheq <= 6 else order[2:]:
        std = standard(fheq, pass_level, out_of)
        points = rubric.grade_points(std)
        values = list(points.values())
        assert values == sorted(values) and len(set(values)) == len(values)
        assert values[-1] == out_of and all(v * 2 == int(v * 2) for v in values)
        for grade, level, _ in rubric.grades():
            passes = points[grade] >= out_of * std.pass_mark / 100
            assert passes == (order.index(level) >= order.index(pass_level)), (grade, std)
        assert points[pass_level if pass_level != "critical" else "critical-confirmatory"] == (
            out_of * std.pass_mark / 100
        )


def test_the_course_file_sets_the_standard(tmp_path: Path) -> None:
    rubric = load_rubric(RUBRIC)
    source = (COURSES / "creative-medicine-cpd.yaml").read_text()
    course = tmp_path / "creative-medicine-cpd.yaml"
    course.write_text(source.replace("pass_level: reflection", "pass_level: thoughtful"))
    with pytest.raises(ValueError, match="pass_level must be reflection or above"):
        course_standard(course, "reflective-essay", rubric, 20)
    course.write_text(source.replace("    pass_level: reflection\n", ""))
    with pytest.raises(ValueError, match="set its pass_level to one of"):
        course_standard(course, "reflective-essay", rubric, 20)
    with pytest.raises(ValueError, match="does not assess 'communication-skills'"):
        course_standard(COURSES / "creative-medicine-cpd.yaml", "communication-skills", rubric, 9)
    # at undergraduate levels the pass mark is 40%, and the course may pass thoughtful action
    ug = tmp_path / "ug.yaml"
    ug.write_text(
        source.replace("id: creative-medicine-cpd", "id: ug")
        .replace("award: msc-module", "award: undergraduate-thread")
        .replace("fheq_level: 7", "fheq_level: 5")
        .replace("pass_level: reflection", "pass_level: thoughtful")
    )
    std = course_standard(ug, "reflective-essay", rubric, 20)
    assert (std.pass_mark, std.pass_level) == (40.0, "thoughtful")
    marked = rubric.for_standard(std)
    thoughtful = {c.id: "thoughtful" for c in rubric.criteria}
    assert marked.total({**thoughtful, "overall": "thoughtful"}) == 8
    # a rubric by points takes the pass mark from the course too, not from its bands
    narrative = load_rubric(NARRATIVE_RUBRIC)
    std = course_standard(
        COURSES / "medical-humanities-cpd.yaml", "narrative-medicine", narrative, 10
    )
    assert std.pass_mark == 50 and narrative.for_standard(std).band(4.5).fail
    assert not narrative.band(4.5).fail  # the rubric's own bands put the pass at 40%


def test_course_files_need_an_academic_level_for_assessed_work(tmp_path: Path) -> None:
    from courseware.content import ContentError as CourseError
    from courseware.content._course import load_course

    source = (COURSES / "creative-medicine-cpd.yaml").read_text()
    course = tmp_path / "creative-medicine-cpd.yaml"
    course.write_text(source.replace("fheq_level: 7\n", ""))
    with pytest.raises(CourseError, match="add fheq_level"):
        load_course(course)
    course.write_text(source.replace("fheq_level: 7", "fheq_level: 6"))
    with pytest.raises(CourseError, match="an MSc module is at FHEQ level 7"):
        load_course(course)
    for path in sorted(COURSES.glob("*.yaml")):
        spec = load_course(path).spec
        if spec.award == "msc-module":
            assert spec.fheq_level == 7, path


@pytest.mark.parametrize("seed", range(3))
def test_agreement_by_level_is_on_the_ordinal_grades(seed: int) -> None:
    rubric = load_rubric(RUBRIC).for_standard(standard(7, "reflection"))
    points = [band.min for band in rubric.bands]
    rng = random.Random(seed)
    a = [rng.randint(0, 4) for _ in range(30)]
    b = [min(4, max(0, x + rng.choice([-1, 0, 0, 1, 2]))) for x in a]
    stats = agreement([points[x] for x in a], [points[y] for y in b], rubric)
    assert stats.on == "levels"
    assert stats.weighted_kappa == pytest.approx(kappa_by_hand(a, b, 5))
    assert stats.icc == pytest.approx(icc_a1_by_hand([float(x) for x in a], [float(y) for y in b]))
    assert stats.mean_difference == pytest.approx(
        sum(y - x for x, y in zip(a, b, strict=True)) / 30
    )
    assert "weighted kappa (quadratic, levels)" in stats.lines()[1]
    # a script's two marks agree only at the same grade; a level is never averaged
    assert decide(rubric, {"first": 10, "second": 10}, sampled=True).total == 10
    assert decide(rubric, {"first": 10, "second": 15}, sampled=True).status == "third"
    assert decide(rubric, {"first": 6.5, "second": 20, "third": 15}, sampled=True).total == 15


# --- moderation rules -------------------------------------------------------------------------------------


def test_sample_small_cohort_is_everyone() -> None:
    rubric = load_rubric(NARRATIVE_RUBRIC)
    marks = {f"S{i}": float(i) for i in range(9)}
    assert sorted(second_marking_sample(marks, rubric)) == sorted(marks)


@pytest.mark.parametrize("size", [11, 40, 100, 237])
def test_sample_has_fails_range_and_size(size: int) -> None:
    rubric = load_rubric(NARRATIVE_RUBRIC)  # by points: 0-10, fail below 4
    rng = random.Random(size)
    marks = {f"S{i:03d}": float(rng.randint(0, 20)) / 2 for i in range(size)}
    sample = second_marking_sample(marks, rubric)
    fails = {s for s, m in marks.items() if m < 4}
    assert fails <= set(sample)
    assert len(sample) >= max(math.ceil(size / 10), 10)
    assert len(sample) <= max(math.ceil(size / 10), 10) + len(fails)
    got = [marks[s] for s in sample]
    assert min(marks.values()) in got and max(marks.values()) in got
    above = [m for m in got if m >= 4]
    assert len(above) >= len(got) - len(fails)  # passes are sampled, not crowded out by fails
    assert second_marking_sample(marks, rubric, all_scripts=True) == sorted(
        marks, key=lambda s: (marks[s], s)
    )


def test_decide() -> None:
    rubric = load_rubric(NARRATIVE_RUBRIC)  # bands: fail < 4 <= pass < 6 <= merit < 7
    assert decide(rubric, {}, sampled=True).status == "first"
    assert decide(rubric, {"first": 4}, sampled=False).total == 4
    assert decide(rubric, {"first": 4}, sampled=True).status == "second"
    assert decide(rubric, {"first": 4, "second": 5}, sampled=True).total == 4.5
    assert decide(rubric, {"first": 4, "second": 5.5}, sampled=True).total == 5  # 4.75 -> 5
    assert decide(rubric, {"first": 5.5, "second": 6.5}, sampled=True).status == "third"
    assert decide(rubric, {"first": 5.5, "second": 8, "third": 6}, sampled=True).total == 6
    assert round_half(9.25) == 9.5 and round_half(9.24) == 9.0


# --- agreement statistics against independent implementations --------------------------------------------


def kappa_by_hand(a: list[int], b: list[int], k: int) -> float:
    observed = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        observed[x, y] += 1
    n = len(a)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    weights = np.array([[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)])
    return float(1 - (weights * observed).sum() / (weights * expected).sum())


def icc_a1_by_hand(x: list[float], y: list[float]) -> float:
    """McGraw and Wong's ICC(A,1) from the two-way ANOVA mean squares."""
    data = np.array([x, y]).T
    n, k = data.shape
    grand = data.mean()
    msr = k * ((data.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    msc = n * ((data.mean(axis=0) - grand) ** 2).sum() / (k - 1)
    resid = data - data.mean(axis=1, keepdims=True) - data.mean(axis=0, keepdims=True) + grand
    mse = (resid**2).sum() / ((n - 1) * (k - 1))
    return float((msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n))


@pytest.mark.parametrize("seed", range(5))
def test_kappa_and_icc_match_hand_computation(seed: int) -> None:
    rng = random.Random(seed)
    first = [float(rng.randint(0, 20)) / 2 for _ in range(25)]
    second = [min(10.0, max(0.0, f + rng.choice([-1, -0.5, 0, 0, 0.5, 1.5]))) for f in first]
    rubric = load_rubric(NARRATIVE_RUBRIC)
    a = [rubric.band_index(v) for v in first]
    b = [rubric.band_index(v) for v in second]
    assert weighted_kappa(a, b, 4) == pytest.approx(kappa_by_hand(a, b, 4))
    icc, ci = icc_absolute(first, second)
    assert icc == pytest.approx(icc_a1_by_hand(first, second))
    assert ci is not None and ci[0] <= icc <= ci[1]
    stats = agreement(first, second, rubric)
    assert stats.within_one_band == pytest.approx(
        sum(abs(x - y) <= 1 for x, y in zip(a, b, strict=True)) / 25
    )
    assert stats.same_band == pytest.approx(sum(x == y for x, y in zip(a, b, strict=True)) / 25)


def test_agreement_with_too_few_scripts() -> None:
    stats = agreement([5.0, 6.0], [5.0, 6.0], load_rubric(NARRATIVE_RUBRIC))
    assert stats.icc is None and stats.same_band == 1.0
    assert agreement([], [], load_rubric(NARRATIVE_RUBRIC)).pairs == 0


# --- exports and feedback ---------------------------------------------------------------------------------


def test_csv_neutralises_formulas(tmp_path: Path) -> None:
    rows = [
        {"a": "=1+1", "b": "+44 20", "c": "-x", "d": "@SUM(A1)", "e": "\t=x", "f": -1.5, "g": "ok"}
    ]
    write_csv(tmp_path / "x.csv", list(rows[0]), rows)
    line = (tmp_path / "x.csv").read_text().splitlines()[1]
    assert line == "'=1+1,'+44 20,'-x,'@SUM(A1),'\t=x,-1.5,ok"
    assert neutralise(3) == 3


def test_pseudonyms_are_stable_and_keyed() -> None:
    assert pseudonym("k", "s1") == pseudonym("k", "s1") != pseudonym("k2", "s1")
    assert "s1" not in pseudonym("k", "s1")


def test_strip_hidden() -> None:
    source = (
        "visible()\n### BEGIN HIDDEN TESTS\nsecret = [3, 5, 9]\n### END HIDDEN TESTS\nafter()\n"
    )
    assert strip_hidden(source) == "visible()\nafter()\n"
    assert strip_hidden("a\n### BEGIN HIDDEN TESTS\nnever closed\n") == "a\n"


def test_released_notebook_has_no_key_material() -> None:
    nb = json.loads(
        (ASSIGNMENTS / "source" / "communication-skills" / "communication-skills.ipynb").read_text()
    )
    key = load_key(KEY)
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        for value in key.keys.values():
            assert str(getattr(value, "cues", "none")) not in source


def test_marking_view_shows_control_characters_instead_of_obeying_them() -> None:
    from courseware.grading._marking_view import render_script

    shown = render_script("S-1", "Hi \x1b[2J\x1b[31mred\x07 naïve 🙂 <b>\nnext")
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b[2J" in shown and "naïve 🙂 <b>\nnext" in shown


def test_odd_things_in_a_submission_are_named(tmp_path: Path) -> None:
    """Answers for items that do not exist and planted key files are reported, never used; the
    submission's digest changes with its files and nothing else."""
    from courseware.grading._submissions import planted_files, submission_digest, unknown_items

    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "items.yaml").write_text(ITEMS.read_text())
    store = AssessedAnswers(folder, assignment="communication-skills")
    store.save("reply-to-worry", {"option": 2})
    store.save("bonus-question", {"option": 1})
    (folder / "keys").mkdir()
    (folder / "keys" / "communication-skills.yaml").write_text("keys: {}\n")
    (folder / "answers.yml").write_text("cues: [3]\n")
    known = {i.id for i in load_items(ITEMS).items}
    (extra,) = unknown_items(folder, known)
    assert "'bonus-question'" in extra and "never scored" in extra
    planted = planted_files(folder, "communication-skills", {"items.yaml"})
    assert [p.split(":")[0] for p in planted] == ["answers.yml", "keys/communication-skills.yaml"]
    before = submission_digest(folder)
    assert before == submission_digest(folder) and submission_digest(tmp_path / "none") == ""
    (folder / "keys" / "communication-skills.yaml").write_text("keys: {x: 1}\n")
    assert submission_digest(folder) != before


def test_saved_answers_list_items_that_do_not_exist(tmp_path: Path) -> None:
    """The notebook's last cell (what the formgrader shows) names answers for unknown items."""
    from courseware.grading._assessment import Assessment

    shutil.copy(ITEMS, tmp_path / "items.yaml")
    AssessedAnswers(tmp_path).save("bonus-question", {"option": 1})
    shown = Assessment(tmp_path).saved().data
    assert "answers for items that do not exist, ignored: bonus-question" in shown


# --- the marking book: an old book upgraded, re-marks recorded ----------------------------------------

OLD_BOOK = """
CREATE TABLE scripts (
    script TEXT PRIMARY KEY, assignment TEXT NOT NULL, student TEXT NOT NULL,
    notebook TEXT NOT NULL, cell TEXT NOT NULL, rubric TEXT NOT NULL, time REAL NOT NULL,
    UNIQUE (assignment, student, notebook, cell));
CREATE TABLE allocations (
    script TEXT NOT NULL REFERENCES scripts(script), role TEXT NOT NULL, marker TEXT NOT NULL,
    time REAL NOT NULL, PRIMARY KEY (script, role));
CREATE TABLE marks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, script TEXT NOT NULL REFERENCES scripts(script),
    role TEXT NOT NULL, marker TEXT NOT NULL, levels TEXT NOT NULL, comments TEXT NOT NULL,
    comment TEXT NOT NULL, total REAL NOT NULL, time REAL NOT NULL);
CREATE TABLE agreed (
    id INTEGER PRIMARY KEY AUTOINCREMENT, script TEXT NOT NULL REFERENCES scripts(script),
    total REAL NOT NULL, comment TEXT NOT NULL, method TEXT NOT NULL, by TEXT NOT NULL,
    time REAL NOT NULL);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
CRITERIA = ["writing-spectrum", "presence", "dilemma", "emotions", "meaning-making"]


def old_levels(level: str, learning: str, **other: str) -> str:
    import json

    return json.dumps({**dict.fromkeys(CRITERIA, level), **other, "learning": learning})


def old_book(path: Path) -> None:
    """A marking book as the version summing REFLECT points left it: three marked scripts."""
    import sqlite3

    db = sqlite3.connect(path)
    db.executescript(OLD_BOOK)
    given = {  # script: (levels, old points total)
        "S-00000001": (old_levels("thoughtful", "confirmatory"), 8.0),  # passed by points
        "S-00000002": (old_levels("critical", "transformative", presence="reflection"), 19.0),
        "S-00000003": (old_levels("critical", "none"), 15.0),
    }
    for n, (script, (levels, total)) in enumerate(given.items()):
        db.execute(
            "INSERT INTO scripts VALUES (?,?,?,?,?,?,?)",
            (script, "reflective-essay", f"s{n}", "reflective-essay", "essay", "reflect", 1.0),
        )
        db.execute("INSERT INTO allocations VALUES (?,?,?,?)", (script, "first", "alice", 1.0))
        db.execute(
            "INSERT INTO marks (script, role, marker, levels, comments, comment, total, time)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (script, "first", "alice", levels, '{"presence": "candid"}', "Old words", total, 2.0),
        )
        db.execute(
            "INSERT INTO agreed (script, total, comment, method, by, time) VALUES (?,?,?,?,?,?)",
            (script, total, "old feedback", "first mark", "moderation", 3.0),
        )
    db.commit()
    db.close()


def test_an_old_marking_book_is_upgraded_keeping_every_mark(tmp_path: Path) -> None:
    from courseware.grading._marking import MarkingBook
    from courseware.grading._marking_rules import mark_grade, mark_total
    from courseware.grading._moderation import agree_marks, marking_rubric

    shutil.copytree(ASSIGNMENTS / "rubrics", tmp_path / "rubrics")
    old_book(tmp_path / "marking.sqlite")
    with MarkingBook(tmp_path / "marking.sqlite") as book:
        marks = book.marks("reflective-essay")
        # every mark as it was given: levels (with the old learning row), comments, points
        assert [m["first"].total for m in marks.values()] == [8.0, 19.0, 15.0]
        assert marks["S-00000001"]["first"].levels["learning"] == "confirmatory"
        assert marks["S-00000002"]["first"].comments == {"presence": "candid"}
        assert all(m["first"].overall is None for m in marks.values())
        assert [a.total for a in book.agreed("reflective-essay").values()] == [8.0, 19.0, 15.0]
        # marking by level needs the course's standard, and says how to give it
        with pytest.raises(GradingError, match="--course-file"):
            marking_rubric(tmp_path, book, "reflective-essay")
        book.set_standard("reflective-essay", standard(7, "reflection"))
        rubric = marking_rubric(tmp_path, book, "reflective-essay")
        marks = book.marks("reflective-essay")
    first = {s: m["first"] for s, m in marks.items()}
    assert all(m.derived for m in first.values())
    assert [mark_grade(rubric, m) for m in first.values()] == [
        "thoughtful",  # confirmatory learning no longer lifts thoughtful action to a pass
        "critical-transformative",  # the median of the criteria; learning kept
        "reflection",  # critical reflection needs learning; "none" stated reads as reflection
    ]
    assert [mark_total(rubric, m) for m in first.values()] == [6.5, 20.0, 10.0]
    assert [m.total for m in first.values()] == [8.0, 19.0, 15.0]  # the points given, kept
    with MarkingBook(tmp_path / "marking.sqlite") as book:
        agreed = agree_marks(book, "reflective-essay", rubric)
        assert {a.level for a in agreed.values()} == {
            "thoughtful",
            "critical-transformative",
            "reflection",
        }
        assert agreed["S-00000001"].total == 6.5 and rubric.band(6.5).fail
        assert "Overall level: Thoughtful action" in agreed["S-00000001"].comment
        import sqlite3

        with sqlite3.connect(tmp_path / "marking.sqlite") as db:
            (rows,) = db.execute("SELECT count(*) FROM agreed").fetchone()
        assert rows == 6  # the old agreed marks are kept beside the new ones


def test_a_remark_records_the_old_and_new_level(tmp_path: Path) -> None:
    from courseware.grading._marking import MarkingBook
    from courseware.grading._moderation import record_mark

    rubric = load_rubric(RUBRIC).for_standard(standard(7, "reflection"))
    with MarkingBook(tmp_path / "marking.sqlite") as book:
        script = book.add_script("reflective-essay", "s1", "reflective-essay", "essay", "reflect")
        book.allocate(script, "first", "alice")
        levels = {c.id: "reflection" for c in rubric.criteria}
        first = record_mark(book, rubric, script, "alice", {**levels, "overall": "thoughtful"})
        assert first.total == 6.5 and book.remarks("reflective-essay") == []
        again = record_mark(book, rubric, script, "alice", {**levels, "overall": "reflection"})
        assert again.total == 10
        (remark,) = book.remarks("reflective-essay")
        assert (remark.script, remark.role, remark.marker) == (script, "first", "alice")
        assert (remark.old_level, remark.new_level) == ("thoughtful", "reflection")
        assert (remark.old_total, remark.new_total) == (6.5, 10)
        assert book.marks("reflective-essay")[script]["first"].overall == "reflection"
        with pytest.raises(GradingError, match="above what the criteria support"):
            record_mark(book, rubric, script, "alice", {**levels, "overall": "critical"})
        assert len(book.remarks("reflective-essay")) == 1  # a refused mark records nothing


def test_grading_and_data_errors_are_courseware_errors() -> None:
    """The CLI catches ``CoursewareError`` once: grading's errors must be beneath it, and still the
    ``RuntimeError``/``ValueError`` callers have always caught."""
    from courseware.analytics import DataError
    from courseware.errors import CoursewareError
    from courseware.grading import GradingError as Exported
    from courseware.grading import InvalidAnswer

    assert Exported is GradingError
    assert issubclass(GradingError, CoursewareError) and issubclass(GradingError, RuntimeError)
    assert issubclass(InvalidAnswer, CoursewareError) and issubclass(InvalidAnswer, ValueError)
    assert issubclass(DataError, CoursewareError) and issubclass(DataError, ValueError)
