"""Options in an order that gives nothing away: shuffled per learner (per session in a seminar),
the same on every reload, replay and restart; a position named by the browser picks the option
shown there; the author can pin an order only by saying why; grading never sees the order."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import click, comm_message

from courseware.apps import Seminar
from courseware.apps._seminar import open_session
from courseware.content import ContentError, load_module, load_vignette
from courseware.content._order import display_order
from courseware.grading import ANSWERS_FILE, open_assessment, read_answers
from courseware.grading._assessment import grade_item
from courseware.store import SQLiteStore
from courseware.widgets import ModuleView, open_module

from conftest import FIXTURES, REPO

GALLERY = REPO / "docs" / "widget-gallery"
DEMO = FIXTURES / "modules" / "demo"
ASSIGNMENT = REPO / "assignments" / "source" / "communication-skills"
LEARNERS = ("ana", "ben", "cai", "dee")


def gallery(store: SQLiteStore, learner: str) -> ModuleView:
    return open_module(GALLERY, store=store, learner=learner)


def seen(store: SQLiteStore, learner: str) -> dict[str, list[str]]:
    """What one learner sees, as labels in screen order: a case's first choices, a
    response-choice exercise's replies and a self-check question's options."""
    module = gallery(store, learner)
    case = module.vignette("night-call")
    reply = module.exercise("first-reply")
    demo = open_module(DEMO, store=store, learner=learner).self_check()
    question = [c for c in demo.children if getattr(c, "children", None)][-1]
    return {
        "case": [b.description for b in case.choices.children],
        "reply": [b.description for b in reply.children[3].children],
        "check": [b.description for b in question.children],
    }


def test_two_learners_see_different_orders_each_stable_after_a_reload(
    store: SQLiteStore,
) -> None:
    first = {learner: seen(store, learner) for learner in LEARNERS}
    for part in ("case", "reply", "check"):
        orders = {tuple(first[learner][part]) for learner in LEARNERS}
        assert len(orders) > 1, f"every learner sees the {part} options in one order"
        assert all(
            sorted(first[learner][part]) == sorted(first["ana"][part]) for learner in LEARNERS
        )
    assert first["ana"]["reply"] != first["ben"]["reply"]
    for learner in LEARNERS:  # a reload (a new view over the same store) changes nothing
        assert seen(store, learner) == first[learner]


def test_the_order_survives_a_replay_a_restart_and_a_new_interpreter(store: SQLiteStore) -> None:
    case = gallery(store, "ana").vignette("night-call")
    start = [b.description for b in case.choices.children]
    click(case.choices.children[0])
    replayed = gallery(store, "ana").vignette("night-call")  # rebuilt from the stored steps
    assert [b.description for b in replayed.choices.children] == [
        b.description for b in case.choices.children
    ]
    click(replayed.restart_button)
    assert [b.description for b in replayed.choices.children] == start
    code = (
        "from courseware.content._order import display_order;"
        "print(display_order(8, 'ana', 'widget-gallery', 'first-reply'))"
    )
    orders = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert orders == {f"{display_order(8, 'ana', 'widget-gallery', 'first-reply')}\n"}


def test_a_position_from_the_browser_picks_the_option_shown_there(store: SQLiteStore) -> None:
    module = gallery(store, "cai")
    case = module.vignette("night-call")
    shown = list(case.shown)
    assert shown != sorted(shown)  # really shuffled for this learner
    click(case.choices.children[0])  # the click names the first button on screen
    assert case.walk.steps[0].choice == shown[0]

    reply = module.exercise("first-reply")
    assert reply.order != sorted(reply.order)
    click(reply.children[3].children[1])  # the second reply on screen
    assert reply.attempt.picked == reply.order[1]

    check = open_module(DEMO, store=store, learner="cai").self_check()
    buttons = [c for c in check.children if getattr(c, "children", None)][-1]
    click(buttons.children[0])
    chosen = store.events(learner="cai", item="self-check/open-question")[-1].value["choice"]
    assert chosen == check.orders["open-question"][0] == 1  # cai sees option 1 first


@pytest.fixture
def assignment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("COURSEWARE_KEYS", str(REPO / "assignments" / "keys"))
    shutil.copy(ASSIGNMENT / "items.yaml", tmp_path)
    return tmp_path


def test_assessed_choice_is_shuffled_and_grades_the_same(
    assignment: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    best = "That sounds like a frightening thing to carry on your own."
    positions, scores = set(), set()
    for learner in LEARNERS:
        folder = assignment / learner
        folder.mkdir()
        shutil.copy(assignment / "items.yaml", folder)
        monkeypatch.setenv("JUPYTERHUB_USER", learner)  # whose kernel this is, on a hub
        widget = open_assessment(folder).show("reply-to-worry")
        labels = [label for label, _ in widget.choice.options]
        position = next(i for i, label in enumerate(labels) if label.startswith(best))
        positions.add(position)
        # the browser names the position of the radio button the learner ticked
        comm_message(widget.choice, {"method": "update", "state": {"index": position}})
        assert read_answers(folder / ANSWERS_FILE).latest("reply-to-worry") == {"option": 2}
        scores.add(grade_item("communication-skills", "reply-to-worry", folder))
        again = open_assessment(folder).show("reply-to-worry")
        assert [label for label, _ in again.choice.options] == labels  # stable on reopening
        assert again.choice.value == 2
    capsys.readouterr()
    assert len(positions) > 1, "every learner saw the best reply in the same place"
    assert len(scores) == 1 and scores.pop() > 0  # full marks, whatever the order shown


def test_a_seminar_shuffles_once_per_session_for_the_whole_room() -> None:
    module = load_module(GALLERY)
    sessions = [Seminar(module) for _ in range(6)]
    question = "night-call.call"
    orders = {s.questions[question].options for s in sessions}
    assert len(orders) > 1  # another session, another order
    room = Seminar(module, min_group=1)
    room.open(question)
    learner = room.new_participant()
    shown = room.learner_state(learner)["question"]["options"]
    assert shown == room.presenter_state()["question"]["options"]  # one order for everyone
    room.answer(learner, question, choice=1)  # the second button on the learner's screen
    assert room.results(question).counts == [0, 1, 0]  # counted under the option shown there
    assert room.answer_of(learner) == {"choice": 1}
    (row,) = [r for r in room.export_rows() if shown[1] in r and 1 in r]
    assert row


def test_a_restarted_seminar_keeps_its_sessions_order(tmp_path: Path) -> None:
    """The server restarts mid-session (the store replays it): the room sees the same order and
    the votes already cast stay under the options they were cast for."""
    module = load_module(GALLERY)
    store = SQLiteStore(tmp_path / "responses.sqlite")
    question = "night-call.call"
    first = open_session(store, module, owner="presenter", min_group=1)
    first.open(question)
    learner = first.new_participant()
    first.answer(learner, question, choice=2)
    voted_for = first.questions[question].options[2]
    again = open_session(store, module, owner="presenter", min_group=1)  # after the restart
    assert again.questions[question].options == first.questions[question].options
    assert again.results(question).counts[2] == 1
    assert again.questions[question].options[2] == voted_for
    fresh = [open_session(store, module, owner="presenter", new=True) for _ in range(6)]
    assert len({s.questions[question].options for s in fresh}) > 1  # a new session reshuffles


FIXED = """\
id: pinned
title: "A pinned case"
start: ask
nodes:
  ask:
    text: "How much does it hurt?"
    order: fixed
{reason}    choices:
      - label: "Not at all"
        to: done
      - label: "A little"
        to: done
      - label: "A lot"
        to: done
      - label: "The worst I can imagine"
        to: done
  done:
    text: "Thank you."
    end: true
"""


def test_order_fixed_keeps_the_written_order_and_needs_a_reason(
    tmp_path: Path, store: SQLiteStore
) -> None:
    path = tmp_path / "pinned.yaml"
    path.write_text(FIXED.format(reason=""))
    with pytest.raises(ContentError) as error:
        load_vignette(path)
    (problem,) = error.value.problems
    assert problem.line == 7 and problem.field == "nodes.ask.order"
    assert "order: fixed needs an order_reason" in problem.message
    path.write_text(FIXED.format(reason="    order_reason: a scale, least to most\n"))
    vignette = load_vignette(path)
    from courseware.widgets import Context, VignetteView

    for learner in LEARNERS:
        view = VignetteView(vignette, Context(store, learner, "m"))
        assert view.shown == [0, 1, 2, 3]
