"""Seminar answers grouped by what the reply coder finds, coded in the seminar server's process by
the one real coder (its worker thread, never the event loop); anonymous as before."""

from __future__ import annotations

import asyncio
from typing import Any

from courseware.apps import Seminar
from courseware.apps._seminar_results import group_by_code
from courseware.apps._seminar_room import SeminarRoom
from courseware.content import load_module
from courseware.feedback._web import CoderHost

from conftest import FIXTURES, run_coroutine

DEMO = load_module(FIXTURES / "modules" / "demo")
SAY = "waiting-room.arrival.say"
ANSWERS = [
    "You sound really frightened. What's worrying you most?",
    "Tell me more about what's been going on.",
    "Don't worry, I'm sure it's nothing.",
    "<b>What</b> would help most right now?",
    "Ok.",
]


def test_answers_are_grouped_by_code_in_the_presenters_view() -> None:
    seminar = Seminar(DEMO, min_group=3, max_text=200)
    host = CoderHost()
    SeminarRoom(seminar, site=None, module_url="", coder=host)  # type: ignore[arg-type]  # subscribes
    people = [seminar.new_participant() for _ in ANSWERS]

    async def session() -> dict[str, Any]:
        seminar.open(SAY)
        for person, text in zip(people, ANSWERS, strict=True):
            seminar.answer(person, SAY, text=text)
        for _ in range(600):  # coded in the background while the loop stays free
            state = seminar.presenter_state()
            if not any(g["code"] == "waiting" for g in state["groups"]):
                return state
            await asyncio.sleep(0.05)
        raise AssertionError("answers were never coded")

    try:
        state = run_coroutine(session())
    finally:
        host.close()
    groups = {g["code"]: g for g in state["groups"]}
    texts = {code: [a["text"] for a in g["answers"]] for code, g in groups.items()}
    assert ANSWERS[0] in texts["naming"]  # first code in the scheme's order
    assert ANSWERS[2] in texts["reassurance"]
    assert sum(len(g["answers"]) for g in state["groups"]) == len(ANSWERS)  # each answer once
    assert state["groups"][0]["code"] == "naming"
    counts = {c["code"]: c["count"] for c in state["codes"]["counts"]}
    assert counts["exploring"] >= 2 and counts["naming"] >= 1
    assert state["codes"]["coded"] == len(ANSWERS)
    # nobody's id reaches the presenter; learners see no codes at all
    assert not any(p in repr(state) for p in people)
    learner_view = seminar.learner_state(people[0])
    assert "codes" not in repr(learner_view) and "groups" not in learner_view


def test_codes_are_withheld_below_the_minimum_group_and_the_coder_can_be_down() -> None:
    seminar = Seminar(DEMO, min_group=5, max_text=200)
    seminar.open(SAY)
    people = [seminar.new_participant() for _ in range(2)]
    seminar.answer(people[0], SAY, text="Tell me more.")
    seminar.answer(people[1], SAY, text="Anyway, your blood pressure.")
    sent = seminar.to_code()
    assert len(sent) == 2 and seminar.to_code() == []  # each answer is sent once
    answer_id, statement, _ = sent[0]
    assert "glancing at the door" in statement  # the scene the question is about
    seminar.set_codes(answer_id, None)  # the coder could not code it
    seminar.set_codes(sent[1][0], ["switching"])
    state = seminar.presenter_state()
    assert state["codes"] is None  # fewer than five answers: no counts
    titles = [g["title"] for g in state["groups"]]
    assert titles == ["Switching topic", "Not coded (automatic coding is unavailable)"]
    # a changed answer goes back to moderation and is coded again
    seminar.answer(people[1], SAY, text="Tell me what worries you.")
    assert [t for _, _, t in seminar.to_code()] == ["Tell me what worries you."]
    seminar.set_codes("gone", ["naming"])  # a replaced answer's late result changes nothing


def test_group_by_code_keeps_the_schemes_order() -> None:
    from courseware.apps._seminar_results import TextAnswer

    answers = [
        TextAnswer("a", "x", coded="done", codes=("exploring", "reassurance")),
        TextAnswer("b", "y", coded="done", codes=()),
        TextAnswer("c", "z", coded="waiting"),
        TextAnswer("d", "w", coded="done", codes=("naming",)),
    ]
    assert [g["code"] for g in group_by_code(answers)] == ["naming", "exploring", "none", "waiting"]
    (exploring,) = [g for g in group_by_code(answers) if g["code"] == "exploring"]
    assert exploring["answers"][0]["codes"] == ["Exploring", "Premature reassurance"]
