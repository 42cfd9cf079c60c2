"""The virtual-patient engine without a kernel: counters, conditions, routes, variants, debrief,
and the lint that finds what authors get wrong (each problem at its file and line)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import problems_of

from courseware.content import (
    ChoiceNotOffered,
    Vignette,
    check_paths,
    load_vignette,
)

from conftest import FIXTURES

RESULTS = FIXTURES / "engine" / "vignettes" / "results-day.yaml"


def write(tmp_path: Path, text: str, name: str = "case") -> Path:
    folder = tmp_path / "vignettes"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def reported(found: list[str], path: Path, anchor: str, message: str) -> bool:
    """Whether ``message`` is reported at the line of ``path`` holding ``anchor``."""
    prefix = f"{path}:{line_of(path, anchor)}: "
    return any(p.startswith(prefix) and message in p for p in found)


def line_of(path: Path, text: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if text in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{text!r} not in {path}")


@pytest.fixture(scope="module")
def results() -> Vignette:
    return load_vignette(RESULTS)


def test_effects_change_counters_within_bounds(results: Vignette) -> None:
    walk = results.walk()
    assert walk.counters == {"rapport": 0, "worry": 2}
    walk.choose(1, at="door")  # the terminator: worry up
    assert walk.counters == {"rapport": 0, "worry": 3}
    walk.choose(0, at="talk")  # silence: worry down, rapport up
    walk.choose(0, at="talk")
    walk.choose(0, at="talk")
    assert walk.counters == {"rapport": 3, "worry": 0}
    assert [i for i, _ in walk.offered()] == [1, 2]  # silence needs worry >= 1; asking needs 3


def test_counters_are_clamped_to_their_bounds(results: Vignette) -> None:
    walk = results.walk()
    walk.choose(1)  # worry 2 -> 3 (its maximum)
    walk.choose(0)
    walk.choose(0)
    walk.choose(0)  # worry 0 (its minimum): silence is no longer offered
    assert walk.counters == {"rapport": 3, "worry": 0}
    spec = results.spec
    assert spec.counters["rapport"].clamp(99) == 4 and spec.counters["worry"].clamp(-5) == 0


def test_conditional_choice_is_refused_until_it_holds(results: Vignette) -> None:
    walk = results.walk()
    walk.choose(0)  # rapport 2, worry 1
    with pytest.raises(ChoiceNotOffered):
        walk.choose(2, at="talk")  # needs rapport >= 3
    assert walk.path == ["door", "talk"] and walk.counters["rapport"] == 2
    walk.choose(0, at="talk")  # rapport 3
    assert 2 in dict(walk.offered())
    walk.choose(2, at="talk")
    assert walk.node_id == "news-shared" and walk.finished


def test_route_depends_on_counters_after_the_choice(results: Vignette) -> None:
    kind = results.walk()
    kind.choose(0)
    kind.choose(1)
    assert kind.node_id == "news-shared"
    blunt = results.walk()
    blunt.choose(1)
    blunt.choose(1)
    assert blunt.node_id == "news-hard"
    assert blunt.steps[-1].to == "news-hard"


def test_ending_text_depends_on_counters(results: Vignette) -> None:
    calm = results.walk()
    calm.choose(0)  # worry 1
    calm.choose(0)  # worry 0
    calm.choose(1)
    assert calm.text[1].startswith("She listens, breathes out")
    tense = results.walk()
    tense.choose(0)
    tense.choose(1)
    assert tense.text == ("Shared news", "She listens, and asks what happens next.")


def test_forged_moves_change_nothing(results: Vignette) -> None:
    walk = results.walk()
    for forged in (5, -1, "0", None, True):
        with pytest.raises(ChoiceNotOffered):
            walk.choose(forged, at="door")  # type: ignore[arg-type]
    with pytest.raises(ChoiceNotOffered):
        walk.choose(0, at="talk")  # a node the learner is not at
    assert walk.path == ["door"] and walk.counters == {"rapport": 0, "worry": 2}


def test_replaying_steps_restores_the_same_state(results: Vignette) -> None:
    walk = results.walk()
    for index in (1, 0, 0, 1):
        walk.choose(index)
    again = results.walk(walk.steps)
    assert again.states == walk.states and again.path == walk.path


def test_debrief_compares_with_the_expert_and_counts_opportunities(results: Vignette) -> None:
    walk = results.walk()
    walk.choose(1)  # terminator at the opportunity; not the expert's choice
    walk.choose(0)
    walk.choose(1)  # the expert's choice at talk
    debrief = walk.debrief()
    assert debrief.path == ("door", "talk", "talk", "news-hard")
    assert debrief.expert_path == ("door", "talk", "news-shared")
    assert debrief.expert_labels[0] == "You look worried. What's on your mind?"
    assert [s.matched_expert for s in debrief.steps] == [False, False, True]
    assert debrief.expert_matches == 1 and debrief.expert_points == 3
    assert len(debrief.opportunities_missed) == 1 and debrief.opportunities_taken == []
    assert debrief.opportunities_missed[0].opportunity.startswith("A direct question")
    assert debrief.trajectory == {"rapport": (0, 0, 1, 1), "worry": (2, 3, 2, 2)}
    assert debrief.ending == "news-hard" and debrief.ending_title == "Hard news"
    assert debrief.reflect == "What moved the rapport counter most, and why?"
    best = results.walk()
    best.choose(0)
    best.choose(1)
    assert best.debrief().followed_expert
    assert len(best.debrief().opportunities_taken) == 1


def test_old_vignettes_still_load_and_walk() -> None:
    demo = load_vignette(FIXTURES / "modules" / "demo" / "vignettes" / "waiting-room.yaml")
    walk = demo.walk()
    walk.choose(0)
    walk.choose(0)
    assert walk.finished and walk.counters == {}
    debrief = walk.debrief()
    assert debrief.expert_path is None and debrief.trajectory == {}
    assert "Look back at your path" in debrief.reflect


def test_perspective_mode_is_part_of_the_model(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        id: case
        title: "Through her eyes"
        start: a
        perspective: {role: carer, character: "Mrs Ada Lowe, whose husband has dementia"}
        nodes:
          a:
            title: "On the ward"
            text: "The nurse says 'He's just confused' without looking at you."
            techniques: [terminator]
            choices:
              - {label: "Say nothing", to: b}
          b: {text: "You go home.", end: true}
        """,
    )
    vignette = load_vignette(path)
    assert vignette.spec.perspective is not None and vignette.spec.perspective.role == "carer"
    walk = vignette.walk()
    walk.choose(0)
    debrief = walk.debrief()
    assert "Mrs Ada Lowe" in debrief.reflect
    assert debrief.experienced == (("On the ward", ("terminator",)),)  # the title, not the id


