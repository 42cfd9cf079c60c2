"""The case widgets that teach, without a kernel: after-case material waits for an ending, the
debrief sets the learner's path against the expert's (with the expert's comment where they
differ), and self-check feedback reads as plain sentences."""

from __future__ import annotations

import pytest
from helpers import choice_button, click

from courseware.store import SQLiteStore
from courseware.widgets import ModuleView, open_module

from conftest import FIXTURES, MODULES, REPO

GALLERY = REPO / "docs" / "widget-gallery"
DEMO = FIXTURES / "modules" / "demo"
NURSE = MODULES / "undergraduate" / "responding-with-nurse"


def gallery(store: SQLiteStore, learner: str) -> ModuleView:
    return open_module(GALLERY, store=store, learner=learner)


def test_after_case_material_waits_for_an_ending_and_stays_after_a_reload(
    store: SQLiteStore,
) -> None:
    module = open_module(NURSE, store=store, learner="ana")
    (case_id,) = module.content.vignettes
    case = module.vignette(case_id)
    after = module.after_case(case_id)
    assert not after.revealed and after.body.value == ""  # nothing sent to the page yet
    assert "opens when you reach an ending" in after.note.value
    while not case.walk.finished:
        if case.walk.awaiting_reply:
            case.reply_box.value = "That sounds hard."
            case.write()
        assert not after.revealed
        click(case.choices.children[0])
    assert after.revealed and after.note.layout.display == "none"
    assert "<table>" in after.body.value and "<th>" in after.body.value  # a key-point table
    click(case.restart_button)  # starting again does not hide what was earned
    again = open_module(NURSE, store=store, learner="ana").after_case(case_id)
    assert again.revealed
    other = open_module(NURSE, store=store, learner="ben").after_case(case_id)
    assert not other.revealed


def test_after_case_needs_a_known_case_with_material(store: SQLiteStore) -> None:
    module = open_module(DEMO, store=store, learner="ana")
    with pytest.raises(KeyError, match="no vignette 'nope'"):
        module.after_case("nope")
    with pytest.raises(KeyError, match=r"after-case/waiting-room\.md"):
        module.after_case("waiting-room")


def test_the_debrief_shows_the_experts_comment_where_the_learner_chose_differently(
    store: SQLiteStore,
) -> None:
    case = gallery(store, "ana").vignette("night-call")
    click(choice_button(case, 2))  # false reassurance, where the expert names the feelings
    while not case.walk.finished:
        click(choice_button(case, case.walk.offered()[0][0]))
    debrief = case.debrief.value
    (first,) = [s for s in case.walk.debrief().steps if s.number == 1]
    assert first.matched_expert is False
    assert "The expert chose: \u201cIt sounds like you\u2019ve been really worried" in debrief
    assert "Anger on the phone at night is nearly always fear wearing a coat" in debrief
    assert "Promising what nobody knows yet costs trust" in debrief  # on the learner's own choice
    assert "you let it pass" in debrief  # the opportunity at the first step, missed
    assert "How the counters moved" in debrief
    assert "St" + "ep</th>" not in debrief  # the path is a list, no narrow header to break


def test_self_check_feedback_ends_each_sentence_once(store: SQLiteStore) -> None:
    check = open_module(DEMO, store=store, learner="ana").self_check()
    check.answer("open-question", 0)
    text = check.feedback["open-question"].value
    assert "You chose: Are you in pain? The best answer is: How has this week been for you?" in text
    assert ".." not in text and "?." not in text
    quiz = open_module(FIXTURES / "teaching" / "quiz", store=store, learner="ana").self_check()
    quiz.answer("one", 1)  # options written with their own full stops
    text = quiz.feedback["one"].value
    assert "You chose: Calm down. The best answer is: It sounds as if you are frightened" in text
    assert ".." not in text