BASE = """\
id: case
title: "A case"
start: a
counters:
  trust: {label: Trust, start: 0, min: 0, max: 3}
nodes:
  a:
    text: "Start"
    choices:
      - label: "Go"
        to: b
        effects: {trust: 1}
  b:
    text: "End"
    end: true
"""


def test_undefined_counters_are_reported_at_their_line(tmp_path: Path) -> None:
    text = BASE.replace("effects: {trust: 1}", "effects: {trsut: 1}\n        when: 'rapport > 1'")
    path = write(tmp_path, text)
    found = problems_of(path)
    undeclared = "is not declared under 'counters'"
    assert reported(found, path, "effects:", f"effects.trsut: counter 'trsut' {undeclared}")
    assert reported(found, path, "when:", f"when.0: counter 'rapport' {undeclared}"), found


def test_unreadable_condition_and_unknown_technique(tmp_path: Path) -> None:
    text = BASE.replace(
        "effects: {trust: 1}",
        "effects: {trust: 1}\n        when: 'trust is high'\n        techniques: [naming, hugging]",
    )
    path = write(tmp_path, text)
    found = problems_of(path)
    assert reported(found, path, "when:", "choices.0.when.0: cannot read the condition"), found
    assert reported(found, path, "techniques:", "techniques.1: unknown technique 'hugging'")


def test_condition_that_can_never_hold(tmp_path: Path) -> None:
    text = BASE.replace(
        "        effects: {trust: 1}\n",
        "        effects: {trust: 1}\n      - label: Leap\n        to: b\n        when: 'trust >= 2'\n",
    )
    path = write(tmp_path, text)
    (problem,) = problems_of(path)
    assert problem == (
        f"{path}:{line_of(path, 'when:')}: nodes.a.choices.1.when: condition 'trust >= 2' can"
        " never hold here (on reaching 'a', trust = 0)"
    )


def test_ending_unreachable_under_any_counter_values(tmp_path: Path) -> None:
    text = BASE + textwrap.indent(
        textwrap.dedent("""\
        c:
          text: "Trusted ending"
          end: true
        """),
        "  ",
    )
    text = text.replace(
        "        effects: {trust: 1}\n",
        "        effects: {trust: 1}\n        routes:\n          - {when: 'trust > 1', to: c}\n",
    )
    path = write(tmp_path, text)
    found = problems_of(path)
    assert (
        f"{path}:{line_of(path, '  c:')}: nodes.c: ending 'c' cannot be reached under any counter values"
        in found
    )
    assert any(
        f":{line_of(path, 'routes:') + 1}: nodes.a.choices.0.routes.0.when: condition 'trust > 1'"
        " can never hold here (after this choice, trust = 1)" in p
        for p in found
    ), found


def test_cycle_with_no_way_out(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        id: case
        title: "Round and round"
        start: a
        counters:
          calm: {label: Calm, start: 0, min: 0, max: 2}
        nodes:
          a:
            text: "Start"
            choices:
              - {label: "Try", to: loop1}
              - {label: "Leave", to: end}
          loop1:
            text: "Again"
            choices:
              - {label: "On", to: loop2, effects: {calm: -1}}
              - {label: "Out", to: end, when: "calm >= 1"}
          loop2:
            text: "And again"
            choices:
              - {label: "Back", to: loop1}
          end:
            text: "Done"
            end: true
        """,
    )
    found = problems_of(path)
    assert any(
        p.startswith(f"{path}:{line_of(path, 'loop1:')}: nodes.loop1: cycle with no way out")
        and "'loop1', 'loop2'" in p
        for p in found
    ), found
    assert any("condition 'calm >= 1' can never hold here" in p for p in found)


def test_stuck_when_every_condition_fails(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        id: case
        title: "Stuck"
        start: a
        counters:
          n: {label: N, min: 0, max: 5}
        nodes:
          a:
            text: "Start"
            choices:
              - {label: "Up", to: b, effects: {n: 2}}
              - {label: "Stay", to: b}
          b:
            text: "Middle"
            choices:
              - {label: "Only if high", to: c, when: "n >= 1"}
          c: {text: "End", end: true}
        """,
    )
    (problem,) = problems_of(path)
    assert problem == (
        f"{path}:{line_of(path, '  b:')}: nodes.b: the learner can get stuck at node 'b' with"
        " n = 0: every choice's condition fails"
    )


def test_unbounded_loop_falls_back_to_interval_reasoning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        id: case
        title: "Endless counting"
        start: a
        counters:
          n: {label: N}
        nodes:
          a:
            text: "Count"
            choices:
              - {label: "Again", to: a, effects: {n: 1}}
              - {label: "Stop", to: z}
              - {label: "Below zero", to: z, when: "n < 0"}
          z: {text: "End", end: true}
        """,
    )
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{line_of(path, 'Below zero')}: nodes.a.choices.2.when:")
    assert "condition 'n < 0' can never hold here (on reaching 'a', n between 0 and inf)" in problem


def test_expert_path_must_reach_an_ending(tmp_path: Path) -> None:
    text = BASE.replace(
        "        effects: {trust: 1}\n", "        effects: {trust: 1}\n        expert: true\n"
    )
    text = text.replace(
        '    text: "End"\n    end: true\n',
        '    text: "Mid"\n    choices:\n      - {label: On, to: c}\n      - {label: Off, to: c, expert: true}\n      - {label: Also, to: c, expert: true}\n  c: {text: End, end: true}\n',
    )
    path = write(tmp_path, text)
    found = problems_of(path)
    assert any(
        f":{line_of(path, 'Also')}: nodes.b.choices.2.expert: node 'b' already has an expert choice"
        in p
        for p in found
    ), found
    fixed = write(tmp_path, text.replace(", expert: true}\n  c:", "}\n  c:"))
    assert load_vignette(fixed).expert_path() is not None
    broken = write(
        tmp_path,
        text.replace("{label: Off, to: c, expert: true}", "{label: Off, to: c}").replace(
            ", expert: true}\n  c:", "}\n  c:"
        ),
    )
    (problem,) = problems_of(broken)
    assert "the expert path reaches a node with no expert choice at node 'b'" in problem


def test_opportunity_needs_a_choice_that_takes_it(tmp_path: Path) -> None:
    text = BASE.replace('    text: "Start"\n', '    text: "Start"\n    opportunity: "She sighs."\n')
    text = text.replace(
        "effects: {trust: 1}", "effects: {trust: 1}\n        techniques: [closed-question]"
    )
    path = write(tmp_path, text)
    (problem,) = problems_of(path)
    assert f":{line_of(path, 'opportunity:')}: nodes.a.opportunity: this node offers" in problem
    both = write(tmp_path, text.replace("[closed-question]", "[naming, terminator]"))
    found = problems_of(both)
    assert any(
        "cannot both take up a cue and shut it down (naming, terminator)" in p for p in found
    )


def test_counter_start_outside_bounds(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("start: 0, min: 0", "start: 9, min: 0"))
    (problem,) = problems_of(path)
    assert f"{path}:{line_of(path, 'trust:')}: counters.trust: start 9 is outside" in problem


def test_check_reports_engine_problems_as_file_line_message(tmp_path: Path) -> None:
    text = BASE.replace("effects: {trust: 1}", "effects: {trust: 1}\n        when: 'trust > 5'")
    path = write(tmp_path, text)
    stuck, never, unreachable = check_paths([tmp_path])
    assert str(stuck) == (
        f"{path}:{line_of(path, '  a:')}: nodes.a: the learner can get stuck at node 'a' with"
        " trust = 0: every choice's condition fails"
    )
    assert never.line == line_of(path, "when:")
    assert str(never).endswith("can never hold here (on reaching 'a', trust = 0)")
    assert str(unreachable).endswith("ending 'b' cannot be reached under any counter values")


def test_the_fixture_is_clean() -> None:
    assert check_paths([RESULTS]) == []
